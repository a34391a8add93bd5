// llama.cpp (through node-llama-cpp) as the numeric reference: logits, greedy ids, completions.
import {getLlama, LlamaLogLevel} from 'node-llama-cpp';

let llamaPromise = null;

// One Llama instance per process: it owns the native backend (CPU only, never built here).
export function getRefLlama() {
  if (!llamaPromise) {
    // gpu:false: the reference is llama.cpp's CPU path, the one silica is compared with.
    // build:"never": use the prebuilt @node-llama-cpp/linux-x64 binaries exactly as pinned; a
    // local rebuild would change the kernels (and take minutes).
    llamaPromise = getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error});
  }
  return llamaPromise;
}

// Options pinned because they change the numbers llama.cpp produces:
// - flashAttention false: the fused kernel sums in another order (and with f16 accumulation on
//   some paths); the plain softmax(QK^T)V path is the one a straightforward forward pass matches.
// - KV cache F16 for K and V: llama.cpp's default; named here so a changed default cannot move
//   the reference silently.
// - batchSize = contextSize: the whole prompt is one ubatch, so prompt evaluation never switches
//   between the matmul (batched) and matvec (one token) code paths mid-prompt.
// - threads: explicit, so runs are comparable (ggml's row split does not change sums, but the
//   llamafile sgemm tiling can depend on it).
// - swaFullCache false: irrelevant for llama/qwen2 (no sliding window), pinned for completeness.
const kKvCacheType = 'F16';

export class LlamaRef {
  constructor(model, context, sequence, nVocab) {
    this.model = model;
    this.context = context;
    this.sequence = sequence;
    this.nVocab = nVocab;
  }

  // Loads `modelPath` once; every later call reuses the one context and sequence.
  static async load(modelPath, {contextSize = 256, threads = 2, batchSize} = {}) {
    const llama = await getRefLlama();
    const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
    const context = await model.createContext({
      contextSize,
      batchSize: batchSize ?? contextSize,
      threads: {ideal: threads, min: threads},
      flashAttention: false,
      swaFullCache: false,
      experimentalKvCacheKeyType: kKvCacheType,
      experimentalKvCacheValueType: kKvCacheType,
      sequences: 1,
    });
    const sequence = context.getSequence();
    const ref = new LlamaRef(model, context, sequence, 0);
    return ref;
  }

  get bos() { return this.model.tokens.bos; }

  // BOS + tokenize(text): how llama.cpp's own CLI prepares a prompt for a llama3 vocab.
  tokenizePrompt(text) {
    const ids = Array.from(this.model.tokenize(text));
    return this.bos == null ? ids : [this.bos, ...ids];
  }

  detokenize(tokens) { return this.model.detokenize(tokens); }

  // Next-token logits after the last of `tokens` (used exactly as given, no BOS added), over the
  // whole vocabulary, from an empty sequence. Returns {logits: Float32Array [n_vocab], next}.
  async logits(tokens) {
    await this.sequence.clearHistory();
    const last = tokens.length - 1;
    const input = tokens.map(
        (t, i) => i === last ?
            [t, {generateNext: {token: true, logits: true, options: {temperature: 0}}}] :
            t,
    );
    const results = await this.sequence.controlledEvaluate(input);
    const map = results[last]?.next?.logits;
    if (!map)
      throw new Error(`llama.cpp returned no logits for the last of ${tokens.length} tokens`);
    if (this.nVocab === 0) this.nVocab = map.size;
    if (map.size !== this.nVocab) {
      throw new Error(`llama.cpp logits cover ${map.size} tokens, expected n_vocab ${this.nVocab}`);
    }
    const logits = new Float32Array(this.nVocab);
    for (const [tok, v] of map) logits[tok] = v;
    return {logits, next: results[last].next.token};
  }

  // Logits after `tokens`, then `n` greedy ids (EOG tokens included, generation never stops
  // early: the same contract as `silica eval --greedy N`). One prefill serves both.
  async logitsAndGreedy(tokens, n) {
    const {logits, next} = await this.logits(tokens);
    const greedy = [next];
    if (n > 1) {
      const it = this.sequence.evaluate([next], {temperature: 0, yieldEogToken: true});
      for await (const tok of it) {
        greedy.push(tok);
        if (greedy.length >= n) break;
      }
    }
    return {logits, greedy: greedy.slice(0, n)};
  }

  // Greedy text completion of a text prompt (BOS + tokenize), stopping at EOG or `n` tokens.
  async complete(prompt, n) {
    await this.sequence.clearHistory();
    const promptTokens = this.tokenizePrompt(prompt);
    const tokens = [];
    if (n > 0) {
      for await (const tok of this.sequence.evaluate(promptTokens, {temperature: 0})) {
        tokens.push(tok);
        if (tokens.length >= n) break;
      }
    }
    return {promptTokens, tokens, text: this.detokenize(tokens)};
  }

  // Timed prefill of `tokens` in one batch, then `nGen` greedy tokens; for bench/.
  // Returns {ppMs, tgMs, nGen} (tgMs covers nGen decode steps after the prefill's first token).
  async timePrefillAndGenerate(tokens, nGen) {
    await this.sequence.clearHistory();
    const last = tokens.length - 1;
    const input = tokens.map(
        (t, i) => i === last ? [t, {generateNext: {token: true, options: {temperature: 0}}}] : t,
    );
    const t0 = performance.now();
    const results = await this.sequence.controlledEvaluate(input);
    const t1 = performance.now();
    let next = results[last].next.token;
    let generated = 0;
    const it = this.sequence.evaluate([next], {temperature: 0, yieldEogToken: true});
    for await (const tok of it) {
      next = tok;
      if (++generated >= nGen) break;
    }
    const t2 = performance.now();
    return {ppMs: t1 - t0, tgMs: t2 - t1, nGen: generated};
  }

  async dispose() {
    await this.context.dispose();
    await this.model.dispose();
  }
}

// Index of the largest value (first on ties, like a greedy sampler scanning ids in order).
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++)
    if (values[i] > values[best]) best = i;
  return best;
}
