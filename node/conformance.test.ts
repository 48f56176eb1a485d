import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runConformance } from "./conformance.ts";

const vectorsDir = join(import.meta.dirname, "..", "spec", "vectors");
const cli = join(import.meta.dirname, "..", "bin", "hyperspace.js");

describe("spec conformance vectors", () => {
  it("every shipped vector passes", () => {
    const outcomes = runConformance(vectorsDir);
    assert.ok(outcomes.length >= 15, `only ${outcomes.length} vectors`);
    for (const o of outcomes) assert.ok(o.ok, `${o.name}: ${o.detail}`);
  });

  it("a vector whose pinned bytes are altered fails, and the CLI exits non-zero", () => {
    const dir = mkdtempSync(join(tmpdir(), "hs-vectors-"));
    try {
      const vectors = JSON.parse(readFileSync(join(vectorsDir, "transaction.json"), "utf8"));
      vectors[0].encoding = vectors[0].encoding.replace(/.$/, (c: string) => (c === "0" ? "1" : "0"));
      vectors[1].digest = "00".repeat(32);
      writeFileSync(join(dir, "bad.json"), JSON.stringify(vectors));
      const outcomes = runConformance(dir);
      assert.deepEqual(
        outcomes.map((o) => o.ok),
        [false, false],
      );
      const run = spawnSync(process.execPath, [cli, "conformance", dir], { encoding: "utf8" });
      assert.equal(run.status, 1);
      assert.match(run.stdout, /FAIL encoding transaction-transfer/);
      assert.match(run.stdout, /0 passed, 2 failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the CLI prints one line per vector and exits 0 when all pass", () => {
    const out = execFileSync(process.execPath, [cli, "conformance", vectorsDir], { encoding: "utf8" });
    const lines = out.trim().split("\n");
    assert.equal(lines.filter((l) => l.startsWith("pass ")).length, runConformance(vectorsDir).length);
  });
});
