// ChatTemplate's contract beyond the reference strings: errors name the construct and the
// template line, the context's key order reaches tojson, parse once and render many times.
#include <gtest/gtest.h>

#include <string>

#include "chat/chat_template.h"

namespace silica {
namespace {

std::string render_or_error(const std::string& source, const nlohmann::ordered_json& ctx) {
  auto tmpl = ChatTemplate::parse(source);
  if (!tmpl.ok()) return "ERROR " + tmpl.message();
  auto out = tmpl->render(ctx);
  return out.ok() ? *out : "ERROR " + out.message();
}

TEST(ChatTemplate, ErrorsNameTheConstructAndLine) {
  std::string e = render_or_error("a\nb\n{% do x %}", {});
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  EXPECT_NE(e.find("do"), std::string::npos) << e;
  e = render_or_error("x\n{{ [1] | frobnicate }}", {});
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("frobnicate"), std::string::npos) << e;
  e = render_or_error("{% if x %}never closed", {});
  EXPECT_EQ(e.rfind("ERROR", 0), 0u) << e;
  EXPECT_NE(e.find("endif"), std::string::npos) << e;
  e = render_or_error("{{ 'unterminated }}", {});
  EXPECT_EQ(e.rfind("ERROR", 0), 0u) << e;
}

TEST(ChatTemplate, RaiseExceptionCarriesTheTemplatesMessage) {
  const char* src =
      "{% for m in messages %}\n{% if m.role == 'system' %}\n"
      "{{ raise_exception('System role not supported') }}\n{% endif %}{% endfor %}";
  nlohmann::ordered_json ctx = {{"messages", {{{"role", "system"}, {"content", "x"}}}}};
  std::string e = render_or_error(src, ctx);
  EXPECT_NE(e.find("System role not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  ctx["messages"][0]["role"] = "user";
  EXPECT_EQ(render_or_error(src, ctx), "");
}

TEST(ChatTemplate, ContextKeyOrderReachesToJson) {
  auto ctx =
      nlohmann::ordered_json::parse(R"({"tool": {"name": "f", "args": {"z": 1, "a": 2, "7": 0}}})");
  // JavaScript lists integer-like keys first; others keep the file's order.
  EXPECT_EQ(render_or_error("{{ tool | tojson }}", ctx),
            R"({"name": "f", "args": {"7": 0, "z": 1, "a": 2}})");
  // Plain nlohmann::json sorts keys: the overload still renders.
  auto tmpl = ChatTemplate::parse("{{ tool.name }}");
  ASSERT_TRUE(tmpl.ok());
  auto out = tmpl->render(nlohmann::json::parse(ctx.dump()));
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(*out, "f");
}

TEST(ChatTemplate, NumbersKeepJsonAndJavaScriptForms) {
  auto ctx = nlohmann::ordered_json::parse(
      R"({"a": 1.0, "b": 0.1, "c": 1e-7, "d": 12345678901234567890.0})");
  // 1.0 in JSON is the integer 1 to JSON.parse, so it prints "1".
  EXPECT_EQ(render_or_error("{{ a }} {{ b }} {{ c }} {{ [a, b, c] | tojson }} {{ b * 3 }}", ctx),
            "1 0.1 1e-7 [1, 0.1, 1e-7] 0.30000000000000004");
}

TEST(ChatTemplate, ParsedOnceRendersManyTimes) {
  auto tmpl = ChatTemplate::parse(
      "{% for m in messages %}<|{{ m.role }}|>{{ m.content | trim }}\n{% endfor %}"
      "{% if add_generation_prompt %}<|assistant|>{% endif %}");
  ASSERT_TRUE(tmpl.ok()) << tmpl.message();
  for (int n = 0; n < 3; ++n) {
    nlohmann::ordered_json ctx;
    ctx["messages"] = nlohmann::ordered_json::array();
    for (int k = 0; k <= n; ++k) ctx["messages"].push_back({{"role", "user"}, {"content", " hi "}});
    ctx["add_generation_prompt"] = n % 2 == 0;
    std::string want;
    for (int k = 0; k <= n; ++k) want += "<|user|>hi\n";
    if (n % 2 == 0) want += "<|assistant|>";
    auto out = tmpl->render(ctx);
    ASSERT_TRUE(out.ok()) << out.message();
    EXPECT_EQ(*out, want);
  }
}

TEST(ChatTemplate, ContextMustBeAnObject) {
  auto tmpl = ChatTemplate::parse("x");
  ASSERT_TRUE(tmpl.ok());
  EXPECT_FALSE(tmpl->render(nlohmann::ordered_json::array()).ok());
}

}  // namespace
}  // namespace silica
