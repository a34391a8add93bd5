// The web UI in a real browser (Debian's chromium through playwright-core) against `silica serve`
// with a generated Llama 3-template test model: streaming, stats, Stop, persistence, export /
// import, markdown, script injection, no foreign hosts, errors; screenshots for the README.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {answerLength, kLongCtx, kScreenshotDir, lastAnswer, launchBrowser, openPage, setOption, startServer, watchLastAnswer} from './lib.mjs';

const kShortAnswer = 24;          // tokens: quick, yet several streamed pieces
// The page repaints once per animation frame, and the tiny test model can write 24 tokens within
// one or two frames: the streaming check asks for enough tokens to span many frames.
const kStreamedAnswer = 400;
const kStatsRe = /^(\d+) tokens · [\d.]+ tokens\/s · \d+ ms to first token$/;
const kAnswerTimeoutMs = 30_000;
const kStillMs = 1_000;           // after Stop the text must not grow for this long
const kMinSteps = 3;              // distinct lengths seen while an answer streams
const kSlowLinkBytesPerS = 8_000; // about 50 streamed lines (tokens) a second

let server;
let browser;
let context;
let page;
let pageErrors;
const requests = [];

before(async () => {
  ({server} = await startServer());
  browser = await launchBrowser();
  context = await browser.newContext({viewport: {width: 1200, height: 800}, acceptDownloads: true});
  context.on('request', (r) => requests.push(r.url()));
  ({page, errors: pageErrors} = await openPage(context, server.url));
  page.on('dialog', (d) => d.accept());
});

after(async () => {
  await browser?.close();
  if (server) await server.stop();
});

async function sendAndWait(text) {
  const before = await page.locator('.msg.assistant').count();
  await page.fill('#prompt', text);
  await page.press('#prompt', 'Enter');
  await page.waitForFunction((n) => {
    const msgs = document.querySelectorAll('.msg.assistant');
    return msgs.length > n && msgs[msgs.length - 1].querySelector('.stats').textContent !== '';
  }, before, {timeout: kAnswerTimeoutMs});
  return (await lastAnswer(page).locator('.stats').textContent()).trim();
}

async function exportJson() {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  return fs.readFileSync(await download.path(), 'utf8');
}

async function importJson(text, name = 'chat.json') {
  await page.setInputFiles('#import-file', {name, mimeType: 'application/json', buffer: Buffer.from(text)});
}

test('/ui/ serves the embedded page with a strict CSP; /ui/defaults.json holds the server defaults', async () => {
  const redirect = await fetch(server.url + '/ui', {redirect: 'manual'});
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), '/ui/');
  const res = await fetch(server.url + '/ui/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
  assert.match(await res.text(), /<title>silica chat<\/title>/);
  assert.equal((await fetch(server.url + '/ui/app.js')).headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal((await fetch(server.url + '/ui/no-such-file.js')).status, 404);
  const d = await (await fetch(server.url + '/ui/defaults.json')).json();
  // Ollama's documented defaults, which silica's /api/chat applies; num_ctx is the --ctx flag.
  assert.deepEqual(d, {temperature: 0.8, top_p: 0.9, top_k: 40, min_p: 0, repeat_penalty: 1.1,
    num_predict: -1, seed: -1, num_ctx: 4096, ui_built: true});
  // API meaning of / is unchanged.
  assert.equal(await (await fetch(server.url + '/')).text(), 'Ollama is running');
});

test('model picker lists the models with size and quantization; settings show the defaults', async () => {
  const labels = await page.locator('#model-select option').allTextContents();
  const tiny = labels.find((l) => l.startsWith('tiny:latest'));
  assert.ok(tiny, `no tiny in ${JSON.stringify(labels)}`);
  assert.match(tiny, /\d+(\.\d)? MB/);
  assert.match(tiny, /Q8_0/);
  await page.click('#toggle-settings');
  assert.equal(await page.getAttribute('#opt-temperature', 'placeholder'), '0.8');
  assert.equal(await page.getAttribute('#opt-top_k', 'placeholder'), '40');
  assert.equal(await page.getAttribute('#opt-num_ctx', 'placeholder'), '4096');
  await page.click('#toggle-settings');
});

test('send: the answer streams in several steps, then the statistics line', async () => {
  await page.selectOption('#model-select', 'tiny:latest');
  await setOption(page, 'num_predict', kStreamedAnswer);
  await setOption(page, 'seed', 7);
  await watchLastAnswer(page);
  const stats = await sendAndWait('Why is the sky blue?');
  const m = kStatsRe.exec(stats);
  assert.ok(m, `stats line: ${JSON.stringify(stats)}`);
  assert.equal(Number(m[1]), kStreamedAnswer);
  const lengths = await page.evaluate(() => window.__lengths);
  assert.ok(lengths.length >= kMinSteps, `answer arrived in ${lengths.length} steps: ${lengths}`);
  assert.equal(await page.locator('.msg.user .content').first().textContent(), 'Why is the sky blue?');
  // Shift+Enter is a new line, not a send.
  await page.fill('#prompt', 'line one');
  await page.press('#prompt', 'Shift+Enter');
  await page.type('#prompt', 'line two');
  assert.equal(await page.inputValue('#prompt'), 'line one\nline two');
  assert.equal(await page.locator('.msg.user').count(), 1);
  await page.fill('#prompt', '');
});

test('Stop mid-answer: the text stops growing, the slot is freed, a new message works at once', async () => {
  // Until a 16k context is full: over 10 s of tokens at the tiny model's 1200 t/s. The page reads
  // the stream through a slow link (Chrome's network emulation), so the answer reaches it at a few
  // dozen tokens a second whatever the server's pace: Stop lands mid-answer even on a loaded host
  // (unthrottled, one CI run's 16k answer reached the page before the click did).
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions',
    {offline: false, latency: 0, downloadThroughput: kSlowLinkBytesPerS, uploadThroughput: -1});
  try {
    await stopMidAnswer();
  } finally {  // the later tests read at full speed, whatever happened here
    await cdp.send('Network.emulateNetworkConditions',
      {offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1});
    await cdp.detach();
  }
  // Back to the default context (the model reloads with it) for the tests after this one.
  await setOption(page, 'num_ctx', '4096');
  await setOption(page, 'num_predict', kShortAnswer);
  assert.match(await sendAndWait('And now a short one.'), kStatsRe);
  await setOption(page, 'num_ctx', '');
});

async function stopMidAnswer() {
  await setOption(page, 'num_predict', '');
  await setOption(page, 'num_ctx', String(kLongCtx));
  await page.fill('#prompt', 'Tell me a very long story.');
  await page.press('#prompt', 'Enter');
  await page.waitForFunction(() => ([...document.querySelectorAll('.msg.assistant .content')].at(-1)?.textContent.length ?? 0) > 40);
  assert.ok(await page.locator('#stop').isVisible() && !(await page.locator('#send').isVisible()));
  await page.click('#stop');
  await page.waitForSelector('#send:not([hidden])');
  assert.ok(await page.locator('#send').isVisible() && !(await page.locator('#stop').isVisible()));
  const stopped = await answerLength(page);
  await page.waitForTimeout(kStillMs);
  assert.equal(await answerLength(page), stopped);
  assert.equal((await lastAnswer(page).locator('.stats').textContent()).trim(), 'Stopped.');
  // The server ended the generation: no active sequence remains.
  let active = -1;
  for (let i = 0; i < 20 && active !== 0; ++i) {
    const metrics = await (await fetch(server.url + '/metrics')).text();
    active = Number(/^silica_active_sequences (\d+)/m.exec(metrics)[1]);
    if (active !== 0) await page.waitForTimeout(100);
  }
  assert.equal(active, 0);
}

test('Regenerate replaces the last answer; Edit puts the last message back for resending', async () => {
  const n = await page.locator('.msg').count();
  await page.click('button:has-text("Regenerate")');
  await page.waitForFunction(() => [...document.querySelectorAll('.msg.assistant .stats')].at(-1)?.textContent.includes('tokens/s'));
  assert.equal(await page.locator('.msg').count(), n);
  await page.click('button:has-text("Edit")');
  assert.equal(await page.inputValue('#prompt'), 'And now a short one.');
  assert.equal(await page.locator('.msg').count(), n - 2);
  assert.match(await sendAndWait('And now a short one, edited.'), kStatsRe);
  assert.equal(await page.locator('.msg').count(), n);
});

test('reload keeps the conversation; JSON export and import give it back unchanged', async () => {
  const texts = await page.locator('.msg .content').allTextContents();
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.deepEqual(await page.locator('.msg .content').allTextContents(), texts);
  assert.equal(await page.locator('#conv-list .conv-open').first().textContent(), 'Why is the sky blue?');
  const exported = await exportJson();
  const conv = JSON.parse(exported).conversation;
  assert.equal(conv.messages.length, texts.length);
  assert.equal(conv.messages[0].content, 'Why is the sky blue?');
  const [md] = await Promise.all([page.waitForEvent('download'), page.click('#export-md')]);
  assert.match(fs.readFileSync(await md.path(), 'utf8'), /^# Why is the sky blue\?\n[\s\S]*## User\n[\s\S]*## Assistant\n/);
  // Delete it, import the file: the same conversation, byte for byte in its next export.
  await page.click('#conv-list li.active button:has-text("Delete")');
  assert.equal(await page.locator('.msg').count(), 0);
  await importJson(exported);
  await page.waitForFunction((n) => document.querySelectorAll('.msg').length === n, texts.length);
  assert.deepEqual(await page.locator('.msg .content').allTextContents(), texts);
  assert.equal(await exportJson(), exported);
});

test('conversations: rename and search', async () => {
  await page.click('#conv-list li.active button:has-text("Rename")');
  await page.fill('#conv-list input', 'Sky questions');
  await page.press('#conv-list input', 'Enter');
  assert.equal(await page.locator('#conv-list .conv-open').first().textContent(), 'Sky questions');
  await page.fill('#search', 'zzz-nothing');
  assert.equal(await page.locator('#conv-list .conv-open').count(), 0);
  await page.fill('#search', 'edited');  // matches message text, not only titles
  assert.equal(await page.locator('#conv-list .conv-open').count(), 1);
  await page.fill('#search', '');
});

const kMarkdownAnswer = [
  'Here is **how** to reverse a list in `Python`:',
  '',
  '```python',
  'def reverse(items):',
  '    return items[::-1]',
  '```',
  '',
  '1. slicing makes a copy',
  '2. `list.reverse()` works in place',
  '',
  '| way | copies |',
  '|-----|--------|',
  '| `[::-1]` | yes |',
  '| `.reverse()` | no |',
].join('\n');

const kHostile = [
  'Not markup: <script>window.__pwned = "script"</script>',
  '<img src="x" onerror="window.__pwned = \'img\'">',
  '[click](javascript:window.__pwned=\'link\')',
  '<iframe src="https://example.com/"></iframe>',
].join('\n\n');

function conversation(title, messages) {
  const t = '2026-01-01T00:00:00.000Z';
  return JSON.stringify({format: 'silica-conversation', version: 1, conversation: {
    id: `test-${title.replace(/\W/g, '')}`, title, model: 'tiny:latest', system: '', options: {}, messages, created: t, updated: t}});
}

test('markdown renders: headings, lists, tables, highlighted code with a copy button', async () => {
  const stats = {eval_count: 61, eval_duration: 1.22e9, prompt_eval_count: 18, prompt_eval_duration: 4.1e7, load_duration: 1.2e7};
  await importJson(conversation('Reverse a list', [
    {role: 'user', content: 'How do I reverse a list in Python?'},
    {role: 'assistant', content: kMarkdownAnswer, model: 'tiny:latest', stats},
  ]));
  await page.waitForSelector('.msg.assistant pre code.hljs');
  const a = lastAnswer(page).locator('.content');
  assert.equal(await a.locator('strong').textContent(), 'how');
  assert.equal(await a.locator('ol li').count(), 2);
  assert.equal(await a.locator('table td').count(), 4);
  assert.ok(await a.locator('pre code .hljs-keyword').count() >= 2, 'python keywords highlighted');
  assert.equal(await a.locator('pre code').evaluate((e) => e.textContent), 'def reverse(items):\n    return items[::-1]\n');
  assert.equal(await a.locator('pre .copy-code').count(), 1);
  assert.equal((await lastAnswer(page).locator('.stats').textContent()).trim(), '61 tokens · 50.0 tokens/s · 53 ms to first token');
});

test('screenshots of a finished conversation, light and dark (docs/screenshots/)', async () => {
  fs.mkdirSync(kScreenshotDir, {recursive: true});
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({colorScheme: scheme});
    const file = path.join(kScreenshotDir, `webui-${scheme}.png`);
    await page.screenshot({path: file});
    assert.ok(fs.statSync(file).size > 10_000, `${file} looks empty`);
  }
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(22, 24, 28)');  // the dark palette's --bg: the theme follows the system
  await page.emulateMedia({colorScheme: 'light'});
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(255, 255, 255)');
});

test('HTML and script in model output (imported) show as text and never run', async () => {
  await importJson(conversation('Hostile', [
    {role: 'user', content: '<b>bold?</b> <script>window.__pwned = "user"</script>'},
    {role: 'assistant', content: kHostile, model: 'tiny:latest'},
  ]));
  await page.waitForFunction(() => document.querySelector('#conv-list li.active')?.textContent.includes('Hostile'));
  const a = lastAnswer(page).locator('.content');
  assert.match(await a.textContent(), /<script>window.__pwned = "script"<\/script>/);
  assert.match(await a.textContent(), /<img src="x" onerror=/);
  for (const tag of ['script', 'img', 'iframe', 'a[href^="javascript"]']) {
    assert.equal(await page.locator(`.msg .content ${tag}`).count(), 0, `a live <${tag}> in a message`);
  }
  assert.equal(await page.locator('.msg.user .content').textContent(), '<b>bold?</b> <script>window.__pwned = "user"</script>');
  await page.locator('.msg.assistant .content').last().locator('text=click').click().catch(() => {});
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
});

test('the page talks to no other host', async () => {
  const origin = new URL(server.url).origin;
  const foreign = requests.filter((u) => !u.startsWith(origin + '/') && !/^(data|blob):/.test(u));
  assert.deepEqual(foreign, []);
  assert.ok(requests.some((u) => u.endsWith('/ui/app.js')) && requests.some((u) => u.endsWith('/api/chat')));
  assert.deepEqual(pageErrors, []);
});

test('models panel: installed and loaded models; pull explains a missing /api/pull', async () => {
  await page.click('#models-panel summary');
  await page.waitForFunction(() => document.getElementById('ps-list').textContent.includes('memory'));
  assert.match(await page.locator('#ps-list').textContent(), /tiny:latest · [\d.]+ [KMG]B memory · ctx 4096/);
  assert.match(await page.locator('#model-list').textContent(), /tiny:latest · [\d.]+ MB/);
  await page.fill('#pull-name', 'some-model:latest');
  await page.click('#pull-button');
  await page.waitForFunction(() => /Pull(ed| failed)/.test(document.getElementById('pull-status').textContent));
  const pullStatus = await page.locator('#pull-status').textContent();
  if ((await fetch(server.url + '/api/pull', {method: 'POST', body: '{}'})).status === 404) {
    assert.match(pullStatus, /cannot pull models yet/);
  } else {
    assert.match(pullStatus, /Pull failed: .+|Pulled/);  // the store answers; no network here
  }
  await page.click('#models-panel summary');
});

test('a model that fails to load gives a clear message', async () => {
  await page.click('#new-chat');
  await page.selectOption('#model-select', 'broken:latest');
  await page.fill('#prompt', 'hello');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#banner:not([hidden])');
  assert.match(await page.locator('#banner').textContent(), /The model broken:latest could not answer: .+/);
  await page.selectOption('#model-select', 'tiny:latest');
});

// /api/chat answered from pieces the test hands over one at a time (window.__piece(text), then
// window.__piece(null) for the end): a streaming answer with exactly the markdown the test wants.
function scriptedChat() {
  const realFetch = window.fetch;
  window.fetch = async (route, init) => {
    if (route !== '/api/chat') return realFetch(route, init);
    const encoder = new TextEncoder();
    const line = (obj) => encoder.encode(JSON.stringify(obj) + '\n');
    const body = new ReadableStream({
      async pull(controller) {
        const piece = await new Promise((resolve) => (window.__piece = resolve));
        if (piece === null) {
          controller.enqueue(line({done: true, eval_count: 3, eval_duration: 1e9}));
          controller.close();
        } else {
          controller.enqueue(line({message: {role: 'assistant', content: piece}, done: false}));
        }
      },
    });
    return new Response(body, {status: 200, headers: {'content-type': 'application/x-ndjson'}});
  };
}

test('a streaming answer keeps its finished blocks: a selection in them survives, a fence stays whole', async () => {
  const ctx = await browser.newContext({viewport: {width: 1200, height: 800}});
  await ctx.addInitScript(scriptedChat);
  const {page: p, errors} = await openPage(ctx, server.url);
  await p.selectOption('#model-select', 'tiny:latest');
  await p.fill('#prompt', 'Show me some code.');
  await p.press('#prompt', 'Enter');
  const content = p.locator('.msg.assistant .content').last();
  const give = async (piece, shows) => {
    await p.waitForFunction(() => typeof window.__piece === 'function');
    await p.evaluate((x) => {
      const resolve = window.__piece;
      window.__piece = null;
      resolve(x);
    }, piece);
    await p.waitForFunction((s) => [...document.querySelectorAll('.msg.assistant .content')].at(-1).textContent.includes(s), shows);
  };
  await give('Here is **the** code:\n\n```js\nconst a = 1;\n\n', 'const a = 1;');
  // The person selects the first paragraph while the answer is still being written.
  await content.locator('p').first().evaluate((e) => window.getSelection().selectAllChildren(e));
  await give('const b = 2;\n```\n\nIt adds', 'It adds');
  await give(' nothing.\n\nThe end.\n', 'The end.');
  assert.equal(await p.evaluate(() => window.getSelection().toString()), 'Here is the code:');
  assert.equal(await content.locator('pre').count(), 1, 'the fence with a blank line inside is one block');
  assert.equal(await content.locator('pre code').evaluate((e) => e.textContent), 'const a = 1;\n\nconst b = 2;\n');
  assert.equal(await content.locator('pre .copy-code').count(), 1);
  assert.deepEqual(await content.locator('p').allTextContents(), ['Here is the code:', 'It adds nothing.', 'The end.']);
  await p.evaluate(() => window.__piece(null));
  await p.waitForFunction(() => [...document.querySelectorAll('.msg.assistant .stats')].at(-1).textContent !== '');
  assert.deepEqual(await content.locator('p').allTextContents(), ['Here is the code:', 'It adds nothing.', 'The end.']);
  assert.equal(await content.locator('pre .copy-code').count(), 1);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('phone-sized layout: the side panel opens from the menu button and keyboard focus moves', async () => {
  const phone = await browser.newContext({viewport: {width: 390, height: 844}, isMobile: true});
  const {page: p} = await openPage(phone, server.url);
  const box = await p.locator('#sidebar').boundingBox();
  assert.ok(box.x + box.width <= 0, 'side panel hidden off screen');
  assert.ok(await p.locator('#open-sidebar').isVisible());
  await p.click('#open-sidebar');
  await p.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().x >= 0);
  assert.equal(await p.evaluate(() => document.activeElement.id), 'new-chat');
  await p.click('#close-sidebar');
  await p.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().right <= 0);
  await p.focus('#prompt');
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'send');
  fs.mkdirSync(kScreenshotDir, {recursive: true});
  await p.screenshot({path: path.join(kScreenshotDir, 'webui-phone.png')});
  await phone.close();
});

test('server down: a clear message instead of a silent failure', async () => {
  await server.stop();
  await page.fill('#prompt', 'anyone there?');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#banner:not([hidden])');
  assert.match(await page.locator('#banner').textContent(), /Cannot reach the silica server/);
});
