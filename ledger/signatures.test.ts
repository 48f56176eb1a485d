import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { generateKeyPair, sign, verify } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { prepareTransactions, prepareTransactionsParallel } from "./prepare.ts";
import { verifySignatures } from "./signatures.ts";
import { arbitraryCommits, buildOps, CHAIN_ID } from "./test-fixtures.ts";

const seed = runSeed("signatures.test");

const keys = Array.from({ length: 4 }, (_, i) => generateKeyPair(new Uint8Array(32).fill(i + 1)));

/** A check that is valid, or broken in one of the ways a peer could break it. */
const arbitraryCheck = fc
  .record({
    signer: fc.nat({ max: keys.length - 1 }),
    claimed: fc.nat({ max: keys.length - 1 }),
    message: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    flip: fc.option(fc.nat({ max: 63 }), { nil: null }),
    randomKey: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: null }),
    cut: fc.boolean(),
  })
  .map(({ signer, claimed, message, flip, randomKey, cut }) => {
    let signature = sign(message, keys[signer]!.secretKey);
    if (flip !== null) {
      signature = new Uint8Array(signature);
      signature[flip]! ^= 0x01;
    }
    if (cut) signature = signature.subarray(0, 63);
    return { signature, message, publicKey: randomKey ?? keys[claimed]!.publicKey };
  });

it("agrees with spec verify on valid and invalid signatures, item by item", async () => {
  const message = new Uint8Array(32).fill(9);
  const good = { signature: sign(message, keys[0]!.secretKey), message, publicKey: keys[0]!.publicKey };
  assert.deepEqual(await verifySignatures([good, { ...good, publicKey: keys[1]!.publicKey }]), [true, false]);
  await fc.assert(
    fc.asyncProperty(fc.array(arbitraryCheck, { maxLength: 20 }), async (checks) => {
      const parallel = await verifySignatures(checks);
      assert.deepEqual(
        parallel,
        checks.map((c) => verify(c.signature, c.message, c.publicKey)),
      );
    }),
    { seed, numRuns: 100 },
  );
});

it("refuses a small-order public key, whose all-zero signature OpenSSL would accept for any message", async () => {
  // The identity point: with s = 0 and R = identity, the verification equation holds for every message.
  const identity = new Uint8Array(32);
  identity[0] = 1;
  const zeroS = new Uint8Array(64);
  zeroS[0] = 1;
  const message = new Uint8Array(32).fill(3);
  assert.equal(verify(zeroS, message, identity), false);
  assert.deepEqual(await verifySignatures([{ signature: zeroS, message, publicKey: identity }]), [false]);
});

it("prepares a commit identically on one thread and on the thread pool", async () => {
  await fc.assert(
    fc.asyncProperty(arbitraryCommits, async (commits) => {
      const txs = buildOps(commits.flat(), () => 0, []);
      assert.deepEqual(await prepareTransactionsParallel(txs, CHAIN_ID), prepareTransactions(txs, CHAIN_ID));
    }),
    { seed, numRuns: 40 },
  );
});
