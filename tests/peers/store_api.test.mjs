// The model store through `silica serve` and the official ollama client (0.6.4): pull from a local
// fake Ollama registry (NDJSON progress), list, show, copy, generate, delete, create, blob
// upload, and a pull cancelled by a client that goes away (then resumed).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {Ollama} from 'ollama';

import {FakeRegistry, sha256} from '../cli/lib/fake_registry.mjs';
import {makeChatModel, SilicaServer} from './lib/server.mjs';
import {makeScratchDir} from './lib/silica_env.mjs';

const kModelMedia = 'application/vnd.ollama.image.model';
const kSystemMedia = 'application/vnd.ollama.image.system';
const kParamsMedia = 'application/vnd.ollama.image.params';
const kSystem = 'Be brief.';
const kParams = {temperature: 0.5, stop: ['<|eot_id|>']};
const kGreedy = {temperature: 0, num_predict: 6};
const kTrickleDelayMs = 30;  // per twentieth of the model blob: ~0.6 s of visible progress
const kStallAfterBytes = 1 << 20;
const kResumeLimitMs = 20_000;  // far below the store's 60 s stall timeout
const kBigUploadBytes = 100 * (1 << 20) + 12345;  // above the server's 64 MiB JSON body limit
const kJsonBodyLimit = 64 * (1 << 20);
const kHangUpAfterBytes = 8 * (1 << 20);
const kUploadSettleMs = 300;

let scratch;
let modelsDir;
let model;  // the GGUF bytes
let modelHex;
let reg;
let server;
let ollama;

before(async () => {
  scratch = makeScratchDir('store-api');
  const file = await makeChatModel(path.join(scratch, 'tiny.gguf'));
  model = fs.readFileSync(file);
  modelHex = sha256(model);
  modelsDir = path.join(scratch, 'models');
  fs.mkdirSync(modelsDir);
  fs.copyFileSync(file, path.join(modelsDir, 'loose.gguf'));  // a loose file next to the store
  reg = await new FakeRegistry().listen();
  reg.addModel('library/tiny:q8', [
    {mediaType: kModelMedia, data: model},
    {mediaType: kSystemMedia, data: Buffer.from(kSystem)},
    {mediaType: kParamsMedia, data: Buffer.from(JSON.stringify(kParams))},
  ]);
  server = await SilicaServer.start(modelsDir);
  ollama = new Ollama({host: server.url});
});

after(async () => {
  if (server) assert.equal(await server.stop(), 0, server.stderr);
  await reg?.close();
  if (scratch) fs.rmSync(scratch, {recursive: true, force: true});
});

const regName = () => `127.0.0.1:${reg.port}/library/tiny:q8`;
const storeBlobs = () => fs.readdirSync(path.join(modelsDir, 'blobs')).filter((f) => /^sha256-[0-9a-f]{64}$/.test(f));
const names = async () => (await ollama.list()).models.map((m) => m.name).sort();
const greedy = async (name) =>
  (await ollama.generate({model: name, prompt: 'Hello there', raw: true, options: kGreedy})).response;

async function collect(iterator) {
  const events = [];
  for await (const e of iterator) events.push(e);
  return events;
}

test('pull streams Ollama progress from a local registry', async () => {
  reg.faults.set(modelHex, {chunkDelayMs: kTrickleDelayMs, times: 1});
  const events = await collect(await ollama.pull({model: regName(), insecure: true, stream: true}));
  const statuses = events.map((e) => e.status);
  assert.equal(statuses[0], 'pulling manifest');
  assert.equal(statuses.at(-1), 'success');
  const order = ['pulling manifest', 'verifying sha256 digest', 'writing manifest', 'success'];
  const at = order.map((s) => statuses.indexOf(s));
  assert.ok(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1])), `order: ${statuses.join(', ')}`);
  const blob = events.filter((e) => e.digest === `sha256:${modelHex}`);
  assert.ok(blob.every((e) => e.status === `pulling ${modelHex.slice(0, 12)}` && e.total === model.length));
  const done = blob.map((e) => e.completed);
  assert.ok(done.every((c, i) => i === 0 || c >= done[i - 1]), `completed goes down: ${done}`);
  assert.equal(done.at(-1), model.length);
  assert.ok(new Set(done).size >= 3, `expected progress steps, got ${done}`);
  assert.ok(fs.readFileSync(path.join(modelsDir, 'blobs', `sha256-${modelHex}`)).equals(model));
});

test('list shows the store model (manifest digest, details) and the loose file', async () => {
  const {models} = await ollama.list();
  assert.deepEqual(models.map((m) => m.name), [regName(), 'loose:latest'], 'store models, then loose files');
  const manifest = reg.manifests.get('library/tiny/q8');
  const m = models[0];
  assert.equal(m.model, regName());
  assert.equal(m.digest, sha256(Buffer.from(manifest)));
  const layers = JSON.parse(manifest);
  assert.equal(m.size, layers.config.size + layers.layers.reduce((n, l) => n + l.size, 0));
  assert.ok(Math.abs(Date.parse(m.modified_at) - Date.now()) < 60_000, m.modified_at);
  assert.equal(m.details.format, 'gguf');
  assert.equal(m.details.family, 'llama');
  assert.equal(m.details.quantization_level, 'Q8_0');
  assert.match(m.details.parameter_size, /^\d+\.\d\dM$/);
  assert.equal(models[1].digest, modelHex, 'the loose file is the same GGUF');
});

test('show reports the system and parameters layers and capabilities', async () => {
  const s = await ollama.show({model: regName()});
  assert.equal(s.system, kSystem);
  assert.match(s.parameters, /^temperature +0\.5$/m);
  assert.match(s.parameters, /^stop +"<\|eot_id\|>"$/m);
  assert.match(s.modelfile, new RegExp(`SYSTEM """${kSystem}"""`));
  assert.match(s.template, /start_header_id/, 'the GGUF chat template');
  assert.ok(s.capabilities.includes('completion'));
  assert.equal(s.model_info['general.architecture'], 'llama');
  assert.equal(s.details.quantization_level, 'Q8_0');
  await assert.rejects(ollama.show({model: 'absent:tag'}), (e) => e.status_code === 404);
});

test('copy, generate with the copy, delete it', async () => {
  const reference = await greedy('loose');
  assert.ok(reference.length > 0);
  assert.equal(await greedy(regName()), reference, 'the pulled model is the same model');
  await ollama.copy({source: regName(), destination: 'tiny-copy:v1'});
  assert.deepEqual(await names(), [regName(), 'loose:latest', 'tiny-copy:v1']);
  assert.equal(await greedy('tiny-copy:v1'), reference);
  await ollama.delete({model: 'tiny-copy:v1'});
  assert.deepEqual(await names(), [regName(), 'loose:latest']);
  assert.ok(storeBlobs().includes(`sha256-${modelHex}`), 'the original keeps its blobs');
  await assert.rejects(ollama.delete({model: 'tiny-copy:v1'}), (e) => e.status_code === 404);
  await assert.rejects(ollama.copy({source: regName(), destination: '../escape'}), (e) => e.status_code === 400);
});

test('create from a store model with a system prompt, parameters, messages, license', async () => {
  const messages = [{role: 'user', content: 'Hi'}, {role: 'assistant', content: 'Salut'}];
  const events = await collect(await ollama.create({model: 'brief', from: regName(), system: 'Answer in French.',
    parameters: {temperature: 0.2, stop: ['END', 'STOP']}, messages, license: 'MIT', stream: true}));
  const statuses = events.map((e) => e.status);
  assert.equal(statuses[0], 'parsing modelfile');
  assert.ok(statuses.includes(`using existing layer sha256:${modelHex}`), statuses.join(', '));
  assert.ok(statuses.some((s) => s.startsWith('creating new layer sha256:')), statuses.join(', '));
  assert.deepEqual(statuses.slice(-2), ['writing manifest', 'success']);
  const s = await ollama.show({model: 'brief'});
  assert.equal(s.system, 'Answer in French.');
  assert.equal(s.license, 'MIT');
  assert.deepEqual(s.messages, messages);
  assert.match(s.parameters, /^temperature +0\.2$/m);
  assert.match(s.parameters, /^stop +"END"\nstop +"STOP"$/m);
  assert.doesNotMatch(s.parameters, /eot_id/, 'the request\'s stop list replaces the base model\'s');
  assert.ok((await names()).includes('brief:latest'));
  assert.equal(await greedy('brief'), await greedy('loose'), 'raw generation uses the same weights');

  await assert.rejects(ollama.create({model: 'q', from: regName(), quantize: 'q4_K_M'}),
      (e) => e.status_code === 400 && /not supported yet/.test(e.message));
  await assert.rejects(ollama.create({model: 'nofrom', system: 'x'}), (e) => e.status_code === 400);
  await assert.rejects(ollama.create({model: 'bad', from: 'absent:tag'}), (e) => e.status_code === 400);
});

test('create: stream:false answers one object; a failure inside the stream is an {"error"} line', async () => {
  const quiet = await fetch(`${server.url}/api/create`, {method: 'POST',
    body: JSON.stringify({model: 'quiet', from: regName(), system: 'Shh.', stream: false})});
  assert.equal(quiet.status, 200);
  assert.deepEqual(JSON.parse(await quiet.text()), {status: 'success'});
  await ollama.delete({model: 'quiet'});

  const r = await fetch(`${server.url}/api/create`, {method: 'POST',
    body: JSON.stringify({model: 'bad', from: 'absent:tag'})});
  const lines = (await r.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines[0], {status: 'parsing modelfile'});
  assert.equal(lines.length, 2, JSON.stringify(lines));
  assert.match(lines[1].error, /absent/);
  await assert.rejects(async () => collect(await ollama.create({model: 'bad', from: 'absent:tag', stream: true})),
      /absent/);
  assert.ok(!(await names()).includes('bad:latest'));
});

// Prompt and generated token counts of one non-raw generate or chat request.
const counts = async (req) => {
  const r = await (req.messages ? ollama.chat({stream: false, ...req}) : ollama.generate({stream: false, ...req}));
  return {prompt: r.prompt_eval_count, gen: r.eval_count, reason: r.done_reason};
};

test('stored PARAMETER, SYSTEM and MESSAGE layers apply at generation; the request wins', async () => {
  const messages = [{role: 'user', content: 'Hi'}, {role: 'assistant', content: 'Salut'}];
  await ollama.create({model: 'three', from: regName(), system: 'Answer in French.',
    parameters: {num_predict: 3, temperature: 0}, messages});
  const ask = {prompt: 'Hello there'};
  // The reference: the plain GGUF with the same turns written into the request.
  const ref = await counts({model: 'loose', ...ask, system: 'Answer in French.', options: {num_predict: 1}});
  const plain = await counts({model: 'loose', ...ask, options: {num_predict: 1}});
  assert.ok(ref.prompt > plain.prompt, 'the system prompt takes tokens');
  const refChat = await counts({model: 'loose', options: {num_predict: 1}, messages: [
    {role: 'system', content: 'Answer in French.'}, ...messages, {role: 'user', content: 'Hello there'}]});
  const chat = await counts({model: 'three', messages: [{role: 'user', content: 'Hello there'}]});
  assert.equal(chat.gen, 3, 'PARAMETER num_predict 3');
  assert.equal(chat.reason, 'length');
  assert.equal(chat.prompt, refChat.prompt, 'SYSTEM, then the MESSAGE turns, then the request');
  const gen = await counts({model: 'three', ...ask});
  assert.equal(gen.gen, 3);
  assert.equal(gen.prompt, refChat.prompt, 'generate: SYSTEM and MESSAGE turns before a fresh prompt');
  assert.equal((await counts({model: 'three', ...ask, options: {num_predict: 5}})).gen, 5, 'options override');
  // The pulled model's own layers: SYSTEM "Be brief." and no num_predict.
  const pulled = await counts({model: regName(), ...ask, options: {num_predict: 2}});
  const brief = await counts({model: 'loose', ...ask, system: kSystem, options: {num_predict: 2}});
  assert.equal(pulled.prompt, brief.prompt, 'SYSTEM is the default system prompt');
  const own = await counts({model: regName(), ...ask, system: 'Answer in French.', options: {num_predict: 1}});
  assert.equal(own.prompt, ref.prompt, 'a request\'s system wins');
  const raw = await counts({model: 'three', prompt: 'Hello there', raw: true});
  assert.equal(raw.gen, 3, 'raw prompts still take PARAMETER defaults');
  // OpenAI route: max_tokens overrides, the model's num_predict applies when absent.
  const v1 = async (body) => (await (await fetch(`${server.url}/v1/chat/completions`, {method: 'POST',
    body: JSON.stringify({model: 'three', messages: [{role: 'user', content: 'Hello there'}], ...body})})).json()).usage;
  assert.equal((await v1({})).completion_tokens, 3);
  assert.equal((await v1({max_tokens: 4})).completion_tokens, 4);
  assert.equal((await v1({})).prompt_tokens, refChat.prompt);
  await ollama.delete({model: 'three'});
});

test('delete store models removes their blobs; errors', async () => {
  await ollama.delete({model: 'brief'});
  await ollama.delete({model: regName()});
  assert.deepEqual(await names(), ['loose:latest']);
  assert.deepEqual(storeBlobs(), []);
  const events = ollama.pull({model: `127.0.0.1:${reg.port}/library/absent:x`, insecure: true, stream: true});
  await assert.rejects(async () => collect(await events), /not found/);
  await assert.rejects(ollama.pull({model: `127.0.0.1:${reg.port}/library/absent:x`, insecure: true}),
      (e) => e.status_code === 500 && /not found/.test(e.message));
  await assert.rejects(ollama.pull({model: '../../etc/passwd', insecure: true}), (e) => e.status_code === 400);
});

test('blobs: HEAD and POST with digest checks; create from an uploaded GGUF', async () => {
  const url = (hex) => `${server.url}/api/blobs/sha256:${hex}`;
  const head = async (hex) => (await fetch(url(hex), {method: 'HEAD'})).status;
  assert.equal(await head(modelHex), 404);
  const bad = await fetch(url(modelHex), {method: 'POST', body: Buffer.concat([model, Buffer.from('x')])});
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /digest mismatch/);
  assert.equal(await head(modelHex), 404, 'a mismatched upload leaves nothing');
  assert.equal((await fetch(url(modelHex), {method: 'POST', body: model})).status, 201);
  assert.equal(await head(modelHex), 200);
  assert.ok(fs.readFileSync(path.join(modelsDir, 'blobs', `sha256-${modelHex}`)).equals(model));
  assert.equal((await fetch(`${server.url}/api/blobs/sha256:xyz`, {method: 'HEAD'})).status, 400);

  const r = await ollama.create({model: 'uploaded', files: {'tiny.gguf': `sha256:${modelHex}`}});
  assert.equal(r.status, 'success');
  assert.equal(await greedy('uploaded'), await greedy('loose'));
  await assert.rejects(ollama.create({model: 'x', files: {'a.gguf': `sha256:${'0'.repeat(64)}`}}),
      (e) => e.status_code === 400 && /POST \/api\/blobs/.test(e.message));
  await ollama.delete({model: 'uploaded'});
  assert.deepEqual(storeBlobs(), []);
});

// Sends a POST's headers (and `bytes` of body) over a raw socket, then hangs up or reads the reply.
function rawPost(urlPath, contentLength, bytes, {hangUp}) {
  const {hostname, port} = new URL(server.url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () => {
      sock.write(`POST ${urlPath} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${contentLength}\r\n\r\n`);
      sock.write(Buffer.alloc(bytes, 0x7b), () => {
        if (hangUp) sock.destroy(), resolve('');
      });
    });
    let reply = '';
    sock.on('data', (d) => reply += d.toString('latin1'));
    sock.on('end', () => resolve(reply));
    sock.on('error', (e) => hangUp ? resolve('') : reject(e));
  });
}

test('blobs: a 100+ MiB upload streams to disk; a hang-up mid-upload leaves nothing', async () => {
  // The tiny GGUF padded past the JSON body limit: trailing bytes after the tensor data.
  const big = Buffer.concat([model, Buffer.alloc(kBigUploadBytes - model.length, 0)]);
  const bigHex = sha256(big);
  const url = `${server.url}/api/blobs/sha256:${bigHex}`;
  const blobsBefore = fs.readdirSync(path.join(modelsDir, 'blobs')).sort();

  await rawPost(`/api/blobs/sha256:${bigHex}`, big.length, kHangUpAfterBytes, {hangUp: true});
  await new Promise((r) => setTimeout(r, kUploadSettleMs));
  assert.equal((await fetch(url, {method: 'HEAD'})).status, 404);
  assert.deepEqual(fs.readdirSync(path.join(modelsDir, 'blobs')).sort(), blobsBefore, 'no temp file stays');

  const wrong = await fetch(`${server.url}/api/blobs/sha256:${modelHex}`, {method: 'POST', body: big});
  assert.equal(wrong.status, 400);
  assert.deepEqual(fs.readdirSync(path.join(modelsDir, 'blobs')).sort(), blobsBefore);

  assert.equal((await fetch(url, {method: 'POST', body: big})).status, 201);
  assert.equal((await fetch(url, {method: 'HEAD'})).status, 200);
  const stored = path.join(modelsDir, 'blobs', `sha256-${bigHex}`);
  assert.equal(fs.statSync(stored).size, big.length);
  assert.equal(sha256(fs.readFileSync(stored)), bigHex);

  const events = await collect(await ollama.create({model: 'big', files: {'big.gguf': `sha256:${bigHex}`}, stream: true}));
  assert.deepEqual(events.map((e) => e.status).slice(-2), ['writing manifest', 'success']);
  assert.equal(await greedy('big'), await greedy('loose'), 'the padded GGUF is the same model');
  await ollama.delete({model: 'big'});
  assert.ok(!fs.existsSync(stored));

  // The JSON routes keep their limit: refused from the headers alone, before any body is read.
  const reply = await rawPost('/api/show', kJsonBodyLimit + 1, 0, {hangUp: false});
  assert.match(reply, /^HTTP\/1\.1 413 /);
  assert.match(reply, /too large/);
});

test('a client that goes away cancels the pull; the next pull resumes the partial file', async () => {
  reg.faults.set(modelHex, {stallAfter: kStallAfterBytes, times: 1});
  const it = await ollama.pull({model: regName(), insecure: true, stream: true});
  for await (const e of it) {
    if (e.digest === `sha256:${modelHex}` && e.completed >= kStallAfterBytes) break;
  }
  it.abort();
  assert.ok(!(await names()).includes(regName()), 'an interrupted pull is not listed');
  const partial = path.join(modelsDir, 'blobs', `sha256-${modelHex}-partial`);
  // The resumed pull waits on the blob's lock until the cancelled one lets go.
  const t0 = Date.now();
  const r = await ollama.pull({model: regName(), insecure: true});
  assert.equal(r.status, 'success');
  assert.ok(Date.now() - t0 < kResumeLimitMs, `resumed after ${Date.now() - t0} ms: the cancel was not seen`);
  assert.ok(!fs.existsSync(partial));
  const ranges = reg.log.filter((e) => e.path === `/cdn/${modelHex}` && e.range).map((e) => e.range);
  assert.ok(ranges.includes(`bytes=${kStallAfterBytes}-`), `range requests: ${ranges}`);
  assert.ok(fs.readFileSync(path.join(modelsDir, 'blobs', `sha256-${modelHex}`)).equals(model));
  assert.deepEqual(await names(), [regName(), 'loose:latest']);
});
