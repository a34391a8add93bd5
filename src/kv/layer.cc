// Layer kv: sources arrive with their features.
namespace silica {}
