// Layer chat: sources arrive with their features.
namespace silica {}
