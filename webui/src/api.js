// Talks to `silica serve` (same origin): Ollama routes, NDJSON streams, errors a person can act on.

export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;  // 0: the server could not be reached
  }
}

const kDownMessage =
    'Cannot reach the silica server. Is `silica serve` still running? Start it again, then retry.';

async function request(route, {method = 'GET', body, signal} = {}) {
  let res;
  try {
    res = await fetch(route, {
      method,
      signal,
      headers: body === undefined ? {} : {'content-type': 'application/json'},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(kDownMessage, 0);
  }
  if (!res.ok) {
    let detail = '';
    try {
      const j = await res.json();
      detail = j.error?.message ?? j.error ?? '';
    } catch {
    }
    throw new ApiError(detail || `HTTP ${res.status} from ${route}`, res.status);
  }
  return res;
}

async function getJson(route) {
  return (await request(route)).json();
}

// Calls onLine(obj) for each NDJSON object of a streamed response; an {error} line throws.
async function readNdjson(res, onLine) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError('The connection to the server broke during the answer.', 0);
    }
    if (chunk.done) break;
    buf += decoder.decode(chunk.value, {stream: true});
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      const obj = JSON.parse(line);
      if (obj.error) throw new ApiError(typeof obj.error === 'string' ? obj.error : JSON.stringify(obj.error), 500);
      onLine(obj);
    }
  }
  if (buf.trim()) onLine(JSON.parse(buf));
}

export const listModels = async () => (await getJson('/api/tags')).models ?? [];
export const listRunning = async () => (await getJson('/api/ps')).models ?? [];
export const serverDefaults = () => getJson('/ui/defaults.json');

export async function deleteModel(name) {
  await request('/api/delete', {method: 'DELETE', body: {model: name}});
}

// Streams /api/chat; onDelta(text) per piece; resolves the final statistics object.
export async function chat({model, messages, options}, onDelta, signal) {
  const res = await request('/api/chat', {method: 'POST', body: {model, messages, options, stream: true}, signal});
  let final = null;
  await readNdjson(res, (obj) => {
    if (obj.message?.content) onDelta(obj.message.content);
    if (obj.done) final = obj;
  });
  if (!final) throw new ApiError('The answer ended without its final statistics (the server stopped?).', 0);
  return final;
}

// Streams /api/pull; onProgress({status, completed, total}). A 404 means the server has no store.
export async function pullModel(name, onProgress, signal) {
  let res;
  try {
    res = await request('/api/pull', {method: 'POST', body: {model: name, stream: true}, signal});
  } catch (e) {
    if (e.status === 404 && /no route/i.test(e.message)) {
      throw new ApiError('This server cannot pull models yet (it has no /api/pull). ' +
          'Put a .gguf file into its models folder instead.', 404);
    }
    throw e;
  }
  await readNdjson(res, onProgress);
}
