// Locates silica, make_test_model and llama.cpp's test data; runs them with contract checks.
import {execFile} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const kPeersDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const kRepoRoot = path.resolve(kPeersDir, '../..');

// JSON with 150k logits is a few MB; leave headroom.
const kMaxOutputBytes = 256 * 1024 * 1024;

function resolveBin(envName, defaultRel) {
  const p = process.env[envName] || path.resolve(kPeersDir, defaultRel);
  try {
    fs.accessSync(p, fs.constants.X_OK);
  } catch {
    // A missing binary fails the test (never a skip): the suite exists to compare it.
    throw new Error(`${envName}: no executable at ${p} (build it, or set ${envName})`);
  }
  return p;
}

export const silicaBin = () => resolveBin('SILICA_BIN', '../../build/src/cli/silica');
export const makeTestModelBin = () =>
    resolveBin('MAKE_TEST_MODEL', '../../build/tools/make_test_model');

// Runs a program; resolves {stdout, stderr}; rejects with the command line and stderr's tail.
export function runProgram(file, args, {timeoutMs = 300_000} = {}) {
  return new Promise((resolve, reject) => {
    execFile(
        file,
        args,
        {maxBuffer: kMaxOutputBytes, timeout: timeoutMs, encoding: 'utf8'},
        (err, stdout, stderr) => {
          if (err) {
            const tail = String(stderr).split('\n').slice(-15).join('\n');
            const why = err.killed ? `killed (${err.signal}, timeout ${timeoutMs} ms?)` :
                                     `exit ${err.code}`;
            reject(new Error(`${file} ${args.join(' ')}\n-> ${why}\nstderr tail:\n${tail}`));
          } else {
            resolve({stdout, stderr});
          }
        },
    );
  });
}

// llama.cpp's source at the pinned release, for its vocab-only GGUFs (data, not code).
export async function llamaSrcDir() {
  const dir = process.env.SILICA_LLAMA_SRC || path.join(os.tmpdir(), 'silica-llama-src');
  const probe = path.join(dir, 'models', 'ggml-vocab-llama-bpe.gguf');
  if (fs.existsSync(probe)) return dir;
  const bundle = path.join(kPeersDir, 'node_modules/node-llama-cpp/llama/gitRelease.bundle');
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new Error(`SILICA_LLAMA_SRC=${dir} exists but has no models/ggml-vocab-llama-bpe.gguf`);
  }
  await runProgram('git', ['clone', '--quiet', bundle, dir], {timeoutMs: 600_000});
  if (!fs.existsSync(probe))
    throw new Error(`cloned ${bundle} into ${dir} but ${probe} is missing`);
  return dir;
}

export async function vocabPath(name = 'llama-bpe') {
  return path.join(await llamaSrcDir(), 'models', `ggml-vocab-${name}.gguf`);
}

export function makeScratchDir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `silica-peers-${tag}-`));
}

// Model shape + type for make_test_model; `vocab` is a path to a vocab-only GGUF.
export function makeTestModelArgs(spec, out) {
  const args = ['--out', out, '--type', spec.type, '--embd', String(spec.embd)];
  args.push('--layers', String(spec.layers), '--heads', String(spec.heads));
  args.push('--kv-heads', String(spec.kvHeads), '--ff', String(spec.ff));
  args.push('--vocab', spec.vocab, '--seed', String(spec.seed ?? 7));
  if (spec.tied) args.push('--tied');
  if (spec.arch) args.push('--arch', spec.arch);
  if (spec.llama3Rope) args.push('--llama3-rope', spec.llama3Rope);
  return args;
}

export async function makeTestModel(spec, out, {timeoutMs = 600_000} = {}) {
  await runProgram(makeTestModelBin(), makeTestModelArgs(spec, out), {timeoutMs});
  if (!fs.existsSync(out)) throw new Error(`make_test_model exited 0 but wrote no ${out}`);
  return out;
}

// `silica eval`: next-token logits after `tokens` and `greedy` greedy ids; validated shape.
export async function silicaEval(model, tokens, {greedy = 32, threads = 2, ctx = 256} = {}) {
  const args = ['eval', model, '--tokens', tokens.join(' '), '--greedy', String(greedy)];
  args.push('--threads', String(threads), '--ctx', String(ctx));
  const {stdout} = await runProgram(silicaBin(), args);
  let out;
  try {
    out = JSON.parse(stdout);
  } catch (e) {
    throw new Error(
        `silica eval ${model}: stdout is not one JSON object (${e.message}): ` +
        JSON.stringify(stdout.slice(0, 200)));
  }
  const bad = (what) => new Error(`silica eval ${model}: ${what}`);
  if (!Number.isInteger(out.n_vocab)) throw bad(`n_vocab missing or not an integer`);
  if (!Array.isArray(out.logits) || out.logits.length !== out.n_vocab) {
    throw bad(`expected ${out.n_vocab} logits, found ${out.logits?.length}`);
  }
  if (!Array.isArray(out.greedy) || out.greedy.length !== greedy) {
    throw bad(`expected ${greedy} greedy ids, found ${out.greedy?.length}`);
  }
  return {nVocab: out.n_vocab, logits: Float32Array.from(out.logits), greedy: out.greedy};
}

// `silica run`: stdout is the continuation text only.
export async function silicaRun(model, prompt, n, {threads = 2} = {}) {
  const args = ['run', model, '-p', prompt, '-n', String(n), '--temp', '0'];
  args.push('--threads', String(threads));
  const {stdout} = await runProgram(silicaBin(), args);
  return stdout;
}

// `silica bench --json` (an array, one object per test) as {pp_tokens_per_s, tg_tokens_per_s,
// load_ms}.
export async function silicaBench(model, {pp = 512, tg = 128, threads = 2, reps = 1} = {}) {
  const args = ['bench', model, '-p', String(pp), '-n', String(tg), '-r', String(reps)];
  args.push('--threads', String(threads), '--json');
  const {stdout} = await runProgram(silicaBin(), args, {timeoutMs: 1_800_000});
  const rows = JSON.parse(stdout);
  const row = (test) => rows.find((r) => r.engine === 'silica' && r.test === test);
  const out = {
    pp_tokens_per_s: row(`pp${pp}`)?.tokens_per_s,
    tg_tokens_per_s: row(`tg${tg}`)?.tokens_per_s,
    load_ms: rows[0]?.load_ms,
  };
  for (const k of ['pp_tokens_per_s', 'tg_tokens_per_s', 'load_ms']) {
    if (typeof out[k] !== 'number')
      throw new Error(`silica bench ${model}: no number "${k}" in ${stdout}`);
  }
  return out;
}
