// The Jinja engine on small templates, one construct each. Expected strings (and errors) are
// what @huggingface/jinja 0.5.11 renders for the same template and context (made with
// tests/peers' copy: `new Template(src).render(kContext)`), never silica's own output.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat/chat_template.h"

namespace silica {
namespace {

constexpr const char* kContext =
    R"J({"xs": ["a", "b", "c"], "d": {"b": 1, "a": 2}, "t": true, "s": "str", "msgs": [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"}, {"role": "assistant", "content": "A"}, {"role": "user", "content": "U2"}], "y": null})J";

struct Case {
  const char* name;
  const char* source;
  const char* want;
};

// clang-format off
const Case kCases[] = {
    {"loop_vars",
     R"J({% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ x }}|{% endfor %})J",
     R"J(10truefalse33a|21falsefalse32b|32falsetrue31c|)J"},
    {"dict_items",
     R"J({% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}{% for k, v in d | items %}{{ v }}{% endfor %})J",
     R"J(b=1;a=2;ba12)J"},
    {"for_else_and_filter",
     R"J({% for x in [] %}x{% else %}empty{% endfor %}{% for m in msgs if m.role == 'user' %}{{ loop.index }}{{ m.content }}{% endfor %})J",
     R"J(empty1U12U2)J"},
    {"break_continue",
     R"J({% for x in range(10) %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %})J",
     R"J(023)J"},
    {"if_elif_else",
     R"J({% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %},{% endfor %})J",
     R"J(one,two,many,)J"},
    {"set_block",
     R"J({% set x %}a{{ 1 + 2 }}{% endset %}[{{ x }}]{% set a, b = 1, 2 %}{{ a }}{{ b }})J",
     R"J([a3]12)J"},
    {"macro_call",
     R"J({% macro m(a, b='B') %}{{ a }}{{ b }}{% if caller is defined %}({{ caller() }}){% endif %}{% endmacro %}{{ m(1) }} {% call m(2, b=3) %}C{% endcall %})J",
     R"J(1B 23(C))J"},
    {"namespace",
     R"J({% set ns = namespace(n=0, last='') %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% set ns.last = i %}{% endfor %}{{ ns.n }}/{{ ns.last }})J",
     R"J(6/3)J"},
    {"filter_block",
     R"J({% filter upper %}abc{{ s }}{% endfilter %})J",
     R"J(ABCSTR)J"},
    {"slicing",
     R"J({{ xs[1:] }}{{ xs[::-1] }}{{ 'hello'[1:3] }}{{ xs[-1] }}{{ msgs[1:]|length }}{{ 'hello'[-2:] }})J",
     R"J(["b", "c"]["c", "b", "a"]elc3lo)J"},
    {"tests",
     R"J({{ x is defined }}{{ y is none }}{{ s is string }}{{ d is mapping }}{{ xs is iterable }}{{ 3 is odd }}{{ xs is not string }}{{ 2 is number }}{{ t is boolean }})J",
     R"J(falsetruetruetruetruetruetruetruetrue)J"},
    {"expressions",
     R"J({{ 'a' if t else 'b' }}{{ 'a' if not t else 'b' }}{{ 1 ~ 2.0 ~ 'x' }}{{ 7 // 2 }}{{ 7 % 3 }}{{ 2 ** 3 }}{{ 1 / 2 }}{{ 3 * 1.0 }}{{ -7 // 2 }}{{ 1 + 2 * 3 }}{{ (1 + 2) * 3 }}{{ 0 or 'x' }}{{ 1 and 'y' }}{{ 1 < 2 }}{{ 'a' + 'b' }})J",
     R"J(ab12x3180.53.0-479xytrueab)J"},
    {"membership",
     R"J({{ 'a' in 'cat' }}{{ 'b' in xs }}{{ 'k' not in d }}{{ 'a' in d }}{{ 'z' not in xs }})J",
     R"J(truetruetruetruetrue)J"},
    {"literals",
     R"J({{ [1, 'two', 3.5, none, true] }}{{ {'k': [1, {'n': none}]} }}{{ 1.0 }}{{ -0.0 }}{{ 3 if false else 1.25 }}{{ 'a' 'b' }})J",
     R"J([1, "two", 3.5, null, true]{"k": [1, {"n": null}]}1.0-0.01.25ab)J"},
    {"tojson",
     R"J({{ d | tojson }}{{ d | tojson(indent=2) }}{{ 'café 日
"\\' | tojson }}{{ [1, 2.5, none, true, 100000000000000000000000.0] | tojson }}{{ msgs[0] | tojson(indent=4) }}{{ [] | tojson(indent=2) }}{{ {'b': 1, 'a': [1]} | tojson(separators=(',', ':')) }}{{ 'café 🦙' | tojson(ensure_ascii=true) }})J",
     R"J({"b": 1, "a": 2}{
  "b": 1,
  "a": 2
}"café 日\n\"\\"[1, 2.5, null, true, 1e+23]{
    "role": "system",
    "content": "S"
}[]{"b":1,"a":[1]}"caf\u00e9 \ud83e\udd99")J"},
    {"string_filters",
     R"J({{ '  x  ' | trim }}|{{ xs | length }}|{{ 'ab' | upper }}|{{ 'hello wORLD-x_y' | title }}|{{ 'hELLO' | capitalize }}|{{ 'aXa' | replace('a', 'b') }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'a
b

c' | indent(2) }}|{{ 'a
b' | indent(2, true) }}|{{ 'AbC' | lower }})J",
     R"J(x|3|AB|Hello WORLD-X_y|HELLO|bXb|bba|a
  b

  c|  a
  b|abc)J"},
    {"list_filters",
     R"J({{ xs | join(', ') }}|{{ xs | join }}|{{ xs | first }}{{ xs | last }}|{{ [3, 1, 2] | sort }}{{ [1, 1, 2, 1] | unique }}{{ xs | reverse }}|{{ ['b', 'A', 'c'] | sort(reverse=true) }}|{{ msgs | map(attribute='role') | join(',') }}|{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join }}|{{ msgs | rejectattr('role', 'equalto', 'user') | list | length }}|{{ msgs | sort(attribute='content') | map(attribute='content') | join }})J",
     R"J(a, b, c|abc|ac|[1, 2, 3][1, 2]["c", "b", "a"]|["c", "b", "A"]|system,user,assistant,user|U1U2|2|ASU1U2)J"},
    {"value_filters",
     R"J({{ u | default('dflt') }}|{{ '' | default('e', true) }}|{{ s | default('z') }}|{{ 3.7 | int }}{{ '42' | int }}{{ 'x' | int }}{{ -3 | abs }}{{ '2.5' | float }}|{{ 5 | string }}{{ 5.0 | string }}{{ t | string }}|{{ d | dictsort }}{{ d | length }}|{{ d | items | list }}|{{ xs | string }}|{{ 'x' | safe }})J",
     R"J(dflt|e|str|342032.5|55.0true|[["a", 2], ["b", 1]]2|[["b", 1], ["a", 2]]|["a", "b", "c"]|x)J"},
    {"string_methods",
     R"J({{ ' a '.strip() }}|{{ 'xa '.lstrip() }}|{{ ' ax'.rstrip() }}|{{ 'ab'.startswith('a') }}{{ 'ab'.endswith(('x', 'b')) }}|{{ 'a,b,,c'.split(',') }}{{ ' a  b '.split() }}{{ 'a,b,c'.split(',', 1) }}|{{ 'ab'.upper() }}{{ 'AB'.lower() }}|{{ 'x-x'.replace('x', 'y') }}|{{ 'ab cd'.title() }}|{{ s.length }})J",
     R"J(a|xa | ax|truetrue|["a", "b", "", "c"]["a", "b"]["a", "b,c"]|ABab|y-y|Ab Cd|3)J"},
    {"dict_methods",
     R"J({{ d.get('a') }}|{{ d.get('z', 'none') }}|{{ d.get('z') }}|{{ d.keys() }}|{{ d.values() }}|{{ d['b'] }}{{ d.b }}|{{ msgs[0]['role'] }})J",
     R"J(2|none||["b", "a"]|[1, 2]|11|system)J"},
    {"whitespace",
     R"J(a  {%- if true -%}  b  {%- endif %}
  c {{- ' d ' -}}  e
  {% if true %}
x
  {% endif %}
y {# comment #}
z
)J",
     R"J(ab  c d e
x
y z)J"},
    {"unicode",
     R"J({{ '🦙é' | length }}{{ 'éa🦙'[1:] }}{{ 'éÉ' | upper }}{{ 'Éé' | lower }})J",
     R"J(3a🦙ÉÉéé)J"},
    {"undefined_output",
     R"J([{{ u }}][{{ none }}][{{ y }}][{{ msgs[9] }}][{{ d.zz }}][{{ u.x }}])J",
     R"J([][][][][][])J"},
};

// Templates the reference refuses: silica must fail too, with the reference's reason.
const Case kErrorCases[] = {
    {"error_undefined_in", R"J({{ u in xs }})J", R"J(Cannot perform operation in on undefined values)J"},
    {"error_raise", R"J({% if t %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %})J", R"J(Only user and assistant roles are supported!)J"},
    {"error_unknown_filter", R"J(a
b
{{ xs | nosuch }})J", R"J(Unknown ArrayValue filter: nosuch)J"},
    {"error_unsupported_tag", R"J(line one
{% raw %}x{% endraw %})J", R"J(Unknown statement type: raw)J"},
    {"error_list_method", R"J({% set l = [] %}{{ l.append(1) }})J", R"J(Cannot call something that is not a function: got UndefinedValue)J"},
    {"error_tuple_tojson", R"J({{ (1, 2) | tojson }})J", R"J(Cannot convert to JSON: TupleValue)J"},
};
// clang-format on

nlohmann::ordered_json context() {
  return nlohmann::ordered_json::parse(kContext);
}

TEST(JinjaReference, RendersLikeHuggingFaceJinja) {
  for (const Case& c : kCases) {
    auto tmpl = ChatTemplate::parse(c.source);
    ASSERT_TRUE(tmpl.ok()) << c.name << ": " << tmpl.message();
    auto out = tmpl->render(context());
    ASSERT_TRUE(out.ok()) << c.name << ": " << out.message();
    EXPECT_EQ(*out, c.want) << c.name;
  }
}

TEST(JinjaReference, FailsWhereHuggingFaceJinjaFails) {
  for (const Case& c : kErrorCases) {
    auto tmpl = ChatTemplate::parse(c.source);
    std::string message = tmpl.ok() ? "" : tmpl.message();
    if (tmpl.ok()) {
      auto out = tmpl->render(context());
      ASSERT_FALSE(out.ok()) << c.name << " rendered " << *out;
      message = out.message();
    }
    EXPECT_NE(message.find(c.want), std::string::npos) << c.name << ": " << message;
  }
}

}  // namespace
}  // namespace silica
