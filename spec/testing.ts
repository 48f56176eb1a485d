/**
 * Test support shared by every layer's tests: the replayable seed, fixed
 * keys and the standard properties of a canonical codec. Imported by tests only
 * (it pulls in node:test), so it is not part of spec/index.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type Codec, decodeWith, encodeWith } from "./codec.ts";
import { CodecError } from "./errors.ts";
import { generateKeyPair, type KeyPair } from "./keys.ts";

/** The fast-check seed of a test file: FC_SEED when set, else fresh; printed so a failure replays. */
export function runSeed(name: string): number {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  console.log(`${name} seed=${seed} (replay with FC_SEED=${seed})`);
  return seed;
}

/**
 * Fixed keys for tests: key i is seeded by (i, salt, tag). Each layer's
 * fixtures use their own tag, so no two suites share a key by accident.
 */
export function seededKeys(count: number, salt: number, tag: number): KeyPair[] {
  assert.ok(count <= 256, "one seed byte numbers the keys");
  return Array.from({ length: count }, (_, i) => {
    const seed = new Uint8Array(32);
    seed[0] = i;
    seed[1] = salt;
    seed[31] = tag;
    return generateKeyPair(seed);
  });
}

/** Decodes, returning the CodecError instead of throwing it; anything else still throws. */
export function decodeOrCodecError<T>(codec: Codec<T>, bytes: Uint8Array): T | CodecError {
  try {
    return decodeWith(codec, bytes);
  } catch (error) {
    if (error instanceof CodecError) return error;
    throw error;
  }
}

/**
 * The properties every canonical codec has: values round-trip within
 * `maxBytes` and re-encode to the same bytes; truncations and trailing
 * bytes are CodecErrors; a mutated byte is a CodecError or decodes to a
 * value that re-encodes to exactly the mutated bytes; arbitrary bytes never
 * raise anything but a CodecError.
 */
export function codecProperties<T>(codec: Codec<T>, arbitrary: fc.Arbitrary<T>, seed: number): void {
  describe(`${codec.type} codec`, () => {
    it("round-trips within maxBytes", () => {
      fc.assert(
        fc.property(arbitrary, (value) => {
          const encoded = encodeWith(codec, value);
          assert.ok(
            encoded.byteLength <= codec.maxBytes,
            `${encoded.byteLength} > maxBytes ${codec.maxBytes}`,
          );
          const decoded = decodeWith(codec, encoded);
          assert.deepEqual(codec.toValue(decoded), codec.toValue(value));
          assert.deepEqual(encodeWith(codec, decoded), encoded);
        }),
        { seed, numRuns: 200 },
      );
    });

    it("rejects truncations and trailing bytes with a CodecError", () => {
      fc.assert(
        fc.property(
          arbitrary,
          fc.nat(),
          fc.uint8Array({ minLength: 1, maxLength: 4 }),
          (value, cut, extra) => {
            const encoded = encodeWith(codec, value);
            assert.ok(
              decodeOrCodecError(codec, encoded.subarray(0, cut % encoded.byteLength)) instanceof CodecError,
            );
            const trailing = decodeOrCodecError(codec, Buffer.concat([encoded, extra]));
            assert.ok(trailing instanceof CodecError);
            // Past maxBytes the size check speaks first.
            assert.ok(["TRAILING_BYTES", "MALFORMED", "OVERSIZE"].includes(trailing.code), trailing.code);
          },
        ),
        { seed, numRuns: 200 },
      );
    });

    it("rejects a mutated byte with a CodecError, or decodes it to a value that re-encodes to exactly those bytes", () => {
      fc.assert(
        fc.property(arbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), (value, position, xor) => {
          const mutated = new Uint8Array(encodeWith(codec, value));
          mutated[position % mutated.byteLength]! ^= xor;
          const result = decodeOrCodecError(codec, mutated);
          if (!(result instanceof CodecError)) assert.deepEqual(encodeWith(codec, result), mutated);
        }),
        { seed, numRuns: 300 },
      );
    });

    it("never raises anything but a CodecError on arbitrary bytes", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
          decodeOrCodecError(codec, bytes);
        }),
        { seed, numRuns: 200 },
      );
    });
  });
}
