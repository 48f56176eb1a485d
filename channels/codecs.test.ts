import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  AMOUNT_MAX,
  type Codec,
  CodecError,
  decodeWith,
  encode,
  encodeWith,
  type Voucher,
} from "../spec/index.ts";
import { codecProperties, runSeed } from "../spec/testing.ts";
import { END_REASON_BYTES_MAX } from "./constants.ts";
import type { ChannelError } from "./errors.ts";
import { CHANNEL_EVENT_CODECS, decodeChannelEvent, encodeChannelEvent, SettlementKind } from "./events.ts";
import { channelRecordToJson, parseChannelRecordJson } from "./json.ts";
import { PayeeRecordCodec, PayerRecordCodec } from "./local-records.ts";
import { ChannelMessageCodec, truncateReason } from "./messages.ts";
import {
  ChannelChallengeCodec,
  ChannelCloseCodec,
  ChannelCooperativeCloseCodec,
  ChannelOpenCodec,
  ChannelSettleCodec,
  ChannelTopUpCodec,
} from "./payloads.ts";
import { type ChannelRecord, ChannelRecordCodec } from "./record.ts";

const seed = runSeed("channels codecs.test");

const amount = fc.bigInt({ min: 0n, max: AMOUNT_MAX });
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const index = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const voucher: fc.Arbitrary<Voucher> = fc.record({
  chainId: fc.string({ maxLength: 64, unit: "grapheme-ascii" }),
  channelId: bytes(32),
  cumulativeAmount: amount,
  sequence: index,
  signature: bytes(64),
});
const closing = fc.record({ amount, sequence: index, startedAtCommit: index, deadlineCommit: index });

const peer = fc.string({ maxLength: 128, unit: "grapheme-ascii" });
const chainId = fc.string({ maxLength: 64, unit: "grapheme-ascii" });
const localState = fc.constantFrom(0, 1, 2);

const CHANNEL_CODEC_CASES: [Codec<never>, fc.Arbitrary<never>][] = [
  [ChannelOpenCodec, fc.record({ payee: bytes(20), deposit: amount, challengePeriod: index })],
  [ChannelTopUpCodec, fc.record({ channelId: bytes(32), amount })],
  [ChannelCloseCodec, fc.record({ channelId: bytes(32), voucher: fc.option(voucher, { nil: null }) })],
  [ChannelChallengeCodec, fc.record({ channelId: bytes(32), voucher })],
  [ChannelSettleCodec, fc.record({ channelId: bytes(32) })],
  [
    ChannelCooperativeCloseCodec,
    fc.record({
      channelId: bytes(32),
      payeeAmount: amount,
      payeePublicKey: bytes(32),
      payerSignature: bytes(64),
      payeeSignature: bytes(64),
    }),
  ],
  [
    ChannelRecordCodec,
    fc.record({
      payer: bytes(20),
      payerPublicKey: bytes(32),
      payee: bytes(20),
      deposit: amount,
      challengePeriod: index,
      openedAtCommit: index,
      closing: fc.option(closing, { nil: null }),
    }),
  ],
  [
    CHANNEL_EVENT_CODECS["channel.opened"],
    fc.record({
      channelId: bytes(32),
      payer: bytes(20),
      payee: bytes(20),
      deposit: amount,
      challengePeriod: index,
    }),
  ],
  [
    CHANNEL_EVENT_CODECS["channel.topped-up"],
    fc.record({ channelId: bytes(32), amount, deposit: amount, closeCancelled: fc.boolean() }),
  ],
  [
    CHANNEL_EVENT_CODECS["channel.close-started"],
    fc.record({ channelId: bytes(32), amount, sequence: index, deadlineCommit: index }),
  ],
  [CHANNEL_EVENT_CODECS["channel.challenged"], fc.record({ channelId: bytes(32), amount, sequence: index })],
  [
    CHANNEL_EVENT_CODECS["channel.settled"],
    fc.record({
      channelId: bytes(32),
      payeeAmount: amount,
      payerAmount: amount,
      how: fc.constantFrom(...Object.values(SettlementKind)),
    }),
  ],
  [
    PayerRecordCodec,
    fc.record({
      chainId,
      channelId: bytes(32),
      payee: bytes(20),
      payeePeer: peer,
      deposit: amount,
      challengePeriod: index,
      spent: amount,
      sequence: index,
      voucher: fc.option(voucher, { nil: null }),
      receivedAmount: amount,
      state: localState,
    }),
  ],
  [
    PayeeRecordCodec,
    fc.record({
      chainId,
      channelId: bytes(32),
      payer: bytes(20),
      payerPublicKey: bytes(32),
      payerPeer: peer,
      deposit: amount,
      challengePeriod: index,
      voucher: fc.option(voucher, { nil: null }),
      deliveredAmount: amount,
      state: localState,
    }),
  ],
  [
    ChannelMessageCodec,
    fc.oneof(
      fc.record({
        type: fc.constant("quote" as const),
        channelId: bytes(32),
        unit: fc.string({ maxLength: 32, unit: "grapheme-ascii" }),
        pricePerUnit: amount,
      }),
      fc.record({ type: fc.constant("voucher" as const), voucher }),
      fc.record({
        type: fc.constant("status" as const),
        channelId: bytes(32),
        deliveredAmount: amount,
        acceptedAmount: amount,
        acceptedSequence: index,
        waiting: fc.boolean(),
      }),
      fc.record({
        type: fc.constant("end" as const),
        channelId: bytes(32),
        reason: fc.string({ maxLength: 128, unit: "grapheme-ascii" }),
      }),
    ),
  ],
] as [Codec<never>, fc.Arbitrary<never>][];

for (const [codec, arbitrary] of CHANNEL_CODEC_CASES) codecProperties(codec, arbitrary, seed);

describe("channel messages", () => {
  it("refuse an unknown type and a type with another type's fields", () => {
    assert.throws(() => decodeWith(ChannelMessageCodec, encode([9, new Uint8Array(32), "x"])), CodecError);
    assert.throws(
      () => decodeWith(ChannelMessageCodec, encode([4, new Uint8Array(32), "x", 1n])),
      CodecError,
    );
    assert.throws(() => decodeWith(ChannelMessageCodec, encode(["quote"])), CodecError);
  });

  it("cut an end reason to its bound on a character boundary", () => {
    const reason = truncateReason("é".repeat(200));
    assert.ok(Buffer.byteLength(reason) <= END_REASON_BYTES_MAX);
    assert.equal(reason, "é".repeat(END_REASON_BYTES_MAX / 2));
  });
});

describe("channel events", () => {
  it("decode by name, and refuse another name or a settlement kind out of range", () => {
    const event = {
      name: "channel.settled" as const,
      channelId: new Uint8Array(32).fill(1),
      payeeAmount: 5n,
      payerAmount: 6n,
      how: SettlementKind.Cooperative,
    };
    const { name, data } = encodeChannelEvent(event);
    assert.deepEqual(decodeChannelEvent(name, data), event);
    assert.throws(() => decodeChannelEvent("channel.nope", data), CodecError);
    assert.throws(() => decodeChannelEvent("channel.opened", data), CodecError);
    const bad = encodeChannelEvent({ ...event, how: 3 as never });
    assert.throws(() => decodeChannelEvent(bad.name, bad.data), CodecError);
  });
});

describe("channel record JSON (RPC form)", () => {
  const recordArbitrary = CHANNEL_CODEC_CASES.find(
    ([codec]) => codec === ChannelRecordCodec,
  )![1] as unknown as fc.Arbitrary<ChannelRecord>;

  it("round-trips through JSON text", () => {
    fc.assert(
      fc.property(bytes(32), recordArbitrary, (channelId, record) => {
        const text = JSON.stringify(channelRecordToJson(channelId, record));
        const parsed = parseChannelRecordJson(JSON.parse(text));
        assert.deepEqual(parsed.channelId, channelId);
        assert.deepEqual(
          encodeWith(ChannelRecordCodec, parsed.record),
          encodeWith(ChannelRecordCodec, record),
        );
      }),
      { seed, numRuns: 100 },
    );
  });

  it("refuses malformed fields with CORRUPT_RECORD", () => {
    const good = channelRecordToJson(new Uint8Array(32), {
      payer: new Uint8Array(20),
      payerPublicKey: new Uint8Array(32),
      payee: new Uint8Array(20).fill(1),
      deposit: 5n,
      challengePeriod: 10,
      openedAtCommit: 1,
      closing: null,
    });
    const broken: unknown[] = [
      null,
      { ...good, channelId: "zz" },
      { ...good, payer: "hs1nope" },
      { ...good, deposit: "-1" },
      { ...good, deposit: "18446744073709551616" },
      { ...good, challengePeriod: 1.5 },
      { ...good, closing: { amount: "1", sequence: 1, startedAtCommit: 1 } },
      { ...good, closing: "soon" },
    ];
    for (const json of broken) {
      assert.throws(
        () => parseChannelRecordJson(json),
        (e: ChannelError) => e.code === "CORRUPT_RECORD",
      );
    }
  });
});
