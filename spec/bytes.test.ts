import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { byteKey, fromByteKey, fromHex, toHex } from "./bytes.ts";
import { runSeed } from "./testing.ts";

const seed = runSeed("bytes.test");

/** Byte arrays as the node meets them: small ones on the V8 heap, and views at an offset into a larger buffer. */
const arbitraryBytes = fc.oneof(
  fc.uint8Array({ maxLength: 96 }),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.nat()).map(([whole, a, b]) => {
    const from = a % whole.byteLength;
    return whole.subarray(from, from + (b % (whole.byteLength - from + 1)));
  }),
);

it("toHex and byteKey give Buffer's hex and latin1 strings of exactly the viewed bytes", () => {
  fc.assert(
    fc.property(arbitraryBytes, (bytes) => {
      const copy = Buffer.from(bytes);
      assert.equal(toHex(bytes), copy.toString("hex"));
      assert.equal(byteKey(bytes), copy.toString("latin1"));
    }),
    { seed, numRuns: 500 },
  );
});

it("fromHex and fromByteKey invert them", () => {
  fc.assert(
    fc.property(arbitraryBytes, (bytes) => {
      assert.deepEqual(fromHex(toHex(bytes)), new Uint8Array(bytes));
      assert.deepEqual(fromHex(`0x${toHex(bytes).toUpperCase()}`), new Uint8Array(bytes));
      assert.deepEqual(fromByteKey(byteKey(bytes)), new Uint8Array(bytes));
    }),
    { seed, numRuns: 500 },
  );
});

it("fromHex refuses odd lengths and any non-hex character, wherever it is", () => {
  for (const bad of ["a", "0x1", "zz", "12 4", "0xg0", "abcdeg", "0x0x12", "12\u00e9f"])
    assert.equal(fromHex(bad), null, bad);
  fc.assert(
    fc.property(arbitraryBytes, fc.nat(), fc.constantFrom(..."gz -+.\u00e9"), (bytes, at, bad) => {
      const hex = toHex(bytes);
      if (hex.length === 0) return;
      const i = at % hex.length;
      assert.equal(fromHex(`${hex.slice(0, i)}${bad}${hex.slice(i + 1)}`), null);
    }),
    { seed, numRuns: 500 },
  );
});
