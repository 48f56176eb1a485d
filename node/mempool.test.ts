import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  addressFromPublicKey,
  decodeTransaction,
  encodeTransaction,
  generateKeyPair,
  type KeyPair,
  signTransaction,
  toHex,
} from "../spec/index.ts";
import { FALLBACK_AFTER_MS, Mempool, MempoolError, REPLACEMENT_FEE_BUMP_PERCENT } from "./mempool.ts";

const CHAIN = "mempool-test";
const REF = { round: 1, author: 0, digest: new Uint8Array(32) };

function tx(keys: KeyPair, nonce: number, fee = 10n, chainId = CHAIN): Uint8Array {
  return encodeTransaction(
    signTransaction(
      { chainId, sender: keys.publicKey, nonce, fee, kind: "transfer", payload: new Uint8Array(8) },
      keys,
    ),
  );
}

function pool(
  nonces = new Map<string, number>(),
  options: { assigned?: boolean; now?: () => number; max?: number } = {},
) {
  return new Mempool({
    chainId: CHAIN,
    nextNonce: (address) => nonces.get(toHex(address)) ?? 0,
    isAssigned: () => options.assigned ?? true,
    nowMs: options.now ?? (() => 0),
    maxTransactions: options.max,
  });
}

const code = (c: string) => (e: unknown) => e instanceof MempoolError && e.code === c;

describe("Mempool", () => {
  it("refuses malformed, badly signed, wrong-chain, stale and duplicate transactions with typed errors", () => {
    const keys = generateKeyPair();
    const nonces = new Map([[toHex(addressFromPublicKey(keys.publicKey)), 5]]);
    const mempool = pool(nonces);
    assert.throws(() => mempool.add(new Uint8Array([1, 2, 3])), code("MALFORMED"));
    const bad = new Uint8Array(tx(keys, 5));
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    assert.throws(() => mempool.add(bad), code("BAD_SIGNATURE"));
    assert.throws(() => mempool.add(tx(keys, 5, 10n, "other-chain")), code("WRONG_CHAIN"));
    assert.throws(() => mempool.add(tx(keys, 4)), code("STALE_NONCE"));
    mempool.add(tx(keys, 5));
    assert.throws(() => mempool.add(tx(keys, 5)), code("DUPLICATE"));
    assert.equal(mempool.size, 1);
  });

  it("replaces a conflicting transaction only with a high enough fee and only before it is proposed", () => {
    const keys = generateKeyPair();
    const mempool = pool();
    mempool.add(tx(keys, 0, 100n));
    assert.throws(
      () => mempool.add(tx(keys, 0, 100n + REPLACEMENT_FEE_BUMP_PERCENT - 1n)),
      code("UNDERPRICED_REPLACEMENT"),
    );
    mempool.add(tx(keys, 0, 100n + REPLACEMENT_FEE_BUMP_PERCENT));
    assert.equal(mempool.size, 1);
    assert.equal(mempool.pull(1 << 20, 10).length, 1);
    assert.throws(() => mempool.add(tx(keys, 0, 1000n)), code("ALREADY_PROPOSED"));
  });

  it("pulls each sender's contiguous nonces in order, each at most once until dropped", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat(12), { maxLength: 12 }), { minLength: 1, maxLength: 4 }),
        (perSender) => {
          const senders = perSender.map(() => generateKeyPair());
          const mempool = pool();
          perSender.forEach((nonces, i) => {
            for (const nonce of new Set(nonces)) mempool.add(tx(senders[i] as KeyPair, nonce));
          });
          const pulled = mempool.pull(1 << 20, 1_000).map(decodeTransaction);
          perSender.forEach((nonces, i) => {
            const set = new Set(nonces);
            let expected = 0;
            while (set.has(expected)) expected++;
            const mine = pulled.filter((t) => toHex(t.sender) === toHex((senders[i] as KeyPair).publicKey));
            assert.deepEqual(
              mine.map((t) => t.nonce),
              Array.from({ length: expected }, (_, n) => n),
            );
          });
          assert.equal(mempool.pull(1 << 20, 1_000).length, 0, "proposed transactions are not pulled twice");
          mempool.notify(REF, pulled.map(encodeTransaction), "dropped");
          assert.equal(mempool.pull(1 << 20, 1_000).length, pulled.length, "dropped transactions come back");
        },
      ),
      { numRuns: 30 },
    );
  });

  it("respects the byte and count limits of a block", () => {
    const keys = generateKeyPair();
    const mempool = pool();
    const size = tx(keys, 0).byteLength;
    for (let n = 0; n < 10; n++) mempool.add(tx(keys, n));
    assert.equal(mempool.pull(size * 3 + 1, 100).length, 3);
    assert.equal(mempool.pull(1 << 20, 2).length, 2);
  });

  it("leaves unassigned senders to their validator until the fallback delay passes", () => {
    let now = 0;
    const keys = generateKeyPair();
    const mempool = pool(new Map(), { assigned: false, now: () => now });
    mempool.add(tx(keys, 0));
    assert.equal(mempool.pull(1 << 20, 10).length, 0);
    now = FALLBACK_AFTER_MS - 1;
    assert.equal(mempool.pull(1 << 20, 10).length, 0);
    now = FALLBACK_AFTER_MS;
    assert.equal(mempool.pull(1 << 20, 10).length, 1);
  });

  it("refuses a new transaction when full before checking its signature, but still checks a replacement's", () => {
    const keys = generateKeyPair();
    const mempool = pool(new Map(), { max: 2 });
    mempool.add(tx(keys, 0));
    mempool.add(tx(keys, 1));
    const badlySigned = (nonce: number, fee = 10n) => {
      const bytes = tx(keys, nonce, fee);
      bytes[bytes.length - 1]! ^= 1; // the signature is the last field
      return bytes;
    };
    // Full: refused as FULL, so no verification was spent on it.
    assert.throws(() => mempool.add(badlySigned(2)), code("FULL"));
    // A replacement frees its own slot, so its signature is checked, and a bad one evicts nothing.
    assert.throws(() => mempool.add(badlySigned(1, 100n)), code("BAD_SIGNATURE"));
    assert.equal(mempool.size, 2);
    mempool.add(tx(keys, 1, 100n));
    assert.equal(mempool.size, 2);
  });

  it("prunes executed nonces and refuses new transactions when full", () => {
    const keys = generateKeyPair();
    const nonces = new Map<string, number>();
    const mempool = pool(nonces, { max: 3 });
    for (let n = 0; n < 3; n++) mempool.add(tx(keys, n));
    assert.throws(() => mempool.add(tx(keys, 3)), code("FULL"));
    nonces.set(toHex(addressFromPublicKey(keys.publicKey)), 2);
    mempool.pruneExecuted([addressFromPublicKey(keys.publicKey)]);
    assert.equal(mempool.size, 1);
    mempool.add(tx(keys, 3));
  });
});
