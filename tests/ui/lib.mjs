// Shared setup of the web UI tests: models folder, `silica serve`, Debian's chromium via
// playwright-core, and helpers that read the page the way a person sees it.
import fs from 'node:fs';
import path from 'node:path';

import {chromium} from 'playwright-core';

import {makeChatModel, SilicaServer} from '../peers/lib/server.mjs';
import {makeScratchDir} from '../peers/lib/silica_env.mjs';

export const kChromium = process.env.SILICA_CHROMIUM || '/usr/bin/chromium';
export const kScreenshotDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../docs/screenshots');

export const kLongCtx = 16384;

// tiny: the chat model; broken: a .gguf that cannot load (for the error message).
export async function startServer() {
  const dir = makeScratchDir('ui');
  // Trained for 16k tokens, which the Stop test's endless answer asks for: four times the race
  // margin of the server's default context (4096, unchanged). (A 64k answer once grew past 370k
  // characters while the page re-rendered all of it every frame, and a CI run's Stop never
  // landed; the page now renders only the open block and backs off, webui/src/streaming.js.)
  await makeChatModel(path.join(dir, 'tiny.gguf'), {ctx: kLongCtx});
  fs.writeFileSync(path.join(dir, 'broken.gguf'), 'GGUF but not really a model');
  const server = await SilicaServer.start(dir, {args: ['--ctx', '4096', '--parallel', '2']});
  return {dir, server};
}

export async function launchBrowser() {
  if (!fs.existsSync(kChromium)) {
    throw new Error(`no chromium at ${kChromium}: apt-get install -y chromium (scripts/setup.sh), or set SILICA_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: kChromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

// Opens /ui/ and waits until the first load (models, defaults) finished.
export async function openPage(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url + '/ui/');
  await page.waitForSelector('body[data-ready="true"]');
  return {page, errors};
}

export async function setOption(page, key, value) {
  if (await page.locator('#settings').isHidden()) await page.click('#toggle-settings');
  await page.fill(`#opt-${key}`, String(value));
  await page.locator(`#opt-${key}`).dispatchEvent('change');
}

// Lengths the last assistant message's text went through while it streamed.
export async function watchLastAnswer(page) {
  await page.evaluate(() => {
    window.__lengths = [];
    const box = document.getElementById('messages');
    new MutationObserver(() => {
      const last = [...box.querySelectorAll('.msg.assistant .content')].at(-1);
      const n = last ? last.textContent.length : 0;
      if (n > 0 && window.__lengths.at(-1) !== n) window.__lengths.push(n);
    }).observe(box, {childList: true, subtree: true, characterData: true});
  });
}

export const lastAnswer = (page) => page.locator('.msg.assistant').last();
export const answerLength = (page) => lastAnswer(page).locator('.content').evaluate((e) => e.textContent.length);
