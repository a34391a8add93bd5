// A local HTTP server speaking the Ollama registry protocol (manifests, blobs behind a redirect)
// and the Hugging Face file protocol (/api/models/<repo>, /<repo>/resolve/main/<file> with Range
// and a redirect to a "CDN" path), with faults a test can switch on per blob.
import http from "node:http";
import crypto from "node:crypto";

export const sha256 = (buf) => crypto.createHash("sha256").update(buf).digest("hex");

export class FakeRegistry {
  constructor() {
    this.blobs = new Map();      // hex -> Buffer served for that digest
    this.manifests = new Map();  // "ns/model/tag" -> manifest JSON text
    this.hf = new Map();         // "org/repo" -> Map(file name -> Buffer)
    this.faults = new Map();     // hex -> {dropAfter, stallAfter, chunkDelayMs, times}
    this.log = [];               // {path, range, status, sent}
    this.stalled = [];
    this.noRange = new Set();    // hex of blobs served as if Range were unsupported
    this.inFlight = 0;           // blob responses open now
    this.maxInFlight = 0;        // the most at once since the last reset
  }

  // Adds blobs and a manifest for ns/model:tag; layers: [{mediaType, data}]. Returns the digests.
  addModel(name, layers) {
    const [path, tag] = name.split(":");
    const entry = (mediaType, data) => {
      const hex = sha256(data);
      this.blobs.set(hex, data);
      return {mediaType, digest: `sha256:${hex}`, size: data.length};
    };
    const config = entry("application/vnd.docker.container.image.v1+json",
      Buffer.from(JSON.stringify({model_format: "gguf", model_family: "llama"})));
    const manifest = {schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config, layers: layers.map((l) => entry(l.mediaType, l.data))};
    this.manifests.set(`${path}/${tag}`, JSON.stringify(manifest));
    return manifest;
  }

  addHfRepo(repo, files) { this.hf.set(repo, new Map(Object.entries(files))); }

  listen() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    return new Promise((resolve) => this.server.listen(0, "127.0.0.1", () => {
      this.port = this.server.address().port;
      resolve(this);
    }));
  }

  close() {
    for (const res of this.stalled) res.destroy();
    this.server.closeAllConnections?.();
    return new Promise((r) => this.server.close(r));
  }

  handle(req, res) {
    const url = new URL(req.url, "http://x");
    const p = decodeURIComponent(url.pathname);
    let m;
    if ((m = p.match(/^\/v2\/([^/]+)\/([^/]+)\/manifests\/([^/]+)$/))) {
      const text = this.manifests.get(`${m[1]}/${m[2]}/${m[3]}`);
      this.log.push({path: p, status: text ? 200 : 404});
      if (!text) return res.writeHead(404).end(JSON.stringify({errors: [{code: "MANIFEST_UNKNOWN"}]}));
      return res.writeHead(200, {"content-type": "application/vnd.docker.distribution.manifest.v2+json"}).end(text);
    }
    if ((m = p.match(/^\/v2\/[^/]+\/[^/]+\/blobs\/sha256:([0-9a-f]{64})$/))) {
      // Like registry.ollama.ai: the blob lives elsewhere (a CDN); follow the redirect.
      this.log.push({path: p, status: 307});
      return res.writeHead(307, {location: `/cdn/${m[1]}`}).end();
    }
    if ((m = p.match(/^\/api\/models\/([^/]+\/[^/]+)$/))) {
      const files = this.hf.get(m[1]);
      this.log.push({path: p, status: files ? 200 : 404});
      if (!files) return res.writeHead(404).end("{}");
      const siblings = [...files].map(([rfilename, data]) => ({rfilename, size: data.length,
        lfs: rfilename.endsWith(".gguf") ? {sha256: sha256(data), size: data.length} : undefined}));
      return res.writeHead(200, {"content-type": "application/json"}).end(JSON.stringify({id: m[1], siblings}));
    }
    if ((m = p.match(/^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/))) {
      const data = this.hf.get(m[1])?.get(m[2]);
      this.log.push({path: p, status: data ? 302 : 404});
      if (!data) return res.writeHead(404).end("Entry not found");
      const hex = sha256(data);
      this.blobs.set(hex, data);
      return res.writeHead(302, {location: `/cdn/${hex}`}).end();
    }
    if ((m = p.match(/^\/cdn\/([0-9a-f]{64})$/))) return this.serveBlob(req, res, m[1], p);
    this.log.push({path: p, status: 404});
    res.writeHead(404).end();
  }

  // Serves a blob with Range support ("bytes=a-" and "bytes=a-b"; none when `noRange` lists the
  // blob); a fault applies to its first `times` requests. Counts blob requests in flight.
  serveBlob(req, res, hex, p) {
    const data = this.blobs.get(hex);
    const entry = {path: p, range: req.headers.range ?? null, status: 0, sent: 0};
    this.log.push(entry);
    if (!data) return res.writeHead((entry.status = 404)).end();
    this.inFlight = (this.inFlight ?? 0) + 1;
    this.maxInFlight = Math.max(this.maxInFlight ?? 0, this.inFlight);
    res.on("close", () => this.inFlight--);
    let start = 0, end = data.length;  // [start, end)
    const r = this.noRange?.has(hex) ? null : entry.range?.match(/^bytes=(\d+)-(\d*)$/);
    if (r) {
      start = Number(r[1]);
      if (r[2] !== "") end = Math.min(data.length, Number(r[2]) + 1);
    }
    if (start >= data.length || start >= end) return res.writeHead((entry.status = 416)).end();
    const body = data.subarray(start, end);
    entry.status = r ? 206 : 200;
    const headers = {"content-length": body.length};
    if (!this.noRange?.has(hex)) headers["accept-ranges"] = "bytes";
    if (r) headers["content-range"] = `bytes ${start}-${end - 1}/${data.length}`;
    res.writeHead(entry.status, headers);
    const fault = this.faults.get(hex);
    const active = fault && fault.times > 0 ? (fault.times--, fault) : null;
    if (active?.dropAfter !== undefined) {
      const part = body.subarray(0, active.dropAfter);
      entry.sent = part.length;
      return res.write(part, () => setTimeout(() => res.socket.destroy(), 50));
    }
    if (active?.stallAfter !== undefined) {
      entry.sent = Math.min(active.stallAfter, body.length);
      this.stalled.push(res);
      return res.write(body.subarray(0, active.stallAfter));  // and never more
    }
    if (active?.chunkDelayMs) return this.trickle(res, body, entry, active.chunkDelayMs);
    // In slices, so `sent` counts what the socket took before a client hung up.
    return this.pump(res, body, entry);
  }

  pump(res, body, entry) {
    const kSlice = 1 << 16;
    let off = 0;
    const next = () => {
      while (off < body.length) {
        const part = body.subarray(off, off + kSlice);
        off += part.length;
        entry.sent += part.length;
        if (!res.write(part)) return res.once("drain", next);
      }
      res.end();
    };
    res.on("close", () => res.removeAllListeners("drain"));
    next();
  }

  trickle(res, body, entry, delay) {
    const chunk = Math.ceil(body.length / 20);
    let off = 0;
    const next = () => {
      if (off >= body.length) return res.end();
      const part = body.subarray(off, off + chunk);
      off += part.length;
      entry.sent += part.length;
      res.write(part, () => setTimeout(next, delay));
    };
    next();
  }
}
