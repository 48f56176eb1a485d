import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AMOUNT_MAX, generateKeyPair, signVoucher, verifyVoucher } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { createVoucherSigner } from "./signer.ts";

const seed = runSeed("channels signer.test");

describe("the node:crypto voucher signer", () => {
  it("signs exactly the bytes noble signs, and they verify", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.string({ maxLength: 64, unit: "grapheme-ascii" }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.bigInt({ min: 0n, max: AMOUNT_MAX }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        (secret, chainId, channelId, cumulativeAmount, sequence) => {
          const keys = generateKeyPair(secret);
          const body = { chainId, channelId, cumulativeAmount, sequence };
          const fast = createVoucherSigner(keys).sign(body);
          const reference = signVoucher(body, keys.secretKey);
          assert.deepEqual(fast, reference);
          assert.ok(verifyVoucher(fast, keys.publicKey));
        },
      ),
      { seed, numRuns: 100 },
    );
  });

  it("refuses a seed of the wrong size", () => {
    assert.throws(
      () => createVoucherSigner({ secretKey: new Uint8Array(31), publicKey: new Uint8Array(32) }),
      RangeError,
    );
  });
});
