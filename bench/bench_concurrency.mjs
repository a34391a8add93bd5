#!/usr/bin/env node
// Aggregate generation tokens/s of `silica serve --parallel 8` with 1, 2, 4 and 8 concurrent
// greedy streams (official ollama client) on the Llama-3.2-1B-shaped Q4_0 model.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {parseArgs} from 'node:util';

import {Ollama} from '../tests/peers/node_modules/ollama/dist/index.mjs';
import {SilicaServer} from '../tests/peers/lib/server.mjs';
import {kRepoRoot, makeTestModel, vocabPath} from '../tests/peers/lib/silica_env.mjs';

// The same model bench_vs_llamacpp.mjs generates and caches (same shape, seed and file name).
const kShape = {embd: 2048, layers: 16, heads: 32, kvHeads: 8, ff: 8192, tied: true, llama3Rope: '32,1,4,8192'};
const kType = 'q4_0';

const {values: opt} = parseArgs({
  options: {
    levels: {type: 'string', default: '1,2,4,8'},
    parallel: {type: 'string', default: '8'},
    tokens: {type: 'string', default: '128'},
    rounds: {type: 'string', default: '3'},
    threads: {type: 'string', default: '0'},  // silica serve --threads (0: all cores)
    model: {type: 'string'},  // another GGUF instead of the generated one (e.g. a quick check)
    cache: {type: 'string', default: path.join(os.homedir(), '.cache', 'silica-bench')},
    out: {type: 'string', default: path.join(kRepoRoot, 'bench', 'results', 'bench_concurrency.json')},
  },
});
const levels = opt.levels.split(',').map(Number);
const nTokens = Number(opt.tokens);

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, {encoding: 'utf8'}).trim();
  } catch {
    return 'unknown';
  }
}

function machine() {
  const lscpu = sh('lscpu', []);
  const field = (name) => (lscpu.match(new RegExp(`^${name}:\\s*(.+)$`, 'm')) || [])[1] ?? 'unknown';
  return {cpu: field('Model name'), cpus: Number(field('CPU\\(s\\)')) || os.cpus().length,
    mem_gib: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`};
}

function gitCommit() {
  const head = sh('git', ['-C', kRepoRoot, 'rev-parse', '--short=12', 'HEAD']);
  const dirty = sh('git', ['-C', kRepoRoot, 'status', '--porcelain', '--untracked-files=no']);
  return dirty && dirty !== 'unknown' ? `${head}-dirty` : head;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function ensureModel() {
  fs.mkdirSync(opt.cache, {recursive: true});
  const file = path.join(opt.cache, `llama32-1b-shape-${kType}.gguf`);
  if (!fs.existsSync(file)) {
    console.error(`generating ${file} ...`);
    await makeTestModel({...kShape, type: kType, vocab: await vocabPath('llama-bpe'), seed: 1}, `${file}.partial`,
        {timeoutMs: 4 * 3600_000});
    fs.renameSync(`${file}.partial`, file);
  }
  return file;
}

// One greedy stream; distinct prompts so no stream reuses another's cached prefix.
async function oneStream(ollama, model, i, round) {
  let n = 0;
  let final;
  const parts = await ollama.generate({model, prompt: `Story ${round}-${i}: once upon a time`, stream: true,
    options: {temperature: 0, num_predict: nTokens, seed: 1}});
  for await (const part of parts) {
    if (part.done) final = part;
    else n++;
  }
  if (final.eval_count !== nTokens) throw new Error(`stream ${i}: ${final.eval_count} of ${nTokens} tokens (${final.done_reason})`);
  return final;
}

// Aggregate tokens/s: every stream's generated tokens over the wall time from the first request
// to the last final chunk (prompts are ~10 tokens: their prefill is a small part of it).
async function level(ollama, model, n, round) {
  const t0 = performance.now();
  const finals = await Promise.all(Array.from({length: n}, (_, i) => oneStream(ollama, model, i, round)));
  const wallS = (performance.now() - t0) / 1000;
  const tokens = finals.reduce((a, f) => a + f.eval_count, 0);
  return {n, tokens, wall_s: wallS, tokens_per_s: tokens / wallS,
    per_stream_eval_tps: median(finals.map((f) => f.eval_count / (f.eval_duration / 1e9)))};
}

const file = opt.model ? path.resolve(opt.model) : await ensureModel();
const modelsDir = path.dirname(file);
const model = path.basename(file, '.gguf');
const args = ['--parallel', opt.parallel, '--ctx', '512', '--threads', opt.threads];
const server = await SilicaServer.start(modelsDir, {args});
const report = {date: new Date().toISOString(), commit: gitCommit(), machine: machine(), model: opt.model ? file : {...kShape, type: kType},
  parallel: Number(opt.parallel), tokens: nTokens, rounds: Number(opt.rounds), runs: [], median: {}};
try {
  const ollama = new Ollama({host: server.url});
  await ollama.generate({model, prompt: 'warm up', stream: false, options: {num_predict: 4}});
  for (let r = 0; r < report.rounds; r++) {
    for (const n of levels) {  // interleaved: drift in machine load hits every level alike
      const res = await level(ollama, model, n, r);
      report.runs.push({round: r, ...res});
      console.error(`round ${r + 1}/${report.rounds} x${n}: ${res.tokens_per_s.toFixed(2)} t/s`);
    }
  }
} finally {
  await server.stop();
}
const base = median(report.runs.filter((x) => x.n === levels[0]).map((x) => x.tokens_per_s));
const lines = ['| streams | aggregate t/s (median) | runs | per-stream t/s | vs 1 stream |', '|---:|---:|---|---:|---:|'];
for (const n of levels) {
  const runs = report.runs.filter((x) => x.n === n);
  const m = median(runs.map((x) => x.tokens_per_s));
  report.median[n] = {tokens_per_s: m, ratio: m / base};
  lines.push(`| ${n} | ${m.toFixed(2)} | ${runs.map((x) => x.tokens_per_s.toFixed(2)).join(', ')} | ${
    median(runs.map((x) => x.per_stream_eval_tps)).toFixed(2)} | ${(m / base).toFixed(2)}x |`);
}
console.log(`silica ${report.commit}, ${report.machine.cpu}, ${report.machine.cpus} CPUs, ` +
    `serve --parallel ${opt.parallel} --threads ${opt.threads}, ${nTokens} greedy tokens per stream, ` +
    `median of ${report.rounds} interleaved rounds\n`);
console.log(lines.join('\n'));
fs.mkdirSync(path.dirname(opt.out), {recursive: true});
fs.writeFileSync(opt.out, JSON.stringify(report, null, 2) + '\n');
console.log(`\nwrote ${opt.out}`);
