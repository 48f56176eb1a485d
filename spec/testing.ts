/**
 * Test support shared by every layer's tests: the replayable seed, fixed
 * keys and the standard properties of a canonical codec. Imported by tests only
 * (it pulls in node:test), so it is not part of spec/index.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type Codec, decodeWith, type Encodable, encodeWith } from "./codec.ts";
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

/** A value to encode loosely: an Encodable, or string bytes given raw (which need not be UTF-8). */
export type LooseValue = Encodable | { readonly rawText: Uint8Array } | readonly LooseValue[];

/**
 * Encodes `value` with each msgpack header chosen among every form that
 * holds it: a number as fixint, uint 8..32, int 8..32, float 32 (when exact)
 * or float 64; a bigint as int 64 or uint 64; a string, bin or array length
 * in any form wide enough. `choices` picks the forms in turn. Most results
 * are valid msgpack of the same value but not its canonical encoding.
 */
export function looseEncode(value: LooseValue, choices: readonly number[]): Uint8Array {
  let next = 0;
  const pick = (forms: readonly number[][]): number[] =>
    forms[choices[next++ % choices.length]! % forms.length]!;
  const be = (size: number, write: (view: DataView) => void): number[] => {
    const view = new DataView(new ArrayBuffer(size));
    write(view);
    return [...new Uint8Array(view.buffer)];
  };
  /** Length headers: the fix form (when `fix` is given and the length fits), then 8, 16 and 32 bits. */
  const lengthForms = (length: number, fix: number | null, wide: readonly (number | null)[]): number[][] => {
    const forms: number[][] = [];
    if (fix !== null && length < (fix === 0x90 ? 16 : 32)) forms.push([fix | length]);
    if (wide[0] !== null && length < 0x100) forms.push([wide[0]!, length]);
    if (length < 0x10000) forms.push([wide[1]!, ...be(2, (v) => v.setUint16(0, length))]);
    forms.push([wide[2]!, ...be(4, (v) => v.setUint32(0, length))]);
    return forms;
  };
  const out: number[] = [];
  const walk = (v: LooseValue): void => {
    if (v === null) out.push(0xc0);
    else if (typeof v === "boolean") out.push(v ? 0xc3 : 0xc2);
    else if (typeof v === "number") {
      const forms: number[][] = [];
      if (Number.isInteger(v)) {
        if (v >= 0 && v < 0x80) forms.push([v]);
        if (v >= -32 && v < 0) forms.push([v & 0xff]);
        if (v >= 0 && v < 0x100) forms.push([0xcc, v]);
        if (v >= 0 && v < 0x10000) forms.push([0xcd, ...be(2, (d) => d.setUint16(0, v))]);
        if (v >= 0 && v < 2 ** 32) forms.push([0xce, ...be(4, (d) => d.setUint32(0, v))]);
        if (v >= -128 && v < 128) forms.push([0xd0, v & 0xff]);
        if (v >= -32768 && v < 32768) forms.push([0xd1, ...be(2, (d) => d.setInt16(0, v))]);
        if (v >= -(2 ** 31) && v < 2 ** 31) forms.push([0xd2, ...be(4, (d) => d.setInt32(0, v))]);
      }
      if (Math.fround(v) === v) forms.push([0xca, ...be(4, (d) => d.setFloat32(0, v))]);
      forms.push([0xcb, ...be(8, (d) => d.setFloat64(0, v))]);
      out.push(...pick(forms));
    } else if (typeof v === "bigint") {
      const forms: number[][] = [];
      if (v >= -(2n ** 63n) && v < 2n ** 63n) forms.push([0xd3, ...be(8, (d) => d.setBigInt64(0, v))]);
      if (v >= 0n && v < 2n ** 64n) forms.push([0xcf, ...be(8, (d) => d.setBigUint64(0, v))]);
      out.push(...pick(forms));
    } else if (typeof v === "string" || (!Array.isArray(v) && "rawText" in (v as object))) {
      const text = typeof v === "string" ? Buffer.from(v, "utf8") : (v as { rawText: Uint8Array }).rawText;
      out.push(...pick(lengthForms(text.byteLength, 0xa0, [0xd9, 0xda, 0xdb])), ...text);
    } else if (v instanceof Uint8Array) {
      out.push(...pick(lengthForms(v.byteLength, null, [0xc4, 0xc5, 0xc6])), ...v);
    } else {
      const items = v as readonly LooseValue[];
      out.push(...pick(lengthForms(items.length, 0x90, [null, 0xdc, 0xdd])));
      for (const item of items) walk(item);
    }
  };
  walk(value);
  return new Uint8Array(out);
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

    it("refuses every other encoding of a value (wider headers, floats for integers)", () => {
      looseEncodingsRefused(codec, arbitrary, seed);
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

/**
 * Encodes values loosely (`looseEncode`): the result decodes exactly when it
 * is the canonical encoding, and is refused as NON_CANONICAL (or WRONG_TYPE,
 * for an integer field written as a bigint's 64-bit form) otherwise.
 */
export function looseEncodingsRefused<T>(codec: Codec<T>, arbitrary: fc.Arbitrary<T>, seed?: number): void {
  fc.assert(
    fc.property(arbitrary, fc.array(fc.nat(), { minLength: 1, maxLength: 64 }), (value, choices) => {
      const canonical = encodeWith(codec, value);
      const loose = looseEncode(codec.toValue(value), choices);
      const result = decodeOrCodecError(codec, loose);
      if (Buffer.compare(loose, canonical) === 0) assert.ok(!(result instanceof CodecError), String(result));
      else
        assert.ok(
          result instanceof CodecError && ["NON_CANONICAL", "WRONG_TYPE", "OVERSIZE"].includes(result.code),
          `loose encoding accepted or refused for another reason: ${String(result)}`,
        );
    }),
    { seed, numRuns: 300 },
  );
}
