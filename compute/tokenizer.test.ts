import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ComputeError } from "./errors.ts";
import { contextWindow, decodeTokens, encodeText, PAD_TOKEN, TokenStreamDecoder } from "./tokenizer.ts";

const SEED = Number(process.env.COMPUTE_TEST_SEED ?? 7);
const params = { seed: SEED, numRuns: 300 };
process.stderr.write(`tokenizer property tests: fast-check seed ${SEED} (COMPUTE_TEST_SEED replays)\n`);

describe("byte tokenizer", () => {
  it("decode(encode(text)) is text for any well-formed string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (text) => {
        assert.equal(decodeTokens(encodeText(text)), text);
      }),
      params,
    );
  });

  it("encode(decode(bytes)) is bytes for any valid UTF-8, and every token is a byte", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        const bytes = encodeText(text);
        for (const token of bytes) assert.ok(token >= 0 && token < 256);
        assert.deepEqual(encodeText(decodeTokens(bytes)), bytes);
      }),
      params,
    );
  });

  it("streaming decode, one token at a time, equals decoding the whole, for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoder = new TokenStreamDecoder();
        let streamed = "";
        for (const token of bytes) streamed += decoder.push(token);
        streamed += decoder.flush();
        assert.equal(streamed, decodeTokens(bytes));
      }),
      params,
    );
  });

  it("rejects token ids that are not bytes with a typed error", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 256 }), fc.integer({ max: -1 }), fc.double({ noInteger: true })),
        (bad) => {
          assert.throws(
            () => decodeTokens([65, bad]),
            (error) => error instanceof ComputeError && error.code === "BAD_REQUEST",
          );
          assert.throws(() => new TokenStreamDecoder().push(bad), ComputeError);
        },
      ),
      params,
    );
  });

  it("pads contexts on the left with the pad token", () => {
    const into = new Int32Array(4);
    contextWindow([1, 2, 3], 3, 4, into);
    assert.deepEqual([...into], [PAD_TOKEN, 1, 2, 3]);
    contextWindow([1, 2, 3, 4, 5, 6], 5, 4, into);
    assert.deepEqual([...into], [2, 3, 4, 5]);
  });
});
