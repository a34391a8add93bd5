// `silica serve` through the official ollama client (0.6.4): every Ollama route, streaming and
// not, statistics, errors, concurrency, aborts, auth, metrics and graceful shutdown.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';

import Ajv from 'ajv';
import {Ollama} from 'ollama';

import {makeModelsDir, referencePromptCount, SilicaServer} from './lib/server.mjs';

const kModel = 'tiny';
const kPredict = 12;
const kGreedy = {temperature: 0, num_predict: kPredict};
const kParallel = 8;
const kEmbdLen = 64;  // the test model's embedding length
const kTolUnitNorm = 1e-4;
const kIdleWaitMs = 2000;

let modelsDir;
let server;
let ollama;

before(async () => {
  modelsDir = await makeModelsDir('ollama-api', {tools: true});
  // Before any connection is open: the reference tokenizers block the event loop for seconds,
  // longer than an idle keep-alive connection lives.
  for (const model of ['qwen3-tools', 'llama31-tools']) kToolRefs[model] = await toolReferences(model);
  server = await SilicaServer.start(modelsDir, {args: ['--parallel', String(kParallel), '--ctx', '1024']});
  ollama = new Ollama({host: server.url});
});

after(async () => {
  if (server) await server.stop();
});

function checkFinalStats(final) {
  assert.equal(final.done, true);
  for (const k of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration',
    'eval_count', 'eval_duration']) {
    assert.ok(Number.isInteger(final[k]) && final[k] >= 0, `${k}: ${final[k]}`);
  }
  assert.ok(final.total_duration >= final.eval_duration);
}

async function streamGenerate(prompt, options = kGreedy) {
  const parts = [];
  let final;
  for await (const part of await ollama.generate({model: kModel, prompt, stream: true, options})) {
    if (part.done) final = part;
    else parts.push(part.response);
  }
  return {parts, text: parts.join(''), final};
}

test('GET / and HEAD / say Ollama is running; /api/version', async () => {
  const res = await fetch(server.url + '/');
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'Ollama is running');
  assert.equal((await fetch(server.url + '/', {method: 'HEAD'})).status, 200);
  const v = await ollama.version();
  assert.equal(typeof v.version, 'string');
});

test('/api/generate: non-streamed and streamed greedy text agree; stats are consistent', async () => {
  const whole = await ollama.generate({model: kModel, prompt: 'Why is the sky blue?', stream: false, options: kGreedy});
  checkFinalStats(whole);
  assert.equal(whole.done_reason, 'length');
  assert.equal(whole.eval_count, kPredict);
  assert.equal(whole.context.length, whole.prompt_eval_count + whole.eval_count);
  const s = await streamGenerate('Why is the sky blue?');
  assert.equal(s.text, whole.response);
  checkFinalStats(s.final);
  assert.equal(s.final.eval_count, kPredict);
  assert.ok(s.parts.length >= 1 && s.parts.length <= s.final.eval_count, `${s.parts.length} chunks`);
  assert.deepEqual(s.final.context, whole.context);
  // The context continues the conversation: it is the prompt the next request builds on.
  const next = await ollama.generate({model: kModel, prompt: 'More', context: whole.context, stream: false, options: kGreedy});
  assert.ok(next.prompt_eval_count > whole.context.length);
});

test('/api/generate: raw, system, stop and seeded sampling', async () => {
  const raw = await ollama.generate({model: kModel, prompt: 'abc', raw: true, stream: false, options: kGreedy});
  // raw: BOS + the tokens of "abc" only, no template around it.
  assert.ok(raw.prompt_eval_count <= 3, `raw prompt has ${raw.prompt_eval_count} tokens`);
  const sys = await ollama.generate({model: kModel, prompt: 'abc', system: 'Be brief.', stream: false, options: kGreedy});
  assert.ok(sys.prompt_eval_count > raw.prompt_eval_count + 3);
  const opts = {temperature: 1, seed: 42, num_predict: 8, top_k: 100, top_p: 0.95, repeat_penalty: 1.2};
  const a = await ollama.generate({model: kModel, prompt: 'Seed', stream: false, options: opts});
  const b = await ollama.generate({model: kModel, prompt: 'Seed', stream: false, options: opts});
  assert.equal(a.response, b.response);
  // A stop string cuts the text before it.
  const full = await ollama.generate({model: kModel, prompt: 'Stop here', stream: false, options: kGreedy});
  const stop = full.response.slice(2, 5);
  if (stop.trim().length > 0) {
    const cut = await ollama.generate({model: kModel, prompt: 'Stop here', stream: false, options: {...kGreedy, stop: [stop]}});
    assert.equal(cut.done_reason, 'stop');
    assert.ok(!cut.response.includes(stop));
    assert.ok(full.response.startsWith(cut.response));
  }
});

test('/api/chat: streamed and not, with tools in the template', async () => {
  const messages = [{role: 'system', content: 'You are terse.'}, {role: 'user', content: 'Hello!'}];
  const whole = await ollama.chat({model: kModel, messages, stream: false, options: kGreedy});
  checkFinalStats(whole);
  assert.equal(whole.message.role, 'assistant');
  assert.equal(whole.eval_count, kPredict);
  let text = '';
  let final;
  for await (const part of await ollama.chat({model: kModel, messages, stream: true, options: kGreedy})) {
    if (part.done) final = part;
    else text += part.message.content;
  }
  assert.equal(text, whole.message.content);
  assert.equal(final.eval_count, whole.eval_count);
  const tools = [{type: 'function', function: {name: 'get_weather', description: 'Weather in a city',
    parameters: {type: 'object', properties: {city: {type: 'string'}}, required: ['city']}}}];
  const withTools = await ollama.chat({model: kModel, messages, tools, stream: false, options: kGreedy});
  // This Llama 3 template has no tools block: the request is accepted and the template decides.
  assert.equal(withTools.done, true);
  const history = [...messages,
    {role: 'assistant', content: '', tool_calls: [{function: {name: 'get_weather', arguments: {city: 'Paris'}}}]},
    {role: 'tool', content: '{"temp": 21}', tool_name: 'get_weather'}];
  const after = await ollama.chat({model: kModel, messages: history, tools, stream: false, options: kGreedy});
  assert.equal(after.done, true);
});

const kWeatherTool = {type: 'function', function: {name: 'get_weather', description: 'Weather in a city',
  parameters: {type: 'object', properties: {city: {type: 'string'}}, required: ['city']}}};
// Forces the Llama 3.1 call shape {"name": ..., "parameters": {...}}: a random model emits a call.
const kForcedCall = {type: 'object', properties: {name: {enum: ['get_weather']},
  parameters: {type: 'object', properties: {city: {enum: ['Paris', 'Oslo']}}, required: ['city'],
    additionalProperties: false}}, required: ['name', 'parameters'], additionalProperties: false};
const kToolPredict = 120;  // room for the forced call and the whitespace the grammar allows

const kToolMessages = [{role: 'user', content: 'Weather in Paris?'}];
// Ollama's history shape: arguments as an object, the tool result named by tool_name.
const kToolHistory = [...kToolMessages,
  {role: 'assistant', content: '', tool_calls: [{function: {name: 'get_weather', arguments: {city: 'Paris'}}}]},
  {role: 'tool', content: '{"temp": 21}', tool_name: 'get_weather'}];
// The same history as Hugging Face templates expect it.
const kHfHistory = [...kToolMessages,
  {role: 'assistant', content: '', tool_calls: [{type: 'function', function: {name: 'get_weather', arguments: {city: 'Paris'}}}]},
  {role: 'tool', content: '{"temp": 21}', name: 'get_weather'}];
const kToolRefs = {};

async function toolReferences(model) {
  const tools = [kWeatherTool];
  return {bare: await referencePromptCount(model, {messages: kToolMessages}),
    tools: await referencePromptCount(model, {messages: kToolMessages, tools}),
    history: await referencePromptCount(model, {messages: kHfHistory, tools})};
}

test('tools reach the template: prompt counts equal the Hugging Face reference render', async () => {
  const messages = kToolMessages;
  const history = kToolHistory;
  const tools = [kWeatherTool];
  for (const model of ['qwen3-tools', 'llama31-tools']) {
    const {bare, tools: ref, history: refHistory} = kToolRefs[model];
    assert.ok(ref.count > bare.count + 20, `${model}: the template has no tools section`);
    assert.ok(ref.text.includes('get_weather') && refHistory.text.includes('Paris'));
    const r = await ollama.chat({model, messages, tools, stream: false, options: {temperature: 0, num_predict: 2}});
    assert.equal(r.prompt_eval_count, ref.count, `${model}: prompt with tools`);
    const h = await ollama.chat({model, messages: history, tools, stream: false, options: {temperature: 0, num_predict: 2}});
    assert.equal(h.prompt_eval_count, refHistory.count, `${model}: history with a call and its result`);
  }
});

test('a (grammar-forced) Llama 3.1 tool call comes back as message.tool_calls, whole and streamed', async () => {
  const model = 'llama31-tools';
  const messages = [{role: 'user', content: 'Weather in Paris?'}];
  const req = {model, messages, format: kForcedCall, options: {temperature: 0, num_predict: kToolPredict}};
  // Without tools the output is left alone: it is the call's JSON text.
  const plain = await ollama.chat({...req, stream: false});
  assert.equal(JSON.parse(plain.message.content).name, 'get_weather');
  const whole = await ollama.chat({...req, tools: [kWeatherTool], stream: false});
  assert.equal(whole.done_reason, 'stop');
  assert.equal(whole.message.content, '');
  assert.equal(whole.message.tool_calls.length, 1);
  assert.deepEqual(Object.keys(whole.message.tool_calls[0]), ['function']);
  assert.equal(whole.message.tool_calls[0].function.name, 'get_weather');
  assert.ok(['Paris', 'Oslo'].includes(whole.message.tool_calls[0].function.arguments.city));
  let content = '';
  const withCalls = [];
  for await (const part of await ollama.chat({...req, tools: [kWeatherTool], stream: true})) {
    content += part.message.content;
    if (part.message.tool_calls) withCalls.push(part);
  }
  assert.equal(content, '');
  assert.equal(withCalls.length, 1, 'exactly one chunk carries the call');
  assert.equal(withCalls[0].done, false);
  assert.deepEqual(withCalls[0].message.tool_calls, whole.message.tool_calls);
});

test('load and unload: empty prompt, keep_alive 0, /api/ps', async () => {
  const load = await ollama.generate({model: kModel, prompt: '', stream: false});
  assert.equal(load.done_reason, 'load');
  let ps = await ollama.ps();
  assert.ok(ps.models.some((m) => m.name === kModel), JSON.stringify(ps));
  const m = ps.models.find((x) => x.name === kModel);
  assert.equal(m.details.family, 'llama');
  assert.ok(m.size > 0 && Date.parse(m.expires_at) > Date.now());
  const unload = await ollama.generate({model: kModel, prompt: '', keep_alive: 0, stream: false});
  assert.equal(unload.done_reason, 'unload');
  ps = await ollama.ps();
  assert.ok(!ps.models.some((x) => x.name === kModel));
  const chatLoad = await ollama.chat({model: kModel, messages: [], stream: false, keep_alive: '10m'});
  assert.equal(chatLoad.done_reason, 'load');
});

test('/api/embed and /api/embeddings', async () => {
  const e = await ollama.embed({model: kModel, input: ['hello world', 'another text']});
  assert.equal(e.embeddings.length, 2);
  for (const v of e.embeddings) {
    assert.equal(v.length, kEmbdLen);
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < kTolUnitNorm, `norm ${norm}`);
  }
  assert.notDeepEqual(e.embeddings[0], e.embeddings[1]);
  const one = await ollama.embed({model: kModel, input: 'hello world'});
  assert.deepEqual(one.embeddings[0], e.embeddings[0]);
  const legacy = await ollama.embeddings({model: kModel, prompt: 'hello world'});
  assert.deepEqual(legacy.embedding, e.embeddings[0]);
});

test('/api/tags, /api/show, /api/copy, /api/delete', async () => {
  const tags = await ollama.list();
  const t = tags.models.find((m) => m.name === 'tiny:latest');
  assert.ok(t, JSON.stringify(tags));
  assert.equal(t.size, fs.statSync(path.join(modelsDir, 'tiny.gguf')).size);
  assert.match(t.digest, /^[0-9a-f]{64}$/);
  assert.equal(t.details.format, 'gguf');
  assert.equal(t.details.quantization_level, 'Q8_0');
  const show = await ollama.show({model: kModel});
  assert.match(show.template, /start_header_id/);
  assert.equal(show.model_info['general.architecture'], 'llama');
  assert.equal(show.model_info['llama.embedding_length'], kEmbdLen);
  assert.equal(show.details.family, 'llama');
  await ollama.copy({source: kModel, destination: 'tiny-copy:v2'});
  assert.ok(fs.existsSync(path.join(modelsDir, 'tiny-copy-v2.gguf')));
  const copied = await ollama.generate({model: 'tiny-copy:v2', prompt: 'Why is the sky blue?', stream: false, options: kGreedy});
  const orig = await ollama.generate({model: kModel, prompt: 'Why is the sky blue?', stream: false, options: kGreedy});
  assert.equal(copied.response, orig.response);
  await ollama.delete({model: 'tiny-copy:v2'});
  assert.ok(!fs.existsSync(path.join(modelsDir, 'tiny-copy-v2.gguf')));
  await assert.rejects(ollama.delete({model: 'tiny-copy:v2'}), (e) => e.status_code === 404);
});

test('errors: unknown model 404, malformed JSON 400, wrong types 400, huge body 413, long prompt 400', async () => {
  await assert.rejects(ollama.generate({model: 'nope', prompt: 'x', stream: false}), (e) => {
    assert.equal(e.status_code, 404);
    assert.equal(e.error, "model 'nope' not found, try pulling it first");
    return true;
  });
  let r = await server.fetchJson('/api/generate', {body: '{"model": "tiny", "prompt": '});
  assert.equal(r.status, 400);
  assert.equal(typeof r.json.error, 'string');
  r = await server.fetchJson('/api/chat', {body: {model: kModel, messages: 'hi'}});
  assert.equal(r.status, 400);
  assert.match(r.json.error, /messages/);
  r = await server.fetchJson('/api/generate', {body: {model: kModel, prompt: 'x', options: {temperature: 'hot'}}});
  assert.equal(r.status, 400);
  assert.match(r.json.error, /options\.temperature/);
  r = await server.fetchJson('/api/generate', {body: {model: kModel, prompt: 'x', stream: false, options: {...kGreedy, not_an_option: 1}}});
  assert.equal(r.status, 200, 'unknown options are ignored, as Ollama does');
  r = await server.fetchJson('/api/generate', {body: 'x'.repeat(80 << 20)});
  assert.equal(r.status, 413);
  r = await server.fetchJson('/api/generate', {body: {model: kModel, prompt: 'word '.repeat(2000), stream: false}});
  assert.equal(r.status, 400);
  assert.match(r.json.error, /context/);
  // The server is still up after all of that.
  assert.equal((await ollama.generate({model: kModel, prompt: 'ok', stream: false, options: kGreedy})).eval_count, kPredict);
});

test(`${kParallel} simultaneous greedy streams equal ${kParallel} sequential runs`, async () => {
  const prompts = Array.from({length: kParallel}, (_, i) => `Story number ${i}: once upon a time`);
  const sequential = [];
  for (const p of prompts) sequential.push((await streamGenerate(p)).text);
  const parallel = await Promise.all(prompts.map((p) => streamGenerate(p)));
  assert.deepEqual(parallel.map((r) => r.text), sequential);
  for (const r of parallel) assert.equal(r.final.eval_count, kPredict);
});

// Every string, array and number is bounded, so a model that knows nothing must still close
// the object within kJsonPredict tokens.
const kSchema = {
  type: 'object',
  properties: {
    name: {type: 'string', maxLength: 12},
    age: {type: 'integer'},
    ok: {type: 'boolean'},
    tags: {type: 'array', items: {enum: ['a', 'b', 'c']}, maxItems: 3},
    pet: {anyOf: [{type: 'null'}, {type: 'object', properties: {kind: {enum: ['cat', 'dog']}}, required: ['kind']}]},
  },
  required: ['name', 'age', 'ok', 'tags', 'pet'],
};
const kJsonRuns = 50;
const kJsonPredict = 400;

test(`JSON-schema mode: ${kJsonRuns} generations at temperature 1 all parse and validate`, async () => {
  const validate = new Ajv().compile(kSchema);
  const runs = await Promise.all(Array.from({length: kJsonRuns}, (_, i) => ollama.generate({model: kModel,
    prompt: `Describe person ${i} as JSON.`, format: kSchema, stream: false,
    options: {temperature: 1, seed: 1000 + i, num_predict: kJsonPredict}})));
  for (const r of runs) {
    assert.equal(r.done_reason, 'stop', `did not finish: ${r.response.slice(0, 200)}`);
    const v = JSON.parse(r.response);
    assert.ok(validate(v), `${r.response}: ${JSON.stringify(validate.errors)}`);
  }
});

// format "json" bounds nothing, yet the sampler keeps the text completable within num_predict:
// a model that knows nothing still closes its JSON, whatever the budget.
test(`JSON mode: ${kJsonRuns} format "json" generations at temperature 1 all finish and parse`, async () => {
  const runs = await Promise.all(Array.from({length: kJsonRuns}, (_, i) => ollama.chat({model: kModel,
    messages: [{role: 'user', content: `JSON ${i}`}], format: 'json', stream: false,
    options: {temperature: 1, seed: i, num_predict: 8 + (i % 5) * 12}})));
  for (const r of runs) {
    assert.equal(r.done_reason, 'stop', `did not finish: ${r.message.content}`);
    assert.ok(r.eval_count <= 56, `${r.eval_count} tokens`);
    assert.equal(typeof JSON.parse(r.message.content), 'object', r.message.content);
  }
});

test('/metrics is Prometheus text with the counters', async () => {
  const res = await fetch(server.url + '/metrics');
  assert.equal(res.status, 200);
  const text = await res.text();
  for (const name of ['silica_http_requests_total', 'silica_prompt_tokens_total', 'silica_generated_tokens_total',
    'silica_tokens_per_second', 'silica_queue_depth', 'silica_active_sequences', 'silica_loaded_models',
    'silica_model_memory_bytes']) {
    assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'));
  }
  const generated = Number(/^silica_generated_tokens_total (\S+)$/m.exec(text)[1]);
  assert.ok(generated >= kParallel * kPredict * 2);
  // Every generation above has ended: nothing may still count as active.
  // (A response can reach the client a moment before the scheduler's step ends: poll briefly.)
  const t0 = Date.now();
  let active = Number(/^silica_active_sequences (\S+)$/m.exec(text)[1]);
  while (active !== 0 && Date.now() - t0 < kIdleWaitMs) {
    await new Promise((r) => setTimeout(r, 50));
    const again = await (await fetch(server.url + '/metrics')).text();
    active = Number(/^silica_active_sequences (\S+)$/m.exec(again)[1]);
  }
  assert.equal(active, 0);
});

test('a client that aborts mid-stream frees its slot (--parallel 1)', async () => {
  const s = await SilicaServer.start(modelsDir, {args: ['--parallel', '1', '--ctx', '4096']});
  try {
    const client = new Ollama({host: s.url});
    await client.generate({model: kModel, prompt: '', stream: false});  // load first
    const long = await client.generate({model: kModel, prompt: 'Go on forever', stream: true,
      options: {temperature: 0, num_predict: 4000}});
    let chunks = 0;
    for await (const part of long) {
      if (++chunks === 3) {
        long.abort();
        break;
      }
    }
    const other = new Ollama({host: s.url});
    const next = await other.generate({model: kModel, prompt: 'Short', stream: false, options: {temperature: 0, num_predict: 4}});
    assert.equal(next.eval_count, 4);
    // The long request would need thousands of steps; had the short one waited for them, the
    // counter below would say so (counted, not timed).
    const metrics = await (await fetch(s.url + '/metrics')).text();
    const generated = Number(/^silica_generated_tokens_total (\S+)$/m.exec(metrics)[1]);
    assert.ok(generated < 1000, `the aborted request went on generating (${generated} tokens)`);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('a client that hangs up on a non-streamed request frees its slot (--parallel 1)', async () => {
  const s = await SilicaServer.start(modelsDir, {args: ['--parallel', '1', '--ctx', '4096']});
  try {
    const client = new Ollama({host: s.url});
    await client.generate({model: kModel, prompt: '', stream: false});  // load first
    const hangUp = new AbortController();
    const long = fetch(s.url + '/api/generate', {
      method: 'POST', signal: hangUp.signal,
      body: JSON.stringify({model: kModel, prompt: 'Go on forever', stream: false,
        options: {temperature: 0, num_predict: 4000}}),
    }).catch((e) => e);
    // Wait until the long generation is running, then close the connection.
    const t0 = Date.now();
    for (;;) {
      const m = await (await fetch(s.url + '/metrics')).text();
      if (Number(/^silica_active_sequences (\S+)$/m.exec(m)[1]) > 0) break;
      assert.ok(Date.now() - t0 < 30_000, 'the long request never started generating');
      await new Promise((r) => setTimeout(r, 20));
    }
    hangUp.abort();
    assert.equal((await long).name, 'AbortError');
    const next = await client.generate({model: kModel, prompt: 'Short', stream: false,
      options: {temperature: 0, num_predict: 4}});
    assert.equal(next.eval_count, 4);
    const metrics = await (await fetch(s.url + '/metrics')).text();
    const generated = Number(/^silica_generated_tokens_total (\S+)$/m.exec(metrics)[1]);
    assert.ok(generated < 1000, `the abandoned request went on generating (${generated} tokens)`);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('--api-key: requests without the key get 401', async () => {
  const s = await SilicaServer.start(modelsDir, {args: ['--parallel', '1'], env: {SILICA_API_KEY: 'sekret'}});
  try {
    await assert.rejects(new Ollama({host: s.url}).list(), (e) => e.status_code === 401);
    const wrong = new Ollama({host: s.url, headers: {Authorization: 'Bearer nope'}});
    await assert.rejects(wrong.list(), (e) => e.status_code === 401);
    const right = new Ollama({host: s.url, headers: {Authorization: 'Bearer sekret'}});
    assert.ok(Array.isArray((await right.list()).models));
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('CORS: localhost origins by default, --origins adds more', async () => {
  const s = await SilicaServer.start(modelsDir, {args: ['--parallel', '1', '--origins', 'https://example.org']});
  try {
    const pre = await fetch(s.url + '/api/chat', {method: 'OPTIONS', headers: {Origin: 'https://example.org',
      'Access-Control-Request-Method': 'POST'}});
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://example.org');
    const local = await fetch(s.url + '/api/version', {headers: {Origin: 'http://localhost:3000'}});
    assert.equal(local.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    const other = await fetch(s.url + '/api/version', {headers: {Origin: 'https://evil.example'}});
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('SIGTERM ends open streams and exits 0', async () => {
  const s = await SilicaServer.start(modelsDir, {args: ['--parallel', '2']});
  const client = new Ollama({host: s.url});
  const stream = await client.generate({model: kModel, prompt: 'Long', stream: true, options: {temperature: 0, num_predict: 3000}});
  let final;
  let chunks = 0;
  const reading = (async () => {
    for await (const part of stream) {
      if (part.done) final = part;
      else if (++chunks === 2) s.proc.kill('SIGTERM');
    }
  })();
  await reading;
  const {code} = await s.exited;
  assert.equal(code, 0);
  assert.ok(final && final.done, 'the stream got its final object');
  assert.ok(final.eval_count < 3000);
});
