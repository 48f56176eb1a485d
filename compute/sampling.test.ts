import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Prng } from "./prng.ts";
import { argmax, sampleToken, topKIds } from "./sampling.ts";

const logitsArbitrary = fc
  .array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: 2, maxLength: 64 })
  .map((values) => Float32Array.from(values));

describe("sampling", () => {
  it("temperature 0 and top-k 1 both pick the argmax", () => {
    fc.assert(
      fc.property(logitsArbitrary, fc.nat(), (logits, seed) => {
        const best = argmax(logits);
        assert.equal(sampleToken(logits, { temperature: 0, topK: 0 }, new Prng(seed)), best);
        assert.equal(sampleToken(logits, { temperature: 1, topK: 1 }, new Prng(seed)), best);
      }),
      { seed: 3, numRuns: 200 },
    );
  });

  it("top-k draws only among the k largest logits, and a seed fixes the draw", () => {
    fc.assert(
      fc.property(logitsArbitrary, fc.integer({ min: 1, max: 8 }), fc.nat(), (logits, k, seed) => {
        const allowed = new Set(topKIds(logits, k));
        const a = new Prng(seed);
        const b = new Prng(seed);
        for (let i = 0; i < 10; i++) {
          const token = sampleToken(logits, { temperature: 2, topK: k }, a);
          assert.ok(allowed.has(token));
          assert.equal(sampleToken(logits, { temperature: 2, topK: k }, b), token);
        }
      }),
      { seed: 4, numRuns: 100 },
    );
  });

  it("draws in proportion to softmax(logits / temperature)", () => {
    const logits = Float32Array.of(Math.log(1), Math.log(2), Math.log(5), -100);
    const prng = new Prng(8);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 16000; i++) counts[sampleToken(logits, { temperature: 1, topK: 0 }, prng)]!++;
    [1 / 8, 2 / 8, 5 / 8, 0].forEach((p, i) => {
      assert.ok(Math.abs(counts[i]! / 16000 - p) < 0.015, `token ${i}: ${counts[i]! / 16000} vs ${p}`);
    });
  });
});
