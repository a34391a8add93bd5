// Layer sample: sources arrive with their features.
namespace silica {}
