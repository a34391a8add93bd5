// The model store end to end: `silica pull` from local fake registries (Ollama protocol and
// Hugging Face files), resumed downloads, digest checks, concurrent pulls, list/show/cp/rm/create,
// and names that try to escape the store.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import {spawn, execFileSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {FakeRegistry, sha256} from "./lib/fake_registry.mjs";
import {FakeHf, safetensors} from "./lib/fake_hf.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const silica = process.env.SILICA_BIN ?? path.join(root, "build/src/cli/silica");
const makeModel = process.env.MAKE_TEST_MODEL ?? path.join(root, "build/tools/make_test_model");
const llamaSrc = process.env.SILICA_LLAMA_SRC ?? path.join(root, ".cache/llama-src");
const vocab = path.join(llamaSrc, "models/ggml-vocab-llama-bpe.gguf");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "silica-store-"));
const modelFile = path.join(dir, "tiny.gguf");
const kModelMedia = "application/vnd.ollama.image.model";
let model;  // the GGUF bytes
let reg;

before(async () => {
  for (const f of [silica, makeModel, vocab]) assert.ok(fs.existsSync(f), `missing ${f}`);
  execFileSync(makeModel, ["--out", modelFile, "--type", "q8_0", "--embd", "64", "--layers", "2",
    "--heads", "4", "--kv-heads", "2", "--ff", "128", "--seed", "7", "--vocab", vocab]);
  model = fs.readFileSync(modelFile);
  reg = await new FakeRegistry().listen();
  reg.addModel("library/tiny:q8", [{mediaType: kModelMedia, data: model},
    {mediaType: "application/vnd.ollama.image.system", data: Buffer.from("Be brief.")}]);
});
after(async () => {
  await reg?.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

let nStore = 0;
const freshStore = () => fs.mkdtempSync(path.join(dir, `models-${nStore++}-`));

function run(args, {store, env = {}, onSpawn} = {}) {
  return new Promise((resolve) => {
    const p = spawn(silica, args, {env: {...process.env, SILICA_MODELS: store, ...env}});
    let out = "", err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code, signal) => resolve({code, signal, out, err}));
    onSpawn?.(p);
  });
}

const listNames = (out) => out.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0]);
const blobFiles = (store) => fs.readdirSync(path.join(store, "blobs"));
const regName = (tag = "q8") => `127.0.0.1:${reg.port}/library/tiny:${tag}`;

test("pull by registry name, run it, list, show, cp, rm", async () => {
  const store = freshStore();
  const pulled = await run(["pull", "--insecure", regName()], {store});
  assert.equal(pulled.code, 0, pulled.err);
  assert.match(pulled.err, /pulling manifest[\s\S]*verifying sha256 digest[\s\S]*writing manifest[\s\S]*success/);
  // The model blob is byte-identical to what the registry served, under its digest.
  const hex = sha256(model);
  assert.ok(fs.readFileSync(path.join(store, "blobs", `sha256-${hex}`)).equals(model));
  const manifestPath = path.join(store, "manifests", `127.0.0.1:${reg.port}`, "library/tiny/q8");
  assert.equal(fs.readFileSync(manifestPath, "utf8"), reg.manifests.get("library/tiny/q8"));

  const gen = await run(["run", regName(), "-p", "Hello", "-n", "4", "--temp", "0"], {store});
  assert.equal(gen.code, 0, gen.err);
  assert.match(gen.err, /generated: 4 tokens/);
  const direct = await run(["run", modelFile, "-p", "Hello", "-n", "4", "--temp", "0"], {store});
  assert.equal(gen.out, direct.out, "the stored model generates what the file does");

  let ls = await run(["list"], {store});
  assert.equal(ls.code, 0, ls.err);
  assert.deepEqual(listNames(ls.out), [regName()]);
  const id = sha256(fs.readFileSync(manifestPath)).slice(0, 12);
  assert.match(ls.out, new RegExp(`${id}\\s+25\\.\\d MB\\s+Less than a minute ago`));

  const show = await run(["show", regName()], {store});
  assert.equal(show.code, 0, show.err);
  assert.match(show.out, /architecture\s+llama/);
  assert.match(show.out, /System\n\s+Be brief\./);

  assert.equal((await run(["cp", regName(), "mine:v1"], {store})).code, 0);
  ls = await run(["ls"], {store});
  assert.deepEqual(listNames(ls.out).sort(), [regName(), "mine:v1"].sort());
  assert.equal((await run(["rm", regName()], {store})).code, 0);
  assert.ok(blobFiles(store).includes(`sha256-${hex}`), "mine:v1 still uses the blob");
  const rm = await run(["rm", "mine:v1"], {store});
  assert.equal(rm.code, 0, rm.err);
  assert.deepEqual(listNames((await run(["ls"], {store})).out), []);
  assert.deepEqual(blobFiles(store), [], "no blob is left once no model uses it");
});

test("pull a URL name (http://host/ns/model:tag) without --insecure", async () => {
  const store = freshStore();
  const r = await run(["pull", `http://127.0.0.1:${reg.port}/library/tiny:q8`], {store});
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(listNames((await run(["ls"], {store})).out), [regName()]);
});

test("pull hf.co/org/repo: Q4_K_M by default, a quant tag, a file name", async () => {
  const other = Buffer.concat([model.subarray(0, 4096), Buffer.from("not the default")]);
  reg.addHfRepo("org/tiny-GGUF", {"README.md": Buffer.from("# tiny"),
    "tiny-Q8_0.gguf": other, "tiny-Q4_K_M.gguf": model, "tiny-Q4_K.gguf": other});
  const store = freshStore();
  const env = {SILICA_HF_ENDPOINT: `http://127.0.0.1:${reg.port}`};
  const r = await run(["pull", "hf.co/org/tiny-GGUF"], {store, env});
  assert.equal(r.code, 0, r.err);
  assert.ok(blobFiles(store).includes(`sha256-${sha256(model)}`));
  const gen = await run(["run", "hf.co/org/tiny-GGUF", "-p", "Hi", "-n", "4", "--temp", "0"], {store});
  assert.equal(gen.code, 0, gen.err);
  const q8 = await run(["pull", "hf.co/org/tiny-GGUF:q8_0"], {store, env});
  assert.equal(q8.code, 0, q8.err);
  assert.ok(blobFiles(store).includes(`sha256-${sha256(other)}`));
  const missing = await run(["pull", "hf.co/org/tiny-GGUF:Q2_K"], {store, env});
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no \.gguf for 'Q2_K'; it has: .*tiny-Q8_0\.gguf/);
  assert.deepEqual(listNames((await run(["ls"], {store})).out).sort(),
    ["hf.co/org/tiny-GGUF:latest", "hf.co/org/tiny-GGUF:q8_0"]);
});

test("a dropped connection resumes with a Range request for the rest", async () => {
  const data = Buffer.concat([model, Buffer.from("resume")]);
  const hex = sha256(data);
  reg.addModel("library/resume:t", [{mediaType: kModelMedia, data}]);
  const cut = 1000003;
  reg.faults.set(hex, {dropAfter: cut, times: 1});
  const store = freshStore();
  const start = reg.log.length;
  const r = await run(["pull", "--insecure", `127.0.0.1:${reg.port}/library/resume:t`], {store});
  assert.equal(r.code, 0, r.err);
  const gets = reg.log.slice(start).filter((e) => e.path === `/cdn/${hex}`);
  assert.deepEqual(gets.map((e) => [e.range, e.status]), [[null, 200], [`bytes=${cut}-`, 206]]);
  assert.equal(gets[0].sent + gets[1].sent, data.length, "every byte crossed the wire once");
  assert.ok(fs.readFileSync(path.join(store, "blobs", `sha256-${hex}`)).equals(data));
});

test("Ctrl-C leaves a resumable partial and no model; the next pull finishes it", async () => {
  const data = Buffer.concat([model, Buffer.from("interrupt")]);
  const hex = sha256(data);
  reg.addModel("library/intr:t", [{mediaType: kModelMedia, data}]);
  const cut = 777777;
  reg.faults.set(hex, {stallAfter: cut, times: 1});
  const store = freshStore();
  const name = `127.0.0.1:${reg.port}/library/intr:t`;
  const partial = path.join(store, "blobs", `sha256-${hex}-partial`);
  const first = await run(["pull", "--insecure", name], {store, onSpawn: (p) => {
    const poll = setInterval(() => {
      if (fs.existsSync(partial) && fs.statSync(partial).size >= cut) {
        clearInterval(poll);
        p.kill("SIGINT");
      }
    }, 20);
  }});
  assert.equal(first.code, 1, first.err);
  assert.match(first.err, /interrupted.*pull again to resume/);
  assert.equal(fs.statSync(partial).size, cut);
  assert.deepEqual(listNames((await run(["ls"], {store})).out), []);
  const start = reg.log.length;
  const second = await run(["pull", "--insecure", name], {store});
  assert.equal(second.code, 0, second.err);
  const gets = reg.log.slice(start).filter((e) => e.path === `/cdn/${hex}`);
  assert.deepEqual(gets.map((e) => [e.range, e.sent]), [[`bytes=${cut}-`, data.length - cut]]);
  assert.ok(!fs.existsSync(partial));
  assert.deepEqual(listNames((await run(["ls"], {store})).out), [name]);
});

// Small parts, so the ~25 MB test model comes in many Range parts.
const kPartSize = 1 << 20;
const kParts = 4;
const partsEnv = {SILICA_PULL_PART_SIZE: String(kPartSize), SILICA_PULL_PARTS: String(kParts)};
const cdnGets = (hex, start) => reg.log.slice(start).filter((e) => e.path === `/cdn/${hex}`);
const rangeOf = (e) => e.range.match(/^bytes=(\d+)-(\d+)$/).slice(1).map(Number);

test("a blob above the part size comes as concurrent Range parts, each byte once", async () => {
  const data = Buffer.concat([model, Buffer.from("parts")]);
  const hex = sha256(data);
  reg.addModel("library/parts:t", [{mediaType: kModelMedia, data}]);
  reg.faults.set(hex, {chunkDelayMs: 20, times: kParts});  // slow first parts: they overlap
  const store = freshStore();
  const start = reg.log.length;
  reg.maxInFlight = 0;
  const r = await run(["pull", "--insecure", `127.0.0.1:${reg.port}/library/parts:t`], {store, env: partsEnv});
  assert.equal(r.code, 0, r.err);
  assert.equal(reg.maxInFlight, kParts, "as many parts in flight as allowed, never more");
  const gets = cdnGets(hex, start);
  assert.equal(gets.length, Math.ceil(data.length / kPartSize));
  assert.ok(gets.every((e) => e.status === 206), JSON.stringify(gets));
  const ranges = gets.map(rangeOf).sort((a, b) => a[0] - b[0]);
  ranges.forEach(([b, e], i) => {
    assert.equal(b, i * kPartSize);
    assert.equal(e, Math.min(data.length, (i + 1) * kPartSize) - 1);
  });
  assert.equal(gets.reduce((n, e) => n + e.sent, 0), data.length, "every byte crossed the wire once");
  assert.ok(fs.readFileSync(path.join(store, "blobs", `sha256-${hex}`)).equals(data));
  assert.deepEqual(blobFiles(store).filter((f) => f.includes("partial") && !f.endsWith(".lock")), []);
});

test("Ctrl-C during a parts download keeps each part's progress; the resume fetches only the rest", async () => {
  const data = Buffer.concat([model, Buffer.from("parts-interrupt")]);
  const hex = sha256(data);
  reg.addModel("library/pintr:t", [{mediaType: kModelMedia, data}]);
  const cut = 300001;  // each of the first parts sends this much, then stalls
  reg.faults.set(hex, {stallAfter: cut, times: kParts});
  const store = freshStore();
  const name = `127.0.0.1:${reg.port}/library/pintr:t`;
  const partial = path.join(store, "blobs", `sha256-${hex}-partial`);
  const record = `${partial}.parts.json`;
  const start = reg.log.length;
  const first = await run(["pull", "--insecure", name], {store, env: partsEnv, onSpawn: (p) => {
    const poll = setInterval(() => {
      if (cdnGets(hex, start).length < kParts) return;
      clearInterval(poll);
      setTimeout(() => p.kill("SIGINT"), 500);  // let the stalled parts' bytes arrive
    }, 20);
  }});
  assert.equal(first.code, 1, first.err);
  assert.match(first.err, /interrupted.*pull again to resume/);
  assert.deepEqual(listNames((await run(["ls"], {store})).out), []);
  const saved = JSON.parse(fs.readFileSync(record, "utf8"));
  assert.equal(saved.size, data.length);
  const kept = saved.parts.reduce((n, [, , done]) => n + done, 0);
  assert.equal(kept, kParts * cut, JSON.stringify(saved.parts.filter((p) => p[2] > 0)));
  assert.equal(fs.statSync(partial).size, data.length, "parts write in place into a full-size file");

  const resumed = reg.log.length;
  const second = await run(["pull", "--insecure", name], {store, env: partsEnv});
  assert.equal(second.code, 0, second.err);
  const gets = cdnGets(hex, resumed);
  const want = saved.parts.filter(([b, e, done]) => b + done < e).map(([b, e, done]) => [b + done, e - 1]);
  assert.deepEqual(gets.map(rangeOf).sort((a, b) => a[0] - b[0]), want, "only the missing bytes are asked for");
  assert.equal(gets.reduce((n, e) => n + e.sent, 0), data.length - kept);
  assert.ok(fs.readFileSync(path.join(store, "blobs", `sha256-${hex}`)).equals(data));
  assert.ok(!fs.existsSync(partial) && !fs.existsSync(record));
  assert.deepEqual(listNames((await run(["ls"], {store})).out), [name]);
});

test("a server without Range support gets one plain stream instead of parts", async () => {
  const data = Buffer.concat([model, Buffer.from("no-range")]);
  const hex = sha256(data);
  reg.addModel("library/norange:t", [{mediaType: kModelMedia, data}]);
  reg.noRange.add(hex);
  const store = freshStore();
  const start = reg.log.length;
  const r = await run(["pull", "--insecure", `127.0.0.1:${reg.port}/library/norange:t`], {store, env: partsEnv});
  assert.equal(r.code, 0, r.err);
  const gets = cdnGets(hex, start);
  assert.deepEqual(gets.at(-1).range, null, "the fallback asks for the whole blob");
  assert.equal(gets.at(-1).status, 200);
  assert.ok(gets.length <= kParts + 1, `${gets.length} requests`);
  assert.ok(fs.readFileSync(path.join(store, "blobs", `sha256-${hex}`)).equals(data));
  assert.deepEqual(blobFiles(store).filter((f) => f.includes("partial") && !f.endsWith(".lock")), []);
});

test("a blob that does not match its digest is refused and nothing is listed", async () => {
  const good = Buffer.from(model.subarray(0, 300000));
  const manifest = reg.addModel("library/bad:t", [{mediaType: kModelMedia, data: good}]);
  const hex = manifest.layers[0].digest.slice(7);
  const bad = Buffer.from(good);
  bad[12345] ^= 1;  // same size, one bit off
  reg.blobs.set(hex, bad);
  const store = freshStore();
  const r = await run(["pull", "--insecure", `127.0.0.1:${reg.port}/library/bad:t`], {store});
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`sha256:${hex}.*does not match its digest`));
  assert.deepEqual(listNames((await run(["ls"], {store})).out), []);
  // Only the (empty) lock file may stay: no blob, no partial data.
  const left = blobFiles(store).filter((f) => f.startsWith(`sha256-${hex}`) && !f.endsWith(".lock"));
  assert.deepEqual(left, []);
});

test("two pulls of the same model at once leave a good store", async () => {
  const data = Buffer.concat([model, Buffer.from("twice")]);
  const hex = sha256(data);
  reg.addModel("library/twice:t", [{mediaType: kModelMedia, data}]);
  reg.faults.set(hex, {chunkDelayMs: 30, times: 2});  // slow, so the pulls overlap
  const store = freshStore();
  const name = `127.0.0.1:${reg.port}/library/twice:t`;
  const [a, b] = await Promise.all([run(["pull", "--insecure", name], {store}),
    run(["pull", "--insecure", name], {store})]);
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  assert.ok(fs.readFileSync(path.join(store, "blobs", `sha256-${hex}`)).equals(data));
  assert.deepEqual(blobFiles(store).filter((f) => f.includes("partial") || f.includes("tmp")), []);
  assert.deepEqual(listNames((await run(["ls"], {store})).out), [name]);
  const gen = await run(["run", name, "-p", "x", "-n", "2", "--temp", "0"], {store});
  assert.equal(gen.code, 0, gen.err);
});

test("create from a Modelfile: FROM a .gguf or a stored name, layers for each instruction", async () => {
  const store = freshStore();
  const mf = path.join(dir, "Modelfile");
  fs.writeFileSync(mf, `# a comment\nFROM ./tiny.gguf\nPARAMETER temperature 0.25\n` +
    `PARAMETER stop "<|eot_id|>"\nSYSTEM """Answer\nbriefly."""\nLICENSE MIT\nMESSAGE user hi\n`);
  const r = await run(["create", "made", "-f", mf], {store});
  assert.equal(r.code, 0, r.err);
  const manifest = JSON.parse(fs.readFileSync(
    path.join(store, "manifests/registry.ollama.ai/library/made/latest"), "utf8"));
  const byType = Object.fromEntries(manifest.layers.map((l) => [l.mediaType.split(".").pop(),
    fs.readFileSync(path.join(store, "blobs", l.digest.replace(":", "-")), "utf8")]));
  assert.deepEqual(Object.keys(byType).sort(), ["license", "messages", "model", "params", "system"]);
  assert.deepEqual(JSON.parse(byType.params), {temperature: 0.25, stop: ["<|eot_id|>"]});
  assert.equal(byType.system, "Answer\nbriefly.");
  assert.deepEqual(JSON.parse(byType.messages), [{role: "user", content: "hi"}]);
  assert.equal(manifest.layers.find((l) => l.mediaType === kModelMedia).digest, `sha256:${sha256(model)}`);
  fs.writeFileSync(mf, "FROM made\nSYSTEM other\n");
  assert.equal((await run(["create", "made2", "-f", mf], {store})).code, 0);
  const show = await run(["show", "made2"], {store});
  assert.match(show.out, /System\n\s+other/);
  fs.writeFileSync(mf, "FROM made\nBOGUS x\n");
  const bad = await run(["create", "made3", "-f", mf], {store});
  assert.equal(bad.code, 1);
  assert.match(bad.err, /Modelfile:2: unknown instruction 'bogus'/);
});

// `run` with stdin fed (and closed) by the test: a pipe, as `echo x | silica run NAME`.
function runPiped(args, input, opts) {
  return run(args, {...opts, onSpawn: (p) => p.stdin.end(input)});
}
const promptCount = (err) => Number((err.match(/\[prompt (\d+) tokens/) ?? [])[1]);
const genCount = (err) => Number((err.match(/, (\d+) generated/) ?? [])[1]);

test("run: stored PARAMETER / SYSTEM / MESSAGE apply; words or piped stdin answer once", async () => {
  const store = freshStore();
  const mf = path.join(dir, "Modelfile.layers");
  const params = "FROM ./tiny.gguf\nPARAMETER num_predict 3\nPARAMETER temperature 0\n";
  fs.writeFileSync(mf, params + "SYSTEM Answer in French.\n");
  assert.equal((await run(["create", "sys", "-f", mf], {store})).code, 0);
  fs.writeFileSync(mf, params + "SYSTEM Answer in French.\nMESSAGE user Hi\nMESSAGE assistant Salut\n");
  assert.equal((await run(["create", "three", "-f", mf], {store})).code, 0);

  const raw = await run(["run", "three", "-p", "Hello"], {store});
  assert.equal(raw.code, 0, raw.err);
  assert.match(raw.err, /generated: 3 tokens/, "PARAMETER num_predict 3");
  assert.match((await run(["run", "three", "-p", "Hello", "-n", "5"], {store})).err,
      /generated: 5 tokens/, "a flag overrides the PARAMETER default");

  const once = await runPiped(["run", "sys", "Hello", "there", "-v"], "", {store});
  assert.equal(once.code, 0, once.err);
  assert.equal(genCount(once.err), 3);
  // The reference: the bare file with the same system prompt given as a flag.
  const ref = await runPiped(["run", modelFile, "Hello", "there", "--system", "Answer in French.",
    "-n", "3", "--temp", "0", "-v"], "", {store});
  assert.equal(ref.code, 0, ref.err);
  assert.equal(promptCount(once.err), promptCount(ref.err), "SYSTEM is the default system prompt");
  assert.equal(once.out, ref.out);
  const bare = await runPiped(["run", modelFile, "Hello", "there", "-n", "1", "-v"], "", {store});
  assert.ok(promptCount(bare.err) < promptCount(ref.err), "the system prompt takes tokens");
  const own = await runPiped(["run", "sys", "Hello", "there", "--system", "Hi", "-v"], "", {store});
  const ownRef = await runPiped(["run", modelFile, "Hello", "there", "--system", "Hi", "-n", "1", "-v"], "", {store});
  assert.equal(promptCount(own.err), promptCount(ownRef.err), "--system wins over SYSTEM");
  const turns = await runPiped(["run", "three", "Hello", "there", "-v"], "", {store});
  assert.ok(promptCount(turns.err) > promptCount(once.err), "MESSAGE turns are in the prompt");

  // Piped stdin is the prompt (then the words), answered once: as the words alone.
  const piped = await runPiped(["run", "sys", "-v"], "Hello there", {store});
  assert.equal(piped.code, 0, piped.err);
  assert.equal(promptCount(piped.err), promptCount(once.err));
  assert.equal(piped.out, once.out);
  const mixed = await runPiped(["run", "sys", "there", "-v"], "Hello", {store});
  assert.equal(promptCount(mixed.err), promptCount(once.err), "stdin, a space, then the words");
  const empty = await runPiped(["run", "sys"], "", {store});
  assert.equal(empty.code, 1);
  assert.match(empty.err, /nothing to answer/);
});

test("show NAME --modelfile / --parameters / --template / --system / --license / -v", async () => {
  const store = freshStore();
  const mf = path.join(dir, "Modelfile.show");
  fs.writeFileSync(mf, "FROM ./tiny.gguf\nPARAMETER temperature 0.25\nPARAMETER stop A\nPARAMETER stop B\n" +
    "SYSTEM Be kind.\nLICENSE MIT\nMESSAGE user hi\nTEMPLATE {{ messages[0].content }}\n");
  assert.equal((await run(["create", "shown", "-f", mf], {store})).code, 0);
  const section = async (flag) => {
    const r = await run(["show", "shown", flag], {store});
    assert.equal(r.code, 0, r.err);
    return r.out;
  };
  assert.equal(await section("--system"), "Be kind.\n");
  assert.equal(await section("--license"), "MIT\n");
  assert.equal(await section("--template"), "{{ messages[0].content }}\n");
  const params = (await section("--parameters")).split("\n");
  assert.equal(params.pop(), "", "one line each, newline-terminated");
  assert.deepEqual(params.sort(),
      [`${"stop".padEnd(30)} "A"`, `${"stop".padEnd(30)} "B"`, `${"temperature".padEnd(30)} 0.25`]);
  const blob = path.join(store, "blobs", `sha256-${sha256(model)}`);
  const modelfile = await section("--modelfile");
  assert.match(modelfile, new RegExp(`^FROM ${blob}$`, "m"));
  for (const line of ['TEMPLATE """{{ messages[0].content }}"""', 'SYSTEM """Be kind."""',
    "PARAMETER temperature 0.25", 'PARAMETER stop "A"', 'PARAMETER stop "B"', 'MESSAGE user """hi"""',
    'LICENSE """MIT"""'])
    assert.ok(modelfile.split("\n").includes(line), `${line} in\n${modelfile}`);
  // The Modelfile rebuilds the same model.
  fs.writeFileSync(mf, modelfile);
  assert.equal((await run(["create", "rebuilt", "-f", mf], {store})).code, 0);
  assert.equal((await run(["show", "rebuilt", "--modelfile"], {store})).out.split("\n").slice(3).join("\n"),
      modelfile.split("\n").slice(3).join("\n"));
  const verbose = await run(["show", "shown", "-v"], {store});
  assert.match(verbose.out, /^ {2}general\.architecture +llama$/m);
  assert.doesNotMatch((await run(["show", "shown"], {store})).out, /general\.architecture/);
});

// The details `show` prints for a model folder: "key   value" rows.
const showRows = (out) => Object.fromEntries(out.split("\n").map((l) => l.trim().match(/^(\S+(?: \S+)?)\s{2,}(.*)$/))
  .filter(Boolean).map((m) => [m[1], m[2]]));

test("show on safetensors and MLX folders (a path, or a pulled store model) prints their details", async () => {
  // qwen2-like BF16: 1024*1024 + 1024 = 1049600 parameters, Ollama's "1.05M".
  const st = {
    "config.json": Buffer.from(JSON.stringify({architectures: ["Qwen2ForCausalLM"], model_type: "qwen2"})),
    "model.safetensors": safetensors([{name: "model.embed_tokens.weight", dtype: "BF16", shape: [1024, 1024]},
      {name: "model.norm.weight", dtype: "F32", shape: [1024]}]),
    "tokenizer.json": Buffer.from(JSON.stringify({model: {type: "BPE", vocab: {a: 0}}})),
    "tokenizer_config.json": Buffer.from(JSON.stringify({chat_template: "{{ messages[0].content }}"})),
  };
  const hf = await new FakeHf().listen();
  try {
    hf.addRepo("org/show-st", st);
    const store = freshStore();
    const env = {SILICA_HF_ENDPOINT: hf.endpoint};
    const pulled = await run(["pull", "hf.co/org/show-st"], {store, env});
    assert.equal(pulled.code, 0, pulled.err);
    const show = await run(["show", "hf.co/org/show-st"], {store, env});
    assert.equal(show.code, 0, show.err);
    const rows = showRows(show.out);
    assert.deepEqual([rows.format, rows.architecture, rows.parameters, rows.quantization],
      ["safetensors", "qwen2", "1.05M", "BF16"], show.out);
    assert.equal(rows["weight files"], "model.safetensors");
    assert.match(show.out, /Store\n\s+name\s+hf\.co\/org\/show-st/);
    const tmpl = await run(["show", "hf.co/org/show-st", "--template"], {store, env});
    assert.equal(tmpl.out.trim(), "{{ messages[0].content }}", "the folder's chat template");
  } finally {
    await hf.close();
  }
  // An MLX 4-bit group-64 folder by path: 512 rows of 512 values pack into 64 uint32 words per
  // row; 512*512 + 512 = 262656 parameters ("263K").
  const mlx = fs.mkdtempSync(path.join(dir, "mlx-"));
  fs.writeFileSync(path.join(mlx, "config.json"), JSON.stringify({model_type: "llama",
    quantization: {group_size: 64, bits: 4}}));
  fs.writeFileSync(path.join(mlx, "model.safetensors"), safetensors([
    {name: "model.embed_tokens.weight", dtype: "U32", shape: [512, 64]},
    {name: "model.embed_tokens.scales", dtype: "BF16", shape: [512, 8]},
    {name: "model.embed_tokens.biases", dtype: "BF16", shape: [512, 8]},
    {name: "model.norm.weight", dtype: "BF16", shape: [512]}]));
  const show = await run(["show", mlx], {store: freshStore()});
  assert.equal(show.code, 0, show.err);
  const rows = showRows(show.out);
  assert.deepEqual([rows.folder, rows.format, rows.architecture, rows.parameters, rows.quantization],
    [mlx, "mlx", "llama", "263K", "Q4_G64"], show.out);
  assert.doesNotMatch(show.out, /Store/, "a bare folder has no store layers");
  fs.rmSync(path.join(mlx, "config.json"));
  const broken = await run(["show", mlx], {store: freshStore()});
  assert.equal(broken.code, 1);
  assert.match(broken.err, /config\.json/);
});

test("ps and stop talk to a running server; a clear message when none runs", async () => {
  const store = freshStore();
  const mf = path.join(dir, "Modelfile.ps");
  fs.writeFileSync(mf, "FROM ./tiny.gguf\n");
  assert.equal((await run(["create", "loaded", "-f", mf], {store})).code, 0);
  const none = await run(["ps"], {store, env: {SILICA_HOST: "127.0.0.1:9", OLLAMA_HOST: ""}});
  assert.equal(none.code, 1);
  assert.match(none.err, /127\.0\.0\.1:9[\s\S]*silica serve/);
  const server = spawn(silica, ["serve", "--port", "0", "--models", store, "--threads", "2"],
      {env: {...process.env, SILICA_MODELS: store}});
  try {
    const url = await new Promise((resolve, reject) => {
      let err = "";
      server.stdout.on("data", (d) => {
        const m = String(d).match(/listening on (http:\/\/[\d.]+:\d+)/);
        if (m) resolve(m[1]);
      });
      server.stderr.on("data", (d) => (err += d));
      server.on("close", () => reject(new Error(`serve exited: ${err}`)));
    });
    const env = {SILICA_HOST: "", OLLAMA_HOST: url.replace("http://", "")};
    assert.deepEqual(listNames((await run(["ps"], {store, env})).out), []);
    const load = await fetch(`${url}/api/generate`, {method: "POST", body: JSON.stringify({model: "loaded"})});
    assert.equal(load.status, 200);
    const ps = await run(["ps"], {store, env});
    assert.equal(ps.code, 0, ps.err);
    const [header, row] = ps.out.trim().split("\n");
    assert.match(header, /^NAME +ID +SIZE +PROCESSOR +UNTIL$/);
    const id = sha256(fs.readFileSync(path.join(store, "manifests/registry.ollama.ai/library/loaded/latest")));
    assert.match(row, new RegExp(`^loaded(:latest)? +${id.slice(0, 12)} +[\\d.]+ [KMG]?B +100% CPU +[45] minutes from now$`));
    const stopped = await run(["stop", "loaded"], {store, env});
    assert.equal(stopped.code, 0, stopped.err);
    assert.deepEqual(listNames((await run(["ps"], {store, env})).out), []);
    const absent = await run(["stop", "absent"], {store, env});
    assert.equal(absent.code, 1);
    assert.match(absent.err, /absent/);
  } finally {
    server.kill("SIGTERM");
  }
});

test("names that try to escape the store are refused", async () => {
  const store = freshStore();
  const outside = path.join(dir, "escaped");
  const mf = path.join(dir, "Modelfile.escape");
  fs.writeFileSync(mf, "FROM ./tiny.gguf\n");
  const attempts = [["pull", "--insecure", "../../escaped"], ["pull", "127.0.0.1:1/../../x:t"],
    ["pull", "/etc/passwd"], ["create", "../escaped", "-f", mf], ["create", "a/b/c/d", "-f", mf],
    ["cp", "x", "../../escaped"], ["rm", "../../../etc/passwd"], ["pull", "m:..%2f"],
    ["create", `m:${"t".repeat(81)}`, "-f", mf], ["show", "ns/..:t"]];
  for (const args of attempts) {
    const r = await run(args, {store});
    assert.equal(r.code, 1, `${args.join(" ")} was accepted`);
    assert.match(r.err, /^error: .+/, args.join(" "));
  }
  assert.ok(!fs.existsSync(outside));
  assert.deepEqual(listNames((await run(["ls"], {store})).out), []);
  // A manifest whose digest is a path is refused before any file is touched.
  reg.manifests.set("library/evil/t", JSON.stringify({schemaVersion: 2,
    config: {mediaType: "x", digest: "sha256:../../../escaped", size: 1}, layers: []}));
  const r = await run(["pull", "--insecure", `127.0.0.1:${reg.port}/library/evil:t`], {store});
  assert.equal(r.code, 1);
  assert.match(r.err, /not sha256:<64 lowercase hex>/);
});
