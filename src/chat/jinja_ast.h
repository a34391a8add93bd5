// Jinja syntax tree: one node type with a kind tag; statements and expressions share it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace silica::jinja {

enum class NodeKind {
  // Expressions.
  kInt,       // i
  kFloat,     // f
  kString,    // str (also template text)
  kIdent,     // str
  kArray,     // list
  kTuple,     // list
  kObject,    // pairs
  kMember,    // a[b] (flag: computed) or a.b
  kSlice,     // a:b:c, each may be null
  kCall,      // a(list)
  kUnary,     // str a
  kBinary,    // a str b
  kFilter,    // a | b (b: identifier or call)
  kTest,      // a is [not] str (flag: negate)
  kSelect,    // a if b (no else)
  kTernary,   // b if a else c
  kKwarg,     // str = a
  kSpread,    // *a
  kKwSpread,  // **a
  // Statements.
  kIf,           // if a: body else alt
  kFor,          // for a in b: body else alt
  kSet,          // set a = b, or set a: body
  kMacro,        // macro str(list): body
  kCallBlock,    // call(list) a: body
  kFilterBlock,  // filter a: body
  kBreak,
  kContinue,
  kComment,
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using NodeList = std::vector<NodePtr>;

struct Node {
  NodeKind kind;
  int line = 0;
  std::string str;
  int64_t i = 0;
  double f = 0;
  bool flag = false;
  NodePtr a, b, c;
  NodeList list, body, alt;
  std::vector<std::pair<NodePtr, NodePtr>> pairs;
  // Macros and call blocks: whether the body reads `kwargs` / `varargs` it did not declare.
  bool uses_kwargs = false, uses_varargs = false;

  Node(NodeKind k, int l) : kind(k), line(l) {}
};

}  // namespace silica::jinja
