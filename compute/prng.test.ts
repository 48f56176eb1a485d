import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Prng } from "./prng.ts";

describe("Prng", () => {
  it("is a pure function of its seed", () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const a = new Prng(seed);
        const b = new Prng(seed);
        for (let i = 0; i < 20; i++) assert.equal(a.nextUint32(), b.nextUint32());
      }),
      { seed: 1, numRuns: 100 },
    );
  });

  it("gives different streams for seeds that differ only in their high bits", () => {
    const low = new Prng(5);
    const high = new Prng(5 + 2 ** 40);
    const a = Array.from({ length: 8 }, () => low.nextUint32());
    const b = Array.from({ length: 8 }, () => high.nextUint32());
    assert.notDeepEqual(a, b);
  });

  it("draws floats in [0, 1) and bounded integers in range, roughly uniformly", () => {
    const prng = new Prng(99);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) {
      const x = prng.nextFloat();
      assert.ok(x >= 0 && x < 1);
      const k = prng.nextInt(10);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
      counts[k]++;
    }
    for (const count of counts) assert.ok(count > 1700 && count < 2300, `bucket count ${count}`);
  });
});
