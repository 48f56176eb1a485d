import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CodecError, decodeWith, encodeWith } from "../spec/index.ts";
import { amount, bytes, index } from "./arbitraries.ts";
import { TOKENS_PER_FRAME_MAX } from "./constants.ts";
import {
  ClientFrameCodec,
  DONE_REASONS,
  decodeProviderFrame,
  encodeProviderFrame,
  type ProviderFrame,
  ProviderFrameCodec,
  type TokenFrame,
  type TokensFrame,
} from "./frames.ts";
import { codecProperties, runSeed } from "./test-fixtures.ts";

const seed = runSeed("market frames.test");

const voucher = fc.record({
  chainId: fc.string({ maxLength: 64, unit: "grapheme-ascii" }),
  channelId: bytes(32),
  cumulativeAmount: amount,
  sequence: index,
  signature: bytes(64),
});
const tokenText = fc.string({ maxLength: 4, unit: "grapheme" }).filter((t) => Buffer.byteLength(t) <= 16);
const token: fc.Arbitrary<TokenFrame> = fc.record({
  type: fc.constant("token" as const),
  index: fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: 2 ** 32 + 5 }), index),
  id: fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: 2 ** 32 - 1 })),
  text: tokenText,
});

const tokenId = fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: 2 ** 32 - 1 }));
const tokens: fc.Arbitrary<TokensFrame> = fc
  .array(fc.tuple(tokenId, fc.oneof(fc.constantFrom("a", " ", "~", ""), tokenText)), {
    minLength: 1,
    maxLength: TOKENS_PER_FRAME_MAX,
  })
  .chain((pairs) =>
    fc.record({
      type: fc.constant("tokens" as const),
      index: fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: 2 ** 32 + 5 }), index),
      ids: fc.constant(pairs.map(([id]) => id)),
      texts: fc.constant(pairs.map(([, text]) => text)),
    }),
  );

codecProperties(
  ClientFrameCodec,
  fc.oneof(
    fc.record({
      type: fc.constant("request" as const),
      requestId: bytes(16),
      podId: bytes(32),
      model: bytes(32),
      prompt: fc.string({ maxLength: 64 }),
      maxTokens: index,
      temperatureMilli: index,
      topK: index,
      seed: index,
      channelId: bytes(32),
      maxPricePerToken: amount,
    }),
    fc.record({ type: fc.constant("pay" as const), voucher }),
    fc.record({ type: fc.constant("cancel" as const), reason: fc.string({ maxLength: 32 }) }),
  ),
  seed,
);

const providerFrame: fc.Arbitrary<ProviderFrame> = fc.oneof(
  fc.record({
    type: fc.constant("accepted" as const),
    requestId: bytes(16),
    pricePerToken: amount,
    creditWindowTokens: fc.nat({ max: 4096 }),
  }),
  token,
  tokens,
  fc.record({ type: fc.constant("done" as const), tokens: index, reason: fc.constantFrom(...DONE_REASONS) }),
  fc.record({
    type: fc.constant("refused" as const),
    code: fc.string({ maxLength: 16 }),
    message: fc.string({ maxLength: 32 }),
  }),
);
codecProperties(ProviderFrameCodec, providerFrame, seed);

function outcome(decode: (b: Uint8Array) => ProviderFrame, input: Uint8Array): ProviderFrame | string {
  try {
    return decode(input);
  } catch (error) {
    if (error instanceof CodecError) return "CodecError";
    throw error;
  }
}

const FAST_PATHS = [
  {
    kind: "token",
    frames: token,
    // Non-canonical integers and strings go to the generic codec, which refuses them.
    refused: ["9402cc0541a141", "94020041d90141", "9402004102c3a9", "9402cd007f41a141"],
  },
  {
    kind: "tokens",
    frames: tokens,
    // Empty batches, ids and texts of different counts, and oversized batches are refused.
    refused: ["94050090 90", "9405009141 92a141a142", "940500dc0010 dc0010"],
  },
];

for (const { kind, frames, refused } of FAST_PATHS) {
  describe(`${kind} frame fast path`, () => {
    it("encodes exactly the generic codec's bytes", () => {
      fc.assert(
        fc.property(frames, (frame) => {
          assert.deepEqual(encodeProviderFrame(frame), encodeWith(ProviderFrameCodec, frame));
        }),
        { seed, numRuns: 1000 },
      );
    });

    it("decodes (or refuses) every byte string exactly as the generic codec does", () => {
      const generic = (b: Uint8Array) => decodeWith(ProviderFrameCodec, b);
      fc.assert(
        fc.property(
          frames,
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
          fc.nat({ max: 3 }),
          (frame, flips, cut) => {
            const mutated = new Uint8Array(encodeWith(ProviderFrameCodec, frame));
            for (const [at, xor] of flips) mutated[at % mutated.length]! ^= xor;
            const input = mutated.subarray(0, Math.max(1, mutated.length - cut));
            assert.deepEqual(outcome(decodeProviderFrame, input), outcome(generic, input));
          },
        ),
        { seed, numRuns: 3000 },
      );
      for (const hex of refused) {
        assert.equal(
          outcome(decodeProviderFrame, Buffer.from(hex.replaceAll(" ", ""), "hex")),
          "CodecError",
          hex,
        );
      }
    });
  });
}
