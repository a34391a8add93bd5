// `silica serve` through the official openai client (6.30.1): chat and text completions,
// streaming with usage, models, embeddings, errors; the same engine as the Ollama routes.
import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import OpenAI from 'openai';
import {Ollama} from 'ollama';

import {makeModelsDir, referencePromptCount, SilicaServer} from './lib/server.mjs';

const kModel = 'tiny';
const kMaxTokens = 10;
const kKey = 'test-key';
const kEmbdLen = 64;
const kTolEmbedding = 1e-6;  // base64 float32 vs JSON doubles of the same float32 values

let server;
let openai;

before(async () => {
  const dir = await makeModelsDir('openai-api', {tools: true});
  // Before any connection is open: the reference tokenizer blocks the event loop for seconds.
  kRefs.objectArgs = await referencePromptCount(kToolModel, {messages: kHfHistory(kCallArgs), tools: [kWeatherTool]});
  kRefs.stringArgs = await referencePromptCount(kToolModel, {messages: kHfHistory(kCallArgsText), tools: [kWeatherTool]});
  server = await SilicaServer.start(dir, {args: ['--parallel', '4', '--ctx', '1024', '--api-key', kKey]});
  openai = new OpenAI({baseURL: server.url + '/v1', apiKey: kKey, maxRetries: 0});
});

after(async () => {
  if (server) assert.equal(await server.stop(), 0);
});

const kMessages = [{role: 'system', content: 'Be brief.'}, {role: 'user', content: 'Say hello.'}];

test('chat completions: whole and streamed agree; usage adds up', async () => {
  const whole = await openai.chat.completions.create({model: kModel, messages: kMessages, temperature: 0, max_tokens: kMaxTokens});
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.choices.length, 1);
  assert.equal(whole.choices[0].message.role, 'assistant');
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage.completion_tokens, kMaxTokens);
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
  const stream = await openai.chat.completions.create({model: kModel, messages: kMessages, temperature: 0,
    max_completion_tokens: kMaxTokens, stream: true, stream_options: {include_usage: true}});
  let text = '';
  let finish;
  let usage;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, 'length');
  assert.deepEqual(usage, whole.usage);
});

test('the OpenAI and Ollama routes run the same generation', async () => {
  const ollama = new Ollama({host: server.url, headers: {Authorization: `Bearer ${kKey}`}});
  const o = await ollama.chat({model: kModel, messages: kMessages, stream: false,
    options: {temperature: 0, num_predict: kMaxTokens, repeat_penalty: 1}});
  const a = await openai.chat.completions.create({model: kModel, messages: kMessages, temperature: 0, max_tokens: kMaxTokens});
  assert.equal(a.choices[0].message.content, o.message.content);
});

test('text completions: whole and streamed; stop; seed', async () => {
  const whole = await openai.completions.create({model: kModel, prompt: 'Once upon a time', temperature: 0, max_tokens: kMaxTokens});
  assert.equal(whole.object, 'text_completion');
  assert.equal(whole.usage.completion_tokens, kMaxTokens);
  let text = '';
  for await (const chunk of await openai.completions.create({model: kModel, prompt: 'Once upon a time', temperature: 0,
    max_tokens: kMaxTokens, stream: true})) {
    text += chunk.choices[0]?.text ?? '';
  }
  assert.equal(text, whole.choices[0].text);
  const a = await openai.completions.create({model: kModel, prompt: 'Seed', temperature: 1, seed: 7, max_tokens: 6});
  const b = await openai.completions.create({model: kModel, prompt: 'Seed', temperature: 1, seed: 7, max_tokens: 6});
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test('tools and assistant tool_calls with string arguments are accepted', async () => {
  const tools = [{type: 'function', function: {name: 'get_weather', parameters: {type: 'object',
    properties: {city: {type: 'string'}}}}}];
  const messages = [...kMessages,
    {role: 'assistant', content: null, tool_calls: [{id: 'call_1', type: 'function',
      function: {name: 'get_weather', arguments: '{"city":"Paris"}'}}]},
    {role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}'}];
  const r = await openai.chat.completions.create({model: kModel, messages, tools, temperature: 0, max_tokens: 4});
  assert.equal(r.choices.length, 1);
});

// Meta's Llama 3.1 template writes an assistant call's arguments with `| tojson`: a JSON string
// left unparsed would render as a quoted string, not as the object the model was trained on.
const kToolModel = 'llama31-tools';
const kWeatherTool = {type: 'function', function: {name: 'get_weather', description: 'Weather in a city',
  parameters: {type: 'object', properties: {city: {type: 'string'}}, required: ['city']}}};
const kCallArgs = {city: 'Paris', days: 2};
const kCallArgsText = '{"city":"Paris","days":2}';
const kToolQuestion = [{role: 'user', content: 'Weather in Paris?'}];
const kHfHistory = (args) => [...kToolQuestion,
  {role: 'assistant', content: null, tool_calls: [{id: 'call_1', type: 'function', function: {name: 'get_weather', arguments: args}}]},
  {role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}'}];
const kRefs = {};
// Forces the Llama 3.1 call shape {"name": ..., "parameters": {...}}: a random model emits a call.
const kForcedCall = {type: 'object', properties: {name: {enum: ['get_weather']},
  parameters: {type: 'object', properties: {city: {enum: ['Paris', 'Oslo']}}, required: ['city'],
    additionalProperties: false}}, required: ['name', 'parameters'], additionalProperties: false};
const kToolMaxTokens = 120;

test('string tool-call arguments reach the template as objects (count equals the reference)', async () => {
  assert.notEqual(kRefs.objectArgs.count, kRefs.stringArgs.count, 'the check must tell the two apart');
  const r = await openai.chat.completions.create({model: kToolModel, messages: kHfHistory(kCallArgsText),
    tools: [kWeatherTool], temperature: 0, max_tokens: 2});
  assert.equal(r.usage.prompt_tokens, kRefs.objectArgs.count);
});

test('a (grammar-forced) call returns as tool_calls with string arguments, whole and streamed', async () => {
  const req = {model: kToolModel, messages: kToolQuestion, tools: [kWeatherTool], temperature: 0,
    max_tokens: kToolMaxTokens, response_format: {type: 'json_schema', json_schema: {name: 'call', schema: kForcedCall}}};
  const whole = await openai.chat.completions.create(req);
  const choice = whole.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, null);
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.match(call.id, /^call_/);
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(typeof call.function.arguments, 'string');
  assert.ok(['Paris', 'Oslo'].includes(JSON.parse(call.function.arguments).city), call.function.arguments);
  // Streamed: the official client's accumulator rebuilds the same call from the deltas.
  const stream = openai.chat.completions.stream(req);
  const deltas = [];
  for await (const chunk of stream) for (const c of chunk.choices) deltas.push(...(c.delta.tool_calls ?? []));
  const final = await stream.finalChatCompletion();
  assert.equal(deltas.length, 1);
  assert.equal(deltas[0].index, 0);
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  const streamed = final.choices[0].message.tool_calls;
  assert.equal(streamed.length, 1);
  assert.equal(streamed[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(streamed[0].function.arguments), JSON.parse(call.function.arguments));
});

test('response_format json_schema: the output validates', async () => {
  const schema = {type: 'object', properties: {answer: {enum: ['yes', 'no']}, score: {type: 'integer'}},
    required: ['answer', 'score']};
  for (let i = 0; i < 5; ++i) {
    const r = await openai.chat.completions.create({model: kModel, messages: kMessages, temperature: 1, seed: i,
      max_tokens: 200, response_format: {type: 'json_schema', json_schema: {name: 'verdict', schema}}});
    const v = JSON.parse(r.choices[0].message.content);
    assert.ok(['yes', 'no'].includes(v.answer) && Number.isInteger(v.score), r.choices[0].message.content);
  }
  await assert.rejects(openai.chat.completions.create({model: kModel, messages: kMessages,
    response_format: {type: 'json_schema', json_schema: {name: 'x', schema: {type: 'object', patternProperties: {}}}}}),
      (e) => e instanceof OpenAI.BadRequestError);
});

test('models: list, retrieve, unknown is 404', async () => {
  const list = await openai.models.list();
  assert.ok(list.data.some((m) => m.id === 'tiny:latest'), JSON.stringify(list.data));
  const m = await openai.models.retrieve('tiny');
  assert.equal(m.id, 'tiny');
  assert.equal(m.object, 'model');
  await assert.rejects(openai.models.retrieve('nope'), (e) => e instanceof OpenAI.NotFoundError);
});

test('embeddings: base64 (the client default) and float agree', async () => {
  const b64 = await openai.embeddings.create({model: kModel, input: ['hello world', 'bye']});
  assert.equal(b64.data.length, 2);
  assert.equal(b64.data[0].embedding.length, kEmbdLen);
  const flt = await openai.embeddings.create({model: kModel, input: 'hello world', encoding_format: 'float'});
  const x = b64.data[0].embedding;
  const y = flt.data[0].embedding;
  for (let i = 0; i < x.length; ++i) assert.ok(Math.abs(x[i] - y[i]) < kTolEmbedding);
  assert.ok(b64.usage.prompt_tokens > 0);
});

test('errors: n=2, bad types, malformed JSON 400; unknown model 404; wrong key 401', async () => {
  await assert.rejects(openai.chat.completions.create({model: kModel, messages: kMessages, n: 2}),
      (e) => e instanceof OpenAI.BadRequestError && /n must be 1/.test(e.message));
  await assert.rejects(openai.chat.completions.create({model: kModel, messages: kMessages, temperature: 'hot'}),
      (e) => e instanceof OpenAI.BadRequestError && /temperature/.test(e.message));
  await assert.rejects(openai.chat.completions.create({model: 'nope', messages: kMessages}),
      (e) => e instanceof OpenAI.NotFoundError && e.error?.type === 'invalid_request_error');
  const r = await server.fetchJson('/v1/chat/completions', {body: '{"model":', headers: {Authorization: `Bearer ${kKey}`}});
  assert.equal(r.status, 400);
  assert.equal(typeof r.json.error.message, 'string');
  const bad = new OpenAI({baseURL: server.url + '/v1', apiKey: 'wrong', maxRetries: 0});
  await assert.rejects(bad.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
});
