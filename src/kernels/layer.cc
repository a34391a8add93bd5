// Layer kernels: sources arrive with their features.
namespace silica {}
