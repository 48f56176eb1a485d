import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type Codec, CodecError, decodeWith, encodeWith } from "../spec/index.ts";
import { MULTIADDRS_MAX } from "./constants.ts";
import { StakePayloadCodec, TransferPayloadCodec, UnstakePayloadCodec } from "./core-payloads.ts";
import { CommitRecordCodec } from "./meta.ts";
import { type Receipt, ReceiptCodec } from "./receipt.ts";
import { AmountCodec, ChainParamsCodec } from "./state-keys.ts";
import { ValidatorEntryCodec } from "./validator.ts";

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`codecs.test seed=${seed} (replay with FC_SEED=${seed})`);

const amount = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const text = (maxLength: number) => fc.string({ maxLength, unit: "grapheme-ascii" });
const index = fc.nat({ max: Number.MAX_SAFE_INTEGER });

const arbitraryReceipt: fc.Arbitrary<Receipt> = fc.record({
  txHash: bytes(32),
  commitIndex: index,
  position: fc.nat({ max: 200_000 }),
  sender: bytes(20),
  nonce: index,
  kind: text(32),
  success: fc.boolean(),
  errorCode: text(64),
  errorMessage: fc.string({ maxLength: 60 }),
  feePaid: amount,
  feeBurned: amount,
  events: fc.array(fc.record({ name: text(32), data: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 4 }),
});

const CASES: [Codec<never>, fc.Arbitrary<never>][] = [
  [TransferPayloadCodec, fc.record({ to: bytes(20), amount })],
  [
    StakePayloadCodec,
    fc.record({
      amount,
      name: text(64),
      peerId: text(128),
      multiaddrs: fc.array(text(100), { maxLength: MULTIADDRS_MAX }),
    }),
  ],
  [UnstakePayloadCodec, fc.record({ amount })],
  [
    ValidatorEntryCodec,
    fc.record({
      publicKey: bytes(32),
      stake: amount,
      name: fc.string({ maxLength: 16 }),
      peerId: text(60),
      multiaddrs: fc.array(text(60), { maxLength: MULTIADDRS_MAX }),
    }),
  ],
  [ReceiptCodec, arbitraryReceipt],
  [
    ChainParamsCodec,
    fc.record({ chainId: text(64), genesisTimeMs: index, minValidatorStake: amount, minFee: amount }),
  ],
  [
    CommitRecordCodec,
    fc.record({
      index,
      stateRoot: bytes(32),
      timestampMs: index,
      executed: index,
      failed: index,
      rejected: index,
    }),
  ],
  [AmountCodec, amount],
] as [Codec<never>, fc.Arbitrary<never>][];

function decodeOrError<T>(codec: Codec<T>, input: Uint8Array): T | CodecError {
  try {
    return decodeWith(codec, input);
  } catch (error) {
    if (error instanceof CodecError) return error;
    throw error;
  }
}

for (const [codec, arbitrary] of CASES) {
  describe(`${codec.type} codec`, () => {
    it("round-trips", () => {
      fc.assert(
        fc.property(arbitrary, (value) => {
          const encoded = encodeWith(codec, value);
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
              decodeOrError(codec, encoded.subarray(0, cut % encoded.byteLength)) instanceof CodecError,
            );
            assert.ok(decodeOrError(codec, Buffer.concat([encoded, extra])) instanceof CodecError);
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
          const result = decodeOrError(codec, mutated);
          if (!(result instanceof CodecError)) assert.deepEqual(encodeWith(codec, result), mutated);
        }),
        { seed, numRuns: 300 },
      );
    });
  });
}

describe("bounds", () => {
  it("rejects a stake payload with too many multiaddrs and a validator with a short key", () => {
    const tooMany = encodeWith(StakePayloadCodec, {
      amount: 1n,
      name: "",
      peerId: "",
      multiaddrs: Array.from({ length: MULTIADDRS_MAX + 1 }, () => "/ip4/1.1.1.1"),
    });
    assert.throws(() => decodeWith(StakePayloadCodec, tooMany), CodecError);
    const shortKey = encodeWith(ValidatorEntryCodec, {
      publicKey: new Uint8Array(31),
      stake: 1n,
      name: "",
      peerId: "",
      multiaddrs: [],
    });
    assert.throws(() => decodeWith(ValidatorEntryCodec, shortKey), CodecError);
  });
});
