import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { runSeed } from "../../spec/testing.ts";
import { median, percentile } from "./stats.ts";

const seed = runSeed("stats.test");
const samples = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 });

it("median splits the samples in half, whatever their order", () => {
  fc.assert(
    fc.property(samples, (values) => {
      const m = median(values);
      assert.ok(values.filter((v) => v < m).length <= values.length / 2);
      assert.ok(values.filter((v) => v > m).length <= values.length / 2);
      assert.equal(median([...values].reverse()), m);
    }),
    { seed, numRuns: 200 },
  );
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

it("percentile is a sample at the nearest rank", () => {
  fc.assert(
    fc.property(samples, fc.integer({ min: 1, max: 100 }), (values, p) => {
      const v = percentile(values, p);
      assert.ok(values.includes(v));
      assert.ok(values.filter((x) => x <= v).length >= (p / 100) * values.length);
    }),
    { seed, numRuns: 200 },
  );
});
