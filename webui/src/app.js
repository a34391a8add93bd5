// The chat page: conversations, streaming answers, per-chat settings; wires the DOM in index.html.
import {chat, serverDefaults} from './api.js';
import {renderMarkdown} from './markdown.js';
import {modelLabel, ModelsPanel} from './models.js';
import * as store from './store.js';
import {StreamingView} from './streaming.js';

const $ = (id) => document.getElementById(id);

// Per-conversation settings: [key in Ollama's options, label, input step].
const kOptionFields = [
  ['temperature', 'Temperature', 'any'],
  ['top_p', 'Top p', 'any'],
  ['top_k', 'Top k', '1'],
  ['min_p', 'Min p', 'any'],
  ['repeat_penalty', 'Repeat penalty', 'any'],
  ['num_predict', 'Max tokens', '1'],
  ['seed', 'Seed', '1'],
  ['num_ctx', 'Context length', '1'],
];

const state = {
  convs: store.loadAll(),
  current: null,   // the open conversation
  models: [],
  defaults: {},
  abort: null,     // AbortController of the answer being generated
  renderQueued: false,
  streaming: null,   // the assistant message being written
  stream: null,      // its StreamingView
  nextPaint: 0,      // performance.now() before which it is not repainted
};

function showBanner(text) {
  const b = $('banner');
  b.textContent = text;
  b.hidden = !text;
}

function save() {
  state.current.updated = new Date().toISOString();
  if (!state.convs.includes(state.current)) state.convs.push(state.current);
  store.saveAll(state.convs);
}

// ---- conversation list ----

function renderConvList() {
  const ul = $('conv-list');
  ul.replaceChildren();
  const query = $('search').value;
  const shown = state.convs.filter((c) => store.matches(c, query))
                    .sort((a, b) => b.updated.localeCompare(a.updated));
  for (const c of shown) ul.append(convItem(c));
  if (shown.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = query ? 'No conversation matches.' : 'No saved conversations yet.';
    ul.append(li);
  }
}

function smallButton(text, label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'conv-action';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

function convItem(c) {
  const li = document.createElement('li');
  if (c === state.current) li.className = 'active';
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'conv-open';
  open.textContent = c.title;
  open.title = c.title;
  if (c === state.current) open.setAttribute('aria-current', 'true');
  open.addEventListener('click', () => openConversation(c));
  li.append(open,
      smallButton('Rename', `Rename ${c.title}`, () => startRename(li, c)),
      smallButton('Delete', `Delete ${c.title}`, () => deleteConversation(c)));
  return li;
}

function startRename(li, c) {
  const input = document.createElement('input');
  input.value = c.title;
  input.setAttribute('aria-label', 'New title');
  li.replaceChildren(input);
  input.focus();
  input.select();
  let done = false;
  const finish = (keep) => {
    if (done) return;
    done = true;
    if (keep && input.value.trim()) {
      c.title = input.value.trim();
      store.saveAll(state.convs);
    }
    renderConvList();
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') finish(true);
    if (e.key === 'Escape') finish(false);
  });
  input.addEventListener('blur', () => finish(true));
}

function deleteConversation(c) {
  if (!confirm(`Delete the conversation "${c.title}"?`)) return;
  state.convs = state.convs.filter((x) => x !== c);
  store.saveAll(state.convs);
  if (state.current === c) newConversation();
  renderConvList();
}

function openConversation(c) {
  if (state.abort) stopAnswer();
  state.current = c;
  $('system-prompt').value = c.system;
  renderOptions();
  selectModel(c.model);
  renderMessages();
  renderConvList();
  document.getElementById('app').classList.remove('sidebar-open');
}

function newConversation() {
  openConversation(store.createConversation($('model-select').value));
  $('prompt').focus();
}

// ---- models ----

function selectModel(name) {
  const sel = $('model-select');
  if (name && state.models.some((m) => m.name === name)) sel.value = name;
  if (state.current && !state.current.model) state.current.model = sel.value;
}

function renderModelSelect(models) {
  state.models = models;
  const sel = $('model-select');
  sel.replaceChildren();
  for (const m of models) sel.append(new Option(modelLabel(m), m.name));
  if (models.length === 0) sel.append(new Option('No models: add a .gguf to the models folder', ''));
  selectModel(state.current?.model);
}

// ---- settings ----

function renderOptions() {
  const grid = $('options-grid');
  grid.replaceChildren();
  for (const [key, label, step] of kOptionFields) {
    const id = `opt-${key}`;
    const wrap = document.createElement('div');
    const l = document.createElement('label');
    l.htmlFor = id;
    l.className = 'field-label';
    l.textContent = label;
    const input = document.createElement('input');
    input.id = id;
    input.type = 'number';
    input.step = step;
    input.dataset.key = key;
    const def = state.defaults[key];
    input.placeholder = def === undefined ? 'server default' : String(def);
    const v = state.current?.options?.[key];
    input.value = v === undefined ? '' : String(v);
    input.addEventListener('change', () => {
      const n = Number(input.value);
      if (input.value === '' || !Number.isFinite(n)) delete state.current.options[key];
      else state.current.options[key] = n;
      save();
    });
    wrap.append(l, input);
    grid.append(wrap);
  }
}

// ---- messages ----

function statsText(m) {
  if (m.stopped) return 'Stopped.';
  const s = m.stats;
  if (!s) return '';
  const tps = s.eval_duration > 0 ? s.eval_count / (s.eval_duration / 1e9) : 0;
  // The first token comes after the model load and the prompt's evaluation.
  const ttftMs = ((s.load_duration ?? 0) + (s.prompt_eval_duration ?? 0)) / 1e6;
  return `${s.eval_count} tokens · ${tps.toFixed(1)} tokens/s · ${ttftMs.toFixed(0)} ms to first token`;
}

function messageElement(m, index) {
  const div = document.createElement('div');
  div.className = `msg ${m.role}${m.error ? ' error' : ''}`;
  div.dataset.index = String(index);
  const role = document.createElement('div');
  role.className = 'role';
  role.textContent = m.role === 'user' ? 'You' : (m.model || 'Assistant');
  const content = document.createElement('div');
  content.className = 'content';
  fillContent(content, m);
  div.append(role, content);
  if (m.role === 'assistant') {
    const stats = document.createElement('div');
    stats.className = 'stats';
    stats.textContent = statsText(m);
    div.append(stats);
  }
  return div;
}

function fillContent(el, m) {
  if (m.error) {
    el.textContent = m.content ? `${m.content}\n\n[${m.error}]` : m.error;
  } else if (m.role === 'assistant') {
    el.replaceChildren(renderMarkdown(m.content));
  } else {
    el.textContent = m.content;
  }
}

function actionButton(text, label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

function renderMessages() {
  const box = $('messages');
  box.replaceChildren();
  const msgs = state.current.messages;
  if (msgs.length === 0) {
    const p = document.createElement('p');
    p.className = 'empty-hint';
    p.textContent = 'Choose a model and send a message.';
    box.append(p);
  }
  msgs.forEach((m, i) => box.append(messageElement(m, i)));
  if (!state.abort && msgs.length > 0) addLastActions(box, msgs);
  box.scrollTop = box.scrollHeight;
}

// Regenerate the last answer; edit and resend the last question.
function addLastActions(box, msgs) {
  const lastUser = msgs.map((m) => m.role).lastIndexOf('user');
  const last = msgs.length - 1;
  const actions = document.createElement('div');
  actions.className = 'actions';
  if (msgs[last].role === 'assistant' && lastUser >= 0) {
    actions.append(actionButton('Regenerate', 'Regenerate the last answer', regenerate));
  }
  if (lastUser >= 0) actions.append(actionButton('Edit', 'Edit and resend the last message', () => editLast(lastUser)));
  box.lastElementChild.append(actions);
}

// Repaints the answer being written at most once a frame, and backs off while repaints are slow
// (one long block still open): the page keeps three quarters of its time for the person, so a
// Stop click lands however fast the model writes.
function updateStreaming(m) {
  if (state.renderQueued) return;
  state.renderQueued = true;
  const paint = () => requestAnimationFrame(() => {
    state.renderQueued = false;
    // The answer may have ended, or another conversation may be open.
    if (state.streaming !== m || state.current.messages.at(-1) !== m) return;
    const el = $('messages').lastElementChild?.querySelector('.content');
    if (!el) return;
    const start = performance.now();
    if (state.stream?.el !== el) state.stream = new StreamingView(el);
    state.stream.update(m.content);
    const box = $('messages');
    box.scrollTop = box.scrollHeight;
    const end = performance.now();
    state.nextPaint = end + 3 * (end - start);
  });
  const wait = state.nextPaint - performance.now();
  if (wait > 0) {
    setTimeout(paint, wait);
  } else {
    paint();
  }
}

function apiMessages(conv) {
  const out = conv.system ? [{role: 'system', content: conv.system}] : [];
  for (const m of conv.messages) {
    if (!m.error && m.content) out.push({role: m.role, content: m.content});
  }
  return out;
}

function setGenerating(on) {
  $('send').hidden = on;
  $('stop').hidden = !on;
}

async function runAnswer() {
  const conv = state.current;
  const model = $('model-select').value;
  if (!model) return showBanner('Choose a model first (the server lists none?).');
  conv.model = model;
  const history = apiMessages(conv);
  const m = {role: 'assistant', content: '', model};
  conv.messages.push(m);
  state.abort = new AbortController();
  state.streaming = m;
  setGenerating(true);
  renderMessages();
  showBanner('');
  try {
    const final = await chat({model, messages: history, options: conv.options}, (delta) => {
      m.content += delta;
      updateStreaming(m);
    }, state.abort.signal);
    m.stats = {};
    for (const k of ['eval_count', 'eval_duration', 'prompt_eval_count', 'prompt_eval_duration',
      'load_duration', 'total_duration', 'done_reason']) {
      if (final[k] !== undefined) m.stats[k] = final[k];
    }
  } catch (e) {
    if (e.name === 'AbortError') {
      m.stopped = true;
    } else {
      m.error = e.status === 0 ? e.message : `The model ${model} could not answer: ${e.message}`;
      showBanner(m.error);
    }
  } finally {
    state.abort = null;
    state.streaming = null;
    state.stream = null;
    setGenerating(false);
    if (conv.messages.includes(m)) save();
    if (state.current === conv) renderMessages();
    renderConvList();
  }
}

function stopAnswer() {
  state.abort?.abort();
}

function send() {
  const text = $('prompt').value;
  if (!text.trim() || state.abort) return;
  const conv = state.current;
  if (conv.messages.length === 0 && conv.title === 'New chat') conv.title = text.trim().slice(0, 48);
  conv.messages.push({role: 'user', content: text});
  $('prompt').value = '';
  save();
  runAnswer();
}

function regenerate() {
  const msgs = state.current.messages;
  if (msgs.at(-1)?.role === 'assistant') msgs.pop();
  runAnswer();
}

function editLast(index) {
  const msgs = state.current.messages;
  $('prompt').value = msgs[index].content;
  msgs.splice(index);
  save();
  renderMessages();
  $('prompt').focus();
}

// ---- import / export ----

function exportCurrent(kind) {
  const c = state.current;
  if (kind === 'json') store.download(`${store.fileStem(c)}.json`, store.toJson(c), 'application/json');
  else store.download(`${store.fileStem(c)}.md`, store.toMarkdown(c), 'text/markdown');
}

async function importFile(file) {
  try {
    const convs = store.fromJson(await file.text());
    for (const c of convs) {
      if (state.convs.some((x) => x.id === c.id)) c.id = store.newId();
      state.convs.push(c);
    }
    store.saveAll(state.convs);
    openConversation(convs.at(-1));
    showBanner('');
  } catch (e) {
    showBanner(`Cannot import ${file.name}: ${e.message}`);
  }
}

// ---- wiring ----

function wire() {
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && state.abort) {
      stopAnswer();
    }
  });
  $('stop').addEventListener('click', stopAnswer);
  $('new-chat').addEventListener('click', newConversation);
  $('search').addEventListener('input', renderConvList);
  $('model-select').addEventListener('change', () => {
    state.current.model = $('model-select').value;
    if (state.current.messages.length) save();
  });
  $('system-prompt').addEventListener('change', () => {
    state.current.system = $('system-prompt').value;
    save();
  });
  $('toggle-settings').addEventListener('click', () => {
    const s = $('settings');
    s.hidden = !s.hidden;
    $('toggle-settings').setAttribute('aria-expanded', String(!s.hidden));
  });
  $('export-json').addEventListener('click', () => exportCurrent('json'));
  $('export-md').addEventListener('click', () => exportCurrent('md'));
  $('import-file').addEventListener('change', (e) => {
    const f = e.target.files?.[0];
    if (f) importFile(f);
    e.target.value = '';
  });
  const app = $('app');
  $('open-sidebar').addEventListener('click', () => {
    app.classList.add('sidebar-open');
    $('open-sidebar').setAttribute('aria-expanded', 'true');
    $('new-chat').focus();
  });
  $('close-sidebar').addEventListener('click', () => {
    app.classList.remove('sidebar-open');
    $('open-sidebar').setAttribute('aria-expanded', 'false');
    $('open-sidebar').focus();
  });
}

async function start() {
  wire();
  const panel = new ModelsPanel({onError: showBanner, onChange: renderModelSelect});
  const latest = [...state.convs].sort((a, b) => b.updated.localeCompare(a.updated))[0];
  openConversation(latest ?? store.createConversation());
  try {
    state.defaults = await serverDefaults();
    renderOptions();
    await panel.refresh();
    selectModel(state.current.model);
  } catch (e) {
    showBanner(e.message);
  }
  document.body.dataset.ready = 'true';  // lets tests (and people) know the first load finished
}

start();
