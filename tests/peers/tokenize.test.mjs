// silica's tokenizer against llama.cpp's (through node-llama-cpp) on a few hundred varied texts,
// with the same vocab-only GGUF on both sides.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import { getRefLlama } from "./lib/llama_ref.mjs";
import { makeScratchDir, runProgram, silicaBin, vocabPath } from "./lib/silica_env.mjs";

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

const kFixed = [
  "", " ", "  ", "\t", "\n", "\n\n\n", " \n \n", "\r\n", "Hello world", " Hello world",
  "Hello, world!", "HELLO World  !!", "I'm here, you're there, we'll see, they'd've",
  "DON'T SHOUT. It's 'quoted' text", "3.14159 and 2,718,281 and 1234567890 and 00042",
  "1+1=2; 10^9; -5%; $100.00; #1; @user; ~/path", "    four leading spaces", "trailing   ",
  "tabs\tand\t\ttabs", "mixed \t \n whitespace \u00a0 nbsp \u2003 em space",
  "def f(x):\n    return x ** 2  # square\n", "for (int i = 0; i < n; ++i) { a[i] += b[i]; }",
  "<html><body class=\"x\">&amp; &lt;tag&gt;</body></html>", '{"key": [1, 2, {"n": null}]}',
  "SELECT * FROM t WHERE a >= 3 AND b <> 'x';", "https://example.com/a/b?c=d&e=f#g",
  "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber Stra\u00dfe \u00e5ngstr\u00f6m", "e\u0301 (combining acute)",
  "\u4f60\u597d\uff0c\u4e16\u754c\uff01", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002",
  "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
  "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
  "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
  "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a", "\ud83e\udd99 llama \ud83d\ude00\ud83d\ude03 emoji",
  "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66 family \ud83c\uddef\ud83c\uddf5 flag",
  "\u2460\u2461\u2462 \u00bd \u00b2 \u2167 \u0663\u0664 (other numbers)", "\u2014\u2013\u2026\u201c\u201d\u2018\u2019 typography",
  "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "text <|eot_id|> more text", "<|reserved_special_token_0|>", "<|fake_token|>", "< |eot_id| >",
  "a".repeat(300), "ab ".repeat(100), "1".repeat(50), "!".repeat(40), " ".repeat(33) + "x",
  "\n".repeat(7) + "y", "\u00e9".repeat(60), "\ud83e\udd99".repeat(20),
  "Mixed: English, \u4e2d\u6587, \u0440\u0443\u0441\u0441\u043a\u0438\u0439, \u0627\u0644\u0639\u0631\u0628\u064a\u0629, \ud83d\ude80 and 42.",
];

// Pools the random texts draw from: each covers a character class the regexes treat differently.
const kPools = [
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
  "0123456789",
  " ",
  "  \t\n\r",
  "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
  "\u00e0\u00e1\u00e2\u00e4\u00e7\u00e8\u00e9\u00ea\u00f1\u00f6\u00fc\u00df\u00c9\u00d6",
  "\u4e00\u4e8c\u4e09\u4eba\u5927\u5929\u6c34\u706b\u5c71\u7684\u662f\u4e86\u3042\u3044\u3046\u30a2\u30a4\u30a6",
  "\u0430\u0431\u0432\u0433\u0434\u0435\u0416\u0417\u0418",
  "\u05d0\u05d1\u05d2\u0627\u0628\u062a\u062b",
  "\ud83d\ude00\ud83e\udd99\ud83d\ude80\u2764\ufe0f\ud83d\udc4d\ud83c\udffd",
  "'s 't 're 've 'm 'll 'd ",
  "\u00a0\u2009\u3000\u200b",
];

function randomText(next) {
  const len = 1 + Math.floor(next() * 40);
  const nPools = 1 + Math.floor(next() * 3);
  const pools = Array.from({ length: nPools }, () => kPools[Math.floor(next() * kPools.length)]);
  let s = "";
  for (let i = 0; i < len; i++) {
    const chars = [...pools[Math.floor(next() * pools.length)]];
    s += chars[Math.floor(next() * chars.length)];
  }
  return s;
}

function buildTexts() {
  const next = rng(20240611);
  const texts = [...kFixed];
  while (texts.length < 400) texts.push(randomText(next));
  return texts;
}

// llama-bpe is the required reference; qwen2 and gpt-2 cover the other pre-tokenizers.
const kVocabs = ["llama-bpe", "qwen2", "gpt-2"];
// A control token of each vocabulary: with special parsing it must come out as one id.
const kControlText = { "llama-bpe": "<|eot_id|>", qwen2: "<|im_end|>", "gpt-2": "<|endoftext|>" };

let llama = null;
const models = new Map();
let scratch = null;
let texts = [];

before(async () => {
  llama = await getRefLlama();
  for (const name of kVocabs) {
    models.set(name, await llama.loadModel({ modelPath: await vocabPath(name), vocabOnly: true }));
  }
  scratch = makeScratchDir("tokenize");
  texts = buildTexts();
  for (const t of Object.values(kControlText)) texts.push(t, `a${t}b`);
});

after(async () => {
  for (const m of models.values()) await m.dispose();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

// `silica tokenize MODEL --no-bos --json-lines --file F [--special]`: one line of ids per input
// line (each a JSON string), in order.
async function silicaTokenizeAll(vocab, strings, special) {
  const file = path.join(scratch, `${vocab}-${special ? "special" : "plain"}.jsonl`);
  fs.writeFileSync(file, strings.map((s) => JSON.stringify(s)).join("\n") + "\n");
  const args = ["tokenize", await vocabPath(vocab), "--no-bos", "--json-lines", "--file", file];
  if (special) args.push("--special");
  const { stdout } = await runProgram(silicaBin(), args);
  const lines = stdout.split("\n");
  if (lines.at(-1) === "") lines.pop();
  assert.equal(lines.length, strings.length, "silica printed one line per input line");
  return lines.map((l) => (l.trim() === "" ? [] : l.trim().split(/\s+/).map(Number)));
}

// JS strings may hold lone surrogates; both sides must see the same UTF-8 bytes.
const toUtf8 = (s) => Buffer.from(s, "utf8").toString("utf8");

for (const vocab of kVocabs) {
  for (const special of [false, true]) {
    test(`${vocab}: silica tokenize == llama.cpp on ${texts.length || "400+"} texts (parse special: ${special})`, async () => {
      const model = models.get(vocab);
      // The reference really runs in the asked mode: a control token is one id only when parsed.
      assert.equal(model.tokenize(kControlText[vocab], special).length === 1, special);
      const inputs = texts.map(toUtf8);
      const got = await silicaTokenizeAll(vocab, inputs, special);
      let mismatches = 0;
      let nTokens = 0;
      for (let i = 0; i < inputs.length; i++) {
        const want = Array.from(model.tokenize(inputs[i], special));
        nTokens += want.length;
        if (JSON.stringify(want) !== JSON.stringify(got[i])) {
          mismatches++;
          if (mismatches <= 10) {
            console.log(`text ${i} ${JSON.stringify(inputs[i])}\n  llama.cpp ${want}\n  silica    ${got[i]}`);
          }
        }
      }
      assert.ok(nTokens > 5 * inputs.length, `only ${nTokens} tokens in all: texts too short?`);
      assert.equal(mismatches, 0, `${mismatches} of ${inputs.length} texts tokenize differently`);
    });
  }
}
