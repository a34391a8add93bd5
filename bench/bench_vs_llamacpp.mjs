#!/usr/bin/env node
// End-to-end tokens/s of silica vs llama.cpp (node-llama-cpp) on a Llama-3.2-1B-shaped model.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {parseArgs} from 'node:util';

import {LlamaRef} from '../tests/peers/lib/llama_ref.mjs';
import {kRepoRoot, makeTestModel, silicaBench, vocabPath} from '../tests/peers/lib/silica_env.mjs';

// Llama-3.2-1B: 16 layers, 2048 wide, 32 query / 8 KV heads, 8192 FFN, tied output, llama3 rope
// scaling (factor 32, low 1, high 4, original context 8192), llama-bpe vocab (128256 tokens).
const kShape = {
  embd: 2048,
  layers: 16,
  heads: 32,
  kvHeads: 8,
  ff: 8192,
  tied: true,
  llama3Rope: '32,1,4,8192',
};

const {values: opt} = parseArgs({
  options: {
    threads: {type: 'string', default: '2'},
    rounds: {type: 'string', default: '3'},
    types: {type: 'string', default: 'f16,q8_0,q4_0,q4_K_M'},
    pp: {type: 'string', default: '512'},
    tg: {type: 'string', default: '128'},
    cache: {type: 'string', default: path.join(os.homedir(), '.cache', 'silica-bench')},
    out: {
      type: 'string',
      default: path.join(kRepoRoot, 'bench', 'results', 'bench_vs_llamacpp.json')
    },
    'llama-only': {type: 'boolean', default: false},
  },
});
const threads = Number(opt.threads);
const rounds = Number(opt.rounds);
const pp = Number(opt.pp);
const tg = Number(opt.tg);

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, {encoding: 'utf8'}).trim();
  } catch {
    return 'unknown';
  }
}

function machine() {
  const lscpu = sh('lscpu', []);
  const field = (name) =>
      (lscpu.match(new RegExp(`^${name}:\\s*(.+)$`, 'm')) || [])[1] ?? 'unknown';
  return {
    cpu: field('Model name'),
    cpus: Number(field('CPU\\(s\\)')) || os.cpus().length,
    cores_per_socket: Number(field('Core\\(s\\) per socket')) || null,
    mem_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    node_llama_cpp:
        JSON.parse(fs.readFileSync(
                       path.join(kRepoRoot, 'tests/peers/node_modules/node-llama-cpp/package.json'),
                       'utf8'))
            .version,
  };
}

function gitCommit() {
  const head = sh('git', ['-C', kRepoRoot, 'rev-parse', '--short=12', 'HEAD']);
  const dirty = sh('git', ['-C', kRepoRoot, 'status', '--porcelain', '--untracked-files=no']);
  return dirty && dirty !== 'unknown' ? `${head}-dirty` : head;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Generated once per type and reused: a 1B model takes minutes to quantize.
async function ensureModel(type) {
  fs.mkdirSync(opt.cache, {recursive: true});
  const file = path.join(opt.cache, `llama32-1b-shape-${type}.gguf`);
  if (!fs.existsSync(file)) {
    console.error(`generating ${file} ...`);
    const tmp = `${file}.partial`;
    await makeTestModel(
        {...kShape, type, vocab: await vocabPath('llama-bpe'), seed: 1}, tmp,
        {timeoutMs: 4 * 3600_000});
    fs.renameSync(tmp, file);
  }
  return file;
}

// Fixed pseudo-random ordinary token ids: speed does not depend on which ids they are.
function promptTokens(n) {
  let s = 12345;
  const ids = [128000];
  while (ids.length < n) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    ids.push(1000 + (s % 100000));
  }
  return ids;
}

async function llamaRound(ref) {
  const r = await ref.timePrefillAndGenerate(promptTokens(pp), tg);
  if (r.nGen !== tg) throw new Error(`llama.cpp generated ${r.nGen} of ${tg} tokens`);
  return {pp: (pp / r.ppMs) * 1000, tg: (r.nGen / r.tgMs) * 1000};
}

async function benchType(type) {
  const file = await ensureModel(type);
  const t0 = performance.now();
  const ref = await LlamaRef.load(file, {contextSize: pp + tg, batchSize: pp, threads});
  const llamaLoadMs = performance.now() - t0;
  // Warm-up: first-touch of mmapped weights and llama.cpp's graph allocation.
  await ref.timePrefillAndGenerate(promptTokens(32), 2);
  const res = {type, file, llama: [], silica: [], llama_load_ms: llamaLoadMs, silica_load_ms: []};
  try {
    for (let r = 0; r < rounds; r++) {
      // Interleaved, so drift in machine load hits both sides alike.
      if (!opt['llama-only']) {
        const s = await silicaBench(file, {pp, tg, threads});
        res.silica.push({pp: s.pp_tokens_per_s, tg: s.tg_tokens_per_s});
        res.silica_load_ms.push(s.load_ms);
      }
      res.llama.push(await llamaRound(ref));
      console.error(
          `${type} round ${r + 1}/${rounds}: ` +
          JSON.stringify({silica: res.silica.at(-1), llama: res.llama.at(-1)}));
    }
  } finally {
    await ref.dispose();
  }
  const med = (xs, k) => (xs.length ? median(xs.map((x) => x[k])) : null);
  res.median = {
    silica_pp: med(res.silica, 'pp'),
    silica_tg: med(res.silica, 'tg'),
    llama_pp: med(res.llama, 'pp'),
    llama_tg: med(res.llama, 'tg'),
  };
  res.ratio = {
    pp: res.median.silica_pp ? res.median.silica_pp / res.median.llama_pp : null,
    tg: res.median.silica_tg ? res.median.silica_tg / res.median.llama_tg : null,
  };
  return res;
}

function markdown(results) {
  const f = (x, d = 1) => (x == null ? '-' : x.toFixed(d));
  const lines = [
    `| type | silica pp${pp} t/s | llama.cpp pp${pp} t/s | pp ratio | silica tg${
        tg} t/s | llama.cpp tg${tg} t/s | tg ratio |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const m = r.median;
    lines.push(`| ${r.type} | ${f(m.silica_pp)} | ${f(m.llama_pp)} | ${f(r.ratio.pp, 2)} | ${
        f(m.silica_tg)} | ${f(m.llama_tg)} | ${f(r.ratio.tg, 2)} |`);
  }
  return lines.join('\n');
}

const report = {
  date: new Date().toISOString(),
  commit: gitCommit(),
  machine: machine(),
  model: {...kShape, vocab: 'llama-bpe (128256)'},
  threads,
  rounds,
  pp,
  tg,
  llama_only: opt['llama-only'],
  results: [],
};
for (const type of opt.types.split(',')) report.results.push(await benchType(type));

console.log(
    `silica ${report.commit} vs llama.cpp (node-llama-cpp ${report.machine.node_llama_cpp}), ` +
    `${report.machine.cpu}, ${threads} threads, median of ${rounds} interleaved rounds\n`);
console.log(markdown(report.results));
fs.mkdirSync(path.dirname(opt.out), {recursive: true});
fs.writeFileSync(opt.out, JSON.stringify(report, null, 2) + '\n');
console.log(`\nwrote ${opt.out}`);
