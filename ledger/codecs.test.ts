import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type Codec, CodecError, decodeWith, encodeWith } from "../spec/index.ts";
import { codecProperties, runSeed } from "../spec/testing.ts";
import { MULTIADDRS_MAX } from "./constants.ts";
import { StakePayloadCodec, TransferPayloadCodec, UnstakePayloadCodec } from "./core-payloads.ts";
import { CommitRecordCodec } from "./meta.ts";
import { type Receipt, ReceiptCodec } from "./receipt.ts";
import { AmountCodec, ChainParamsCodec } from "./state-keys.ts";
import { ValidatorEntryCodec } from "./validator.ts";

const seed = runSeed("ledger codecs.test");

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

for (const [codec, arbitrary] of CASES) codecProperties(codec, arbitrary, seed);

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
