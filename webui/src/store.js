// Conversations kept in the browser (localStorage): CRUD, search, export (Markdown / JSON), import.

const kKey = 'silica.conversations.v1';
export const kExportFormat = 'silica-conversation';

export function loadAll() {
  try {
    const list = JSON.parse(localStorage.getItem(kKey) ?? '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

export function saveAll(list) {
  localStorage.setItem(kKey, JSON.stringify(list));
}

export function newId() {
  return `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

export function createConversation(model = '') {
  const now = new Date().toISOString();
  return {id: newId(), title: 'New chat', model, system: '', options: {}, messages: [], created: now, updated: now};
}

export function matches(conv, query) {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  if (conv.title.toLowerCase().includes(q)) return true;
  return conv.messages.some((m) => m.content.toLowerCase().includes(q));
}

export function toJson(conv) {
  return JSON.stringify({format: kExportFormat, version: 1, conversation: conv}, null, 2) + '\n';
}

function fence(text) {
  // A fence longer than any backtick run inside keeps code blocks in the text intact.
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  return '`'.repeat(longest + 1);
}

export function toMarkdown(conv) {
  let out = `# ${conv.title}\n\n`;
  if (conv.model) out += `Model: ${conv.model}\n\n`;
  if (conv.system) out += `## System\n\n${conv.system}\n\n`;
  for (const m of conv.messages) {
    out += `## ${m.role === 'user' ? 'User' : 'Assistant'}\n\n`;
    out += m.role === 'user' ? `${fence(m.content)}text\n${m.content}\n${fence(m.content)}\n\n` : `${m.content}\n\n`;
  }
  return out;
}

function validMessage(m) {
  return m && typeof m === 'object' && ['user', 'assistant', 'system'].includes(m.role) &&
      typeof m.content === 'string';
}

// Parses an exported file (one conversation, or a list of them); throws with a reason.
export function fromJson(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON: ${e.message}`);
  }
  const convs = Array.isArray(data) ? data.map((d) => d.conversation ?? d) : [data.conversation ?? data];
  for (const c of convs) {
    if (!c || typeof c !== 'object' || !Array.isArray(c.messages)) {
      throw new Error('expected {"format": "silica-conversation", "conversation": {"messages": [...]}}');
    }
    const bad = c.messages.findIndex((m) => !validMessage(m));
    if (bad >= 0) throw new Error(`message ${bad + 1} needs a role (user/assistant/system) and text content`);
    c.id = typeof c.id === 'string' && c.id ? c.id : newId();
    c.title = typeof c.title === 'string' ? c.title : 'Imported chat';
    c.model = typeof c.model === 'string' ? c.model : '';
    c.system = typeof c.system === 'string' ? c.system : '';
    c.options = c.options && typeof c.options === 'object' ? c.options : {};
    c.created = c.created ?? new Date().toISOString();
    c.updated = c.updated ?? c.created;
  }
  return convs;
}

export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], {type}));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function fileStem(conv) {
  return (conv.title || 'chat').replace(/[^\p{L}\p{N}_-]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'chat';
}
