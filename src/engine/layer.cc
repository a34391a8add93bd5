// Layer engine: sources arrive with their features.
namespace silica {}
