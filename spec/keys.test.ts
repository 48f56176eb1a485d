import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { addressFromPublicKey, formatAddress, parseAddress } from "./address.ts";
import { arbitraryBlock, arbitraryTransaction, arbitraryVoucher } from "./arbitraries.ts";
import { blockDigest } from "./block.ts";
import { Domain } from "./constants.ts";
import { AddressError } from "./errors.ts";
import { hash, sha256 } from "./hash.ts";
import {
  createSigner,
  generateKeyPair,
  sign,
  signReference,
  verify,
  verifyReference,
  verifyRemembered,
} from "./keys.ts";
import {
  isVerifiedTransaction,
  signTransaction,
  transactionDigest,
  verifyTransaction,
} from "./transaction.ts";
import { voucherDigest } from "./voucher.ts";

const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ maxLength: 96 });
/** The group order L; s >= L makes a signature non-canonical. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function leBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

function leValue(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  return value;
}

/** Encodings of the eight small-order points (and some non-canonical forms of them). */
const SMALL_ORDER = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map((h) => new Uint8Array(Buffer.from(h, "hex")));

describe("ed25519", () => {
  it("signatures verify with both implementations", () => {
    fc.assert(
      fc.property(seed, message, (secret, msg) => {
        const keys = generateKeyPair(secret);
        const signature = sign(msg, keys.secretKey);
        assert.equal(verify(signature, msg, keys.publicKey), true);
        assert.equal(verifyReference(signature, msg, keys.publicKey), true);
      }),
      { numRuns: 200 },
    );
  });

  it("node:crypto and noble agree on mutated signatures, messages and keys", () => {
    fc.assert(
      fc.property(
        seed,
        message,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.nat(2),
        (secret, msg, at, flip, what) => {
          const keys = generateKeyPair(secret);
          let signature = sign(msg, keys.secretKey);
          let publicKey = keys.publicKey;
          let signed = msg;
          if (what === 0) {
            signature = new Uint8Array(signature);
            signature[at % 64] = (signature[at % 64] ?? 0) ^ flip;
          } else if (what === 1) {
            publicKey = new Uint8Array(publicKey);
            publicKey[at % 32] = (publicKey[at % 32] ?? 0) ^ flip;
          } else {
            signed = new Uint8Array([...msg, flip]);
          }
          const fast = verify(signature, signed, publicKey);
          assert.equal(fast, verifyReference(signature, signed, publicKey));
          assert.equal(fast, false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("node:crypto and noble agree on random bytes, small-order keys and non-canonical s", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        message,
        (signature, publicKey, msg) => {
          assert.equal(verify(signature, msg, publicKey), verifyReference(signature, msg, publicKey));
        },
      ),
      { numRuns: 300 },
    );
    for (const publicKey of SMALL_ORDER) {
      for (const r of SMALL_ORDER) {
        const signature = new Uint8Array([...r, ...new Uint8Array(32)]);
        const msg = new Uint8Array([1, 2, 3]);
        assert.equal(verify(signature, msg, publicKey), verifyReference(signature, msg, publicKey));
      }
    }
    fc.assert(
      fc.property(seed, message, (secret, msg) => {
        const keys = generateKeyPair(secret);
        const signature = sign(msg, keys.secretKey);
        const s = leValue(signature.subarray(32));
        const malleated = new Uint8Array([...signature.subarray(0, 32), ...leBytes(s + L, 32)]);
        assert.equal(verify(malleated, msg, keys.publicKey), false);
        assert.equal(verifyReference(malleated, msg, keys.publicKey), false);
      }),
      { numRuns: 100 },
    );
  });

  it("the node:crypto signer produces exactly noble's signatures", () => {
    fc.assert(
      fc.property(seed, message, (secret, msg) => {
        assert.deepEqual(createSigner(secret)(msg), signReference(msg, secret));
        assert.deepEqual(sign(msg, secret), signReference(msg, secret));
      }),
      { numRuns: 200 },
    );
  });

  it("rejects wrong lengths without throwing", () => {
    const keys = generateKeyPair();
    const signature = sign(new Uint8Array(1), keys.secretKey);
    assert.equal(verify(signature.subarray(1), new Uint8Array(1), keys.publicKey), false);
    assert.equal(verify(signature, new Uint8Array(1), keys.publicKey.subarray(1)), false);
    assert.equal(ed25519.verify(signature, new Uint8Array(1), keys.publicKey), true);
  });
});

describe("verified-signature cache", () => {
  it("remembers only valid signatures: after a valid one, any other signature, body or sender is checked afresh", () => {
    fc.assert(
      fc.property(
        seed,
        seed,
        arbitraryTransaction,
        fc.nat({ max: 63 }),
        fc.nat({ max: 7 }),
        (secret, otherSecret, tx, flipByte, flipBit) => {
          const keys = generateKeyPair(secret);
          const signed = signTransaction({ ...tx, sender: keys.publicKey }, keys);
          assert.equal(verifyTransaction(signed), true);
          assert.equal(isVerifiedTransaction(signed), true);

          const signature = new Uint8Array(signed.signature);
          signature[flipByte]! ^= 1 << flipBit;
          const forged = { ...signed, signature };
          assert.equal(verifyTransaction(forged), false);
          assert.equal(isVerifiedTransaction(forged), false, "an invalid result is never cached");
          assert.equal(verifyTransaction(forged), false);

          const other = generateKeyPair(otherSecret);
          if (Buffer.compare(other.publicKey, keys.publicKey) !== 0) {
            const stolen = { ...signed, sender: other.publicKey };
            assert.equal(verifyTransaction(stolen), false, "the digest covers the sender");
          }
          const renonced = { ...signed, nonce: signed.nonce + 1 };
          assert.equal(verifyTransaction(renonced), false, "the digest covers the body");
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("remembered valid signatures", () => {
  it("never answer for the same bytes split differently between message, signature and key", () => {
    fc.assert(
      fc.property(seed, fc.uint8Array({ minLength: 1, maxLength: 64 }), (secret, msg) => {
        const keys = generateKeyPair(secret);
        const signature = sign(msg, keys.secretKey);
        assert.equal(verifyRemembered(signature, msg, keys.publicKey), true);
        // The signature's first byte moved to the end of the message: the same bytes in a row.
        const shifted = new Uint8Array([...msg, signature[0]!]);
        assert.equal(verifyRemembered(signature.subarray(1), shifted, keys.publicKey), false);
        assert.equal(
          verifyRemembered(
            new Uint8Array([...signature, keys.publicKey[0]!]),
            msg,
            keys.publicKey.subarray(1),
          ),
          false,
        );
        assert.equal(verifyRemembered(signature, msg.subarray(1), keys.publicKey), false);
      }),
      { numRuns: 100 },
    );
  });
});

describe("domain separation", () => {
  it("a transaction signature never verifies as a block or voucher signature", () => {
    fc.assert(
      fc.property(
        seed,
        arbitraryTransaction,
        arbitraryBlock,
        arbitraryVoucher,
        (secret, tx, block, voucher) => {
          const keys = generateKeyPair(secret);
          const signed = signTransaction({ ...tx, sender: keys.publicKey }, keys);
          assert.equal(verifyTransaction(signed), true);
          assert.equal(verify(signed.signature, blockDigest(block), keys.publicKey), false);
          assert.equal(verify(signed.signature, voucherDigest(voucher), keys.publicKey), false);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("equal bytes hash differently under different domains", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
        const digests = Object.values(Domain).map((d) => Buffer.from(hash(d, data)).toString("hex"));
        assert.equal(new Set(digests).size, digests.length);
      }),
    );
  });

  it("hash is sha256 of the length-prefixed tag and the data, as @noble/hashes computes it", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        fc.constantFrom(...Object.values(Domain)),
        (data, domain) => {
          const tag = Buffer.from(domain, "utf8");
          const expected = nobleSha256(new Uint8Array([tag.length, ...tag, ...data]));
          assert.deepEqual(hash(domain, data), expected);
          assert.deepEqual(sha256(data), nobleSha256(data));
        },
      ),
    );
  });

  it("the chain id is part of the signed transaction digest", () => {
    fc.assert(
      fc.property(arbitraryTransaction, fc.string({ maxLength: 8 }), (tx, other) => {
        fc.pre(other !== tx.chainId);
        assert.notDeepEqual(transactionDigest(tx), transactionDigest({ ...tx, chainId: other }));
      }),
    );
  });
});

describe("addresses", () => {
  it("round-trip through the text form", () => {
    fc.assert(
      fc.property(seed, (secret) => {
        const address = addressFromPublicKey(generateKeyPair(secret).publicKey);
        const text = formatAddress(address);
        assert.match(text, /^hs1[02-9ac-hj-np-z]+$/);
        assert.deepEqual(parseAddress(text), address);
      }),
    );
  });

  it("reject any single-character typo with a typed error", () => {
    const alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    fc.assert(
      fc.property(seed, fc.nat(), fc.nat(31), (secret, at, replacement) => {
        const text = formatAddress(addressFromPublicKey(generateKeyPair(secret).publicKey));
        const i = 3 + (at % (text.length - 3));
        const c = alphabet[replacement] ?? "q";
        fc.pre(c !== text[i]);
        const typo = text.slice(0, i) + c + text.slice(i + 1);
        assert.throws(() => parseAddress(typo), AddressError);
      }),
    );
  });

  it("reject a wrong prefix and garbage", () => {
    for (const text of [
      "",
      "hs1",
      "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
      "hs1qqqq",
      "not an address",
    ]) {
      assert.throws(() => parseAddress(text), AddressError);
    }
  });
});
