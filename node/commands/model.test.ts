import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const BIN = new URL("../../bin/hyperspace.js", import.meta.url).pathname;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("hyperspace model", () => {
  it("info --json reports the verified hash and held-out bits per character against the unigram baseline", async () => {
    const { code, stdout } = await cli(["model", "info", "--json"]);
    assert.equal(code, 0);
    const info = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert.match(info.sha256, /^[0-9a-f]{64}$/);
    assert.equal(info.manifestVerified, true);
    assert.equal(info.manifest.sha256, info.sha256);
    assert.ok(info.validationBitsPerChar < info.unigramBitsPerChar);
  });

  it("generate streams reproducible text for a seed and prints one JSON value with --json", async () => {
    const args = [
      "model",
      "generate",
      "--prompt",
      "And Moses said",
      "--max-tokens",
      "40",
      "--seed",
      "9",
      "--top-k",
      "20",
    ];
    const streamed = await cli(args);
    const json = await cli([...args, "--json"]);
    assert.equal(streamed.code, 0);
    assert.equal(json.code, 0);
    const result = JSON.parse(json.stdout.trim());
    assert.equal(result.tokens, 40);
    assert.equal(streamed.stdout, `${result.text}\n`);
  });

  it("exits 2 on bad input", async () => {
    const { code, stderr } = await cli(["model", "generate", "--prompt", "x", "--temperature", "hot"]);
    assert.equal(code, 2);
    assert.match(stderr, /temperature/);
    assert.equal((await cli(["model", "generate", "--prompt", "x", "--top-k", "999"])).code, 2);
  });
});
