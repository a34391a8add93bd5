// Layer tokenizer: sources arrive with their features.
namespace silica {}
