#!/usr/bin/env node
// llama.cpp (through node-llama-cpp) timed for `silica bench --vs-llamacpp`: one JSON request per
// stdin line, one JSON reply per stdout line, so the model stays loaded across interleaved reps.
//
// Usage: node llamacpp_runner.mjs PEERS_DIR   (PEERS_DIR holds node_modules/node-llama-cpp)
// Requests (replies carry "ok": true, or "ok": false with "error"):
//   {"op": "load", "model": PATH}                       -> {"load_ms"}
//   {"op": "unload"}  closes the model (and unmaps its file, so that it can leave the page cache)
//   {"op": "context", "threads": T, "n_ctx": N, "n_batch": B}
//   {"op": "depth", "tokens": [ids]}  fills the context with these (untimed) -> {"n"}
//   {"op": "pp", "tokens": [ids], "keep": K}  prompt in one batch + the first greedy token, after
//                     the first K tokens of the context (0 if absent; K <= the depth) -> {"ms", "token"}
//   {"op": "tg", "token": ID, "n": N, "keep": K}  N greedy decode steps after the first K -> {"ms", "n"}
//   {"op": "rss"}  -> {"peak_rss_bytes", "node_rss_bytes"}: this process's peak, and its resident
//                     size before any model was loaded (node and the library alone)
//   {"op": "quit"}
import {createRequire} from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import {pathToFileURL} from 'node:url';

// stdout carries only replies: anything node-llama-cpp logs goes to stderr.
function reply(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

const peersDir = process.argv[2];
if (!peersDir) {
  reply({ok: false, error: 'usage: llamacpp_runner.mjs PEERS_DIR'});
  process.exit(2);
}

let lib;
try {
  // Resolved from the peers folder, not from this script's folder: bench/ has no node_modules.
  const require = createRequire(path.join(path.resolve(peersDir), 'package.json'));
  lib = await import(pathToFileURL(require.resolve('node-llama-cpp')).href);
} catch (e) {
  reply({
    ok: false,
    error: `node-llama-cpp not found under ${peersDir}/node_modules (${e.message}); ` +
        'install it with scripts/setup.sh --peers',
  });
  process.exit(3);
}

const llama = await lib.getLlama({
  // CPU only, the prebuilt binaries as pinned (a local rebuild would change the kernels).
  gpu: false,
  build: 'never',
  logLevel: lib.LlamaLogLevel.error,
  logger: (level, message) => process.stderr.write(`llama.cpp: ${message}\n`),
});

const nodeRssBytes = process.memoryUsage().rss;
let model = null;
let context = null;
let sequence = null;

async function disposeContext() {
  if (context) await context.dispose();
  context = null;
  sequence = null;
}

// Drops every context token from index `keep` on (all of them for 0).
async function keepFirst(keep) {
  if (keep === 0) return sequence.clearHistory();
  if (keep > sequence.nextTokenIndex)
    throw new Error(`keep ${keep} is past the ${sequence.nextTokenIndex} tokens of the context`);
  if (keep < sequence.nextTokenIndex)
    await sequence.eraseContextTokenRanges([{start: keep, end: sequence.nextTokenIndex}]);
  if (sequence.nextTokenIndex !== keep)
    throw new Error(`the context holds ${sequence.nextTokenIndex} tokens after keeping ${keep}`);
}

const handlers = {
  async load({model: modelPath}) {
    await handlers.unload();
    const t0 = performance.now();
    model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
    return {load_ms: performance.now() - t0};
  },

  async unload() {
    await disposeContext();
    if (model) await model.dispose();
    model = null;
    return {};
  },

  async context({threads, n_ctx, n_batch}) {
    if (!model) throw new Error('context before load');
    await disposeContext();
    // Pinned like tests/peers/lib/llama_ref.mjs: no flash attention, F16 KV cache, exactly
    // `threads` threads, the whole prompt in one batch as llama-bench runs it.
    context = await model.createContext({
      contextSize: n_ctx,
      batchSize: n_batch,
      threads: {ideal: threads, min: threads},
      flashAttention: false,
      swaFullCache: false,
      experimentalKvCacheKeyType: 'F16',
      experimentalKvCacheValueType: 'F16',
      sequences: 1,
    });
    sequence = context.getSequence();
    return {threads: context.currentThreads ?? threads};
  },

  async depth({tokens}) {
    if (!sequence) throw new Error('depth before context');
    await sequence.clearHistory();
    await sequence.evaluateWithoutGeneratingNewTokens(tokens);
    return {n: sequence.nextTokenIndex};
  },

  async pp({tokens, keep = 0}) {
    if (!sequence) throw new Error('pp before context');
    await keepFirst(keep);
    const last = tokens.length - 1;
    const input = tokens.map(
        (t, i) => i === last ? [t, {generateNext: {token: true, options: {temperature: 0}}}] : t);
    const t0 = performance.now();
    const results = await sequence.controlledEvaluate(input);
    const ms = performance.now() - t0;
    return {ms, token: results[last]?.next?.token ?? null};
  },

  async tg({token, n, keep = 0}) {
    if (!sequence) throw new Error('tg before context');
    await keepFirst(keep);
    // Each yielded token is one decode step: `token` first, then each generated one fed back.
    let generated = 0;
    const t0 = performance.now();
    for await (const _ of sequence.evaluate([token], {temperature: 0, yieldEogToken: true})) {
      if (++generated >= n) break;
    }
    return {ms: performance.now() - t0, n: generated};
  },

  // maxRSS is in KiB on every platform (libuv converts macOS's bytes).
  async rss() {
    return {peak_rss_bytes: process.resourceUsage().maxRSS * 1024, node_rss_bytes: nodeRssBytes};
  },
};

reply({ok: true, ready: true, node: process.version});
const lines = readline.createInterface({input: process.stdin, terminal: false});
for await (const line of lines) {
  if (!line.trim()) continue;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    reply({ok: false, error: `not a JSON request: ${e.message}`});
    continue;
  }
  if (req.op === 'quit') break;
  const handler = handlers[req.op];
  if (!handler) {
    reply({ok: false, error: `unknown op '${req.op}'`});
    continue;
  }
  try {
    reply({ok: true, ...(await handler(req))});
  } catch (e) {
    reply({ok: false, error: `${req.op}: ${e.message}`});
  }
}
await disposeContext();
if (model) await model.dispose();
process.exit(0);
