// Layer model: sources arrive with their features.
namespace silica {}
