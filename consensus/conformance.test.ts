import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { checkCommitterVector } from "./conformance.ts";

const dir = join(import.meta.dirname, "vectors");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort();

describe("committer conformance vectors", () => {
  it("ships the required vectors", () => {
    const names = files.map((f) => f.replace(/\.json$/, ""));
    for (const required of [
      "direct-commit",
      "idempotence",
      "multiple-direct-commits",
      "direct-commit-late-call",
      "no-genesis-commit",
      "direct-skip-no-leader-votes",
      "direct-skip-missing-leader-block",
      "indirect-commit",
      "indirect-skip",
      "undecided",
      "byzantine-equivocating-leader",
    ]) {
      assert.ok(names.includes(required), `missing vector ${required}`);
    }
  });

  for (const file of files) {
    it(file, () => {
      const vector = JSON.parse(readFileSync(join(dir, file), "utf8"));
      const result = checkCommitterVector(vector);
      assert.ok(result.ok, result.detail);
    });
  }

  it("fails a vector whose expectation is wrong, saying what it got", () => {
    const vector = JSON.parse(readFileSync(join(dir, "direct-commit.json"), "utf8"));
    const result = checkCommitterVector({ ...vector, expect: ["skip B1"] });
    assert.equal(result.ok, false);
    assert.match(result.detail, /got commit B1/);
  });

  it("rejects a malformed vector", () => {
    const vector = JSON.parse(readFileSync(join(dir, "direct-commit.json"), "utf8"));
    assert.throws(() => checkCommitterVector({ ...vector, waveLength: 4 }), /waveLength/);
    assert.throws(
      () => checkCommitterVector({ ...vector, leaderSchedule: "stake-weighted" }),
      /leaderSchedule/,
    );
  });
});
