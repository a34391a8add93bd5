// A local Hugging Face file server for whole-repository pulls, shaped like huggingface.co:
// GET /api/models/<org>/<repo>?blobs=true lists siblings (rfilename, size, blobId = git blob sha1,
// and lfs {sha256, size, pointerSize} for LFS files); GET /<repo>/resolve/main/<file> serves
// git files directly (ETag = blobId) and redirects LFS files to a CDN path (X-Linked-Etag =
// sha256), both with Range support. Faults per file: dropAfter (cut the connection), corrupt.
import http from "node:http";
import crypto from "node:crypto";

export const sha256 = (buf) => crypto.createHash("sha256").update(buf).digest("hex");
export const gitBlobSha1 = (buf) =>
  crypto.createHash("sha1").update(`blob ${buf.length}\0`).update(buf).digest("hex");

const kDtypeBytes = {F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U32: 4, I8: 1, U8: 1};

// A safetensors file from [{name, dtype, shape}] with random contents (seeded by crypto).
export function safetensors(tensors, metadata) {
  const header = metadata ? {__metadata__: metadata} : {};
  const parts = [];
  let off = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1) * kDtypeBytes[t.dtype];
    header[t.name] = {dtype: t.dtype, shape: t.shape, data_offsets: [off, off + n]};
    parts.push(crypto.randomBytes(n));
    off += n;
  }
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([len, Buffer.from(text), ...parts]);
}

export class FakeHf {
  constructor() {
    this.repos = new Map();   // "org/repo" -> Map(file -> Buffer)
    this.faults = new Map();  // "org/repo/file" -> {dropAfter, times} | {corrupt: true}
    this.log = [];            // {file, range, status, sent}
  }

  // Files named *.safetensors (or in `lfs`) are LFS files, the rest live in git.
  addRepo(repo, files, lfs = []) {
    const m = new Map();
    for (const [name, data] of Object.entries(files))
      m.set(name, {data, lfs: name.endsWith(".safetensors") || lfs.includes(name)});
    this.repos.set(repo, m);
  }

  listen() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    return new Promise((resolve) => this.server.listen(0, "127.0.0.1", () => {
      this.port = this.server.address().port;
      this.endpoint = `http://127.0.0.1:${this.port}`;
      resolve(this);
    }));
  }

  close() {
    this.server.closeAllConnections?.();
    return new Promise((r) => this.server.close(r));
  }

  handle(req, res) {
    const url = new URL(req.url, "http://x");
    const p = decodeURIComponent(url.pathname);
    let m;
    if ((m = p.match(/^\/api\/models\/([^/]+\/[^/]+)$/))) {
      const files = this.repos.get(m[1]);
      if (!files) return res.writeHead(404).end(JSON.stringify({error: "Repository not found"}));
      const blobs = url.searchParams.get("blobs") === "true";
      const siblings = [...files].map(([rfilename, f]) => {
        if (!blobs) return {rfilename};
        const s = {rfilename, blobId: gitBlobSha1(f.data), size: f.data.length};
        if (f.lfs) s.lfs = {sha256: sha256(f.data), size: f.data.length, pointerSize: 134};
        return s;
      });
      return res.writeHead(200, {"content-type": "application/json"})
          .end(JSON.stringify({id: m[1], sha: "0".repeat(40), siblings}));
    }
    if ((m = p.match(/^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/))) {
      const f = this.repos.get(m[1])?.get(m[2]);
      if (!f) return res.writeHead(404, {"x-error-code": "EntryNotFound"}).end("Entry not found");
      const key = `${m[1]}/${m[2]}`;
      if (!f.lfs) return this.serve(req, res, key, f.data, {etag: `"${gitBlobSha1(f.data)}"`});
      // Like huggingface.co: LFS content lives on a CDN; the redirect names its sha256.
      this.log.push({file: key, range: req.headers.range ?? null, status: 302, sent: 0});
      return res.writeHead(302, {location: `/cdn/${encodeURIComponent(key)}`,
        "x-linked-etag": `"${sha256(f.data)}"`, "x-linked-size": String(f.data.length)}).end();
    }
    if ((m = p.match(/^\/cdn\/(.+)$/))) {
      const key = m[1];
      const [org, repo, ...rest] = key.split("/");
      const f = this.repos.get(`${org}/${repo}`)?.get(rest.join("/"));
      if (!f) return res.writeHead(404).end();
      return this.serve(req, res, key, f.data, {});
    }
    res.writeHead(404).end();
  }

  // Range-aware serving; a fault applies to its first `times` requests of that file.
  serve(req, res, key, data, headers) {
    const entry = {file: key, range: req.headers.range ?? null, status: 0, sent: 0};
    this.log.push(entry);
    const fault = this.faults.get(key);
    if (fault?.corrupt) {  // same size, one bit off
      data = Buffer.from(data);
      data[data.length >> 1] ^= 1;
    }
    let start = 0;
    const r = entry.range?.match(/^bytes=(\d+)-$/);
    if (r) start = Number(r[1]);
    if (start >= data.length) return res.writeHead((entry.status = 416)).end();
    const body = data.subarray(start);
    entry.status = r ? 206 : 200;
    const h = {...headers, "content-length": body.length, "accept-ranges": "bytes"};
    if (r) h["content-range"] = `bytes ${start}-${data.length - 1}/${data.length}`;
    res.writeHead(entry.status, h);
    if (fault?.dropAfter !== undefined && fault.times > 0) {
      fault.times--;
      const part = body.subarray(0, fault.dropAfter);
      entry.sent = part.length;
      return res.write(part, () => setTimeout(() => res.socket.destroy(), 50));
    }
    entry.sent = body.length;
    res.end(body);
  }
}
