/**
 * The simulator as a test: a few hundred seeds across committee sizes and
 * Byzantine behaviours must keep safety and liveness, and the fault-free
 * latency must match Mysticeti's 3δ. The base seed is random unless
 * SIM_TEST_SEED is set; every failure names its seed and the command that
 * replays it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BEHAVIOURS, CORRUPTIONS } from "./byzantine.ts";
import { crashedValidatorLatency, deltaLatency } from "./experiments.ts";
import { testSeed } from "./rng.ts";
import { simulate } from "./simulation.ts";
import { runSweep } from "./sweep.ts";

const base = testSeed("SIM_TEST_SEED") % 1_000_000_000;
const SEEDS_PER_CASE = 25;

describe("simulator", () => {
  it("commits a leader 3δ after it is proposed when every link takes δ (Mysticeti's bound, within 5%)", () => {
    for (const validators of [4, 10]) {
      const result = deltaLatency(validators, 50, 60);
      assert.ok(
        Math.abs(result.leaderCommitLatencyP50Delta - 3) <= 0.15,
        `n=${validators}: ${result.leaderCommitLatencyP50Delta}δ`,
      );
      assert.ok(result.samples > 100);
    }
  });

  it("a crashed validator slows commits until the reputation swap removes it from the schedule", () => {
    const result = crashedValidatorLatency(4, 50, 20);
    assert.ok(result.beforeSwap.meanDelta > 3.3, `before: ${result.beforeSwap.meanDelta}δ`);
    assert.ok(Math.abs(result.afterSwap.meanDelta - 3) < 0.05, `after: ${result.afterSwap.meanDelta}δ`);
  });

  it("replays a seed exactly", () => {
    const options = {
      validators: 7,
      byzantine: 2,
      behaviour: "equivocate",
      deltaMs: 50,
      faultsBeforeGst: true,
    } as const;
    const a = simulate(options, base + 7);
    const b = simulate(options, base + 7);
    assert.deepEqual(a, b);
  });

  for (const behaviour of ["none", ...BEHAVIOURS] as const) {
    it(`keeps safety and liveness with ${behaviour === "none" ? "no faulty" : `f ${behaviour}`} authorities (base seed ${base})`, (t) => {
      for (const validators of [4, 7]) {
        const byzantine = Math.floor((validators - 1) / 3);
        const summary = runSweep(
          { validators, byzantine, behaviour, deltaMs: 50, faultsBeforeGst: true },
          base,
          SEEDS_PER_CASE,
        );
        const replay = (seed: number) =>
          `node bin/hyperspace.js sim --validators ${validators} --byzantine ${byzantine} --behaviour ${behaviour} --delta-ms 50 --seed ${seed}`;
        for (const failure of summary.failures)
          t.diagnostic(`${failure.kind} failure, replay: ${replay(failure.seed)}: ${failure.detail}`);
        assert.equal(summary.safetyViolations, 0, `n=${validators}: ${JSON.stringify(summary.failures[0])}`);
        assert.equal(summary.livenessFailures, 0, `n=${validators}: ${JSON.stringify(summary.failures[0])}`);
        assert.equal(
          summary.misjudgedBlocks,
          0,
          "every corrupted block is rejected for the fault planted in it",
        );
        assert.ok(summary.commits >= SEEDS_PER_CASE * 3);
      }
    });
  }

  it("rejects every kind of invalid block with its own error code", () => {
    const summary = runSweep(
      { validators: 4, byzantine: 1, behaviour: "invalid", deltaMs: 50, faultsBeforeGst: false },
      base,
      20,
    );
    for (const code of CORRUPTIONS) assert.ok((summary.rejectedBlocks[code] ?? 0) > 0, `never saw ${code}`);
  });

  it("a ten-validator committee with three faulty authorities stays safe and live", () => {
    for (const behaviour of BEHAVIOURS) {
      const summary = runSweep(
        { validators: 10, byzantine: 3, behaviour, deltaMs: 50, faultsBeforeGst: true },
        base,
        4,
      );
      assert.equal(
        summary.safetyViolations + summary.livenessFailures,
        0,
        `${behaviour}: ${JSON.stringify(summary.failures[0])}`,
      );
    }
  });
});
