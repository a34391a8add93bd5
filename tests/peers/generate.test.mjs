// `silica run --temp 0` text equals llama.cpp's greedy completion of the same prompt and model.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {LlamaRef} from './lib/llama_ref.mjs';
import {makeScratchDir, makeTestModel, silicaEval, silicaRun, vocabPath} from './lib/silica_env.mjs';

const kMaxTokens = 32;
const kThreads = 2;
const kPrompts = [
  'Once upon a time',
  'The capital of France is',
  'def fibonacci(n):\n    ',
  'Ünïcödé and emoji 🦙 mixed with numbers 12345',
];

// Two shapes that take different paths: GQA with a separate output matrix, and a tied output
// matrix with llama3 rope scaling. f32 weights: no activation rounding, so no rounding cascade
// (see logits.test.mjs) can part the texts; this test is about the run path (BOS, tokenizing,
// sampling loop, detokenizing, streaming), the logits test covers every tensor type.
const kModels = [
  {name: 'B-f32', type: 'f32', embd: 256, layers: 2, heads: 8, kvHeads: 2, ff: 512},
  {
    name: 'C-f32',
    type: 'f32',
    embd: 256,
    layers: 2,
    heads: 8,
    kvHeads: 2,
    ff: 512,
    tied: true,
    llama3Rope: '8,1,4,8192',
  },
];

// Random weights emit byte tokens that end mid-character; silica's stdout bytes and llama.cpp's
// detokenized string decode such bytes to a different number of U+FFFD, so runs of U+FFFD are
// compared as one. Every valid character still has to match exactly.
function normalizeInvalid(text) { return text.replace(/\uFFFD+/g, '\uFFFD'); }

// node-llama-cpp builds its completion string with llama.cpp's detokenize API, which applies
// Hugging Face's clean_up_tokenization_spaces for this vocabulary (" ," -> ",", " 's" -> "'s",
// ...). silica streams the pieces unchanged, as llama-cli and Ollama print them. Apply the same
// clean-up to silica's text before comparing; the ids are compared exactly on a mismatch.
function cleanUpSpaces(text) {
  return text.replace(/ \./g, '.').replace(/ \?/g, '?').replace(/ !/g, '!').replace(/ ,/g, ',')
      .replace(/ ' /g, "'").replace(/ n't/g, "n't").replace(/ 'm/g, "'m").replace(/ 's/g, "'s")
      .replace(/ 've/g, "'ve").replace(/ 're/g, "'re");
}

let scratch;
let vocab;

before(async () => {
  scratch = makeScratchDir('generate');
  vocab = await vocabPath('llama-bpe');
});

after(() => {
  if (scratch) fs.rmSync(scratch, {recursive: true, force: true});
});

for (const m of kModels) {
  test(`silica run text equals llama.cpp greedy completion: ${m.name}`, async (t) => {
    const file = await makeTestModel({...m, vocab, seed: 11}, path.join(scratch, `${m.name}.gguf`));
    // silica runs are independent processes: start them all while llama.cpp loads and works.
    const silica = kPrompts.map((p) => silicaRun(file, p, kMaxTokens, {threads: kThreads}));
    silica.forEach((s) => s.catch(() => {}));
    const llama = await LlamaRef.load(file, {contextSize: 256, threads: kThreads});
    try {
      for (let i = 0; i < kPrompts.length; i++) {
        await t.test(JSON.stringify(kPrompts[i]), async () => {
          const ref = await llama.complete(kPrompts[i], kMaxTokens);
          const got = await silica[i];
          if (normalizeInvalid(cleanUpSpaces(got)) === normalizeInvalid(ref.text)) return;
          // Tell a forward-pass difference (other ids) from a detokenizer one (same ids).
          const ev = await silicaEval(file, ref.promptTokens, {greedy: kMaxTokens});
          const ids = ev.greedy.slice(0, ref.tokens.length).join(' ');
          const same = ids === ref.tokens.join(' ');
          assert.fail(
              `${m.name} prompt ${JSON.stringify(kPrompts[i])} (tokens ` +
              `${ref.promptTokens.join(' ')}): silica text differs from llama.cpp's.\n` +
              `llama.cpp ids ${ref.tokens.join(' ')}\nsilica eval ids ${ids} (${
                  same ? 'same ids: detokenization differs' : 'ids differ'})\n` +
              `llama.cpp: ${JSON.stringify(ref.text)}\nsilica:    ${JSON.stringify(got)}`);
        });
      }
    } finally {
      await llama.dispose();
    }
  });
}
