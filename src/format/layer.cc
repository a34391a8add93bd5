// Layer format: sources arrive with their features.
namespace silica {}
