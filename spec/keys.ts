import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { LRUCache } from "lru-cache";
import { byteKey } from "./bytes.ts";
import { PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, SIGNATURE_BYTES } from "./constants.ts";

/**
 * ed25519 keys. Key generation uses @noble/curves. Signing and verification
 * use node:crypto (OpenSSL), many times faster here; noble's RFC 8032 sign
 * and strict verify are the references, and property tests show the two
 * agree (byte-equal signatures; the same verdict on valid and invalid inputs).
 *
 * Messages signed are always domain-separated digests (see hash.ts), so a
 * signature over one kind of object never verifies as another.
 */

export interface KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function generateKeyPair(seed?: Uint8Array): KeyPair {
  const secretKey = seed ?? ed25519.utils.randomSecretKey();
  if (secretKey.byteLength !== SECRET_KEY_BYTES) throw new RangeError("ed25519 seed must be 32 bytes");
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

/** Signs through node:crypto (see createSigner); building the key object each call costs far less than noble's signing. */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return createSigner(secretKey)(message);
}

/** Reference signing: noble's RFC 8032 ed25519, which `sign` and `createSigner` must match byte for byte. */
export function signReference(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

/** DER prefix of an ed25519 PKCS#8 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * A signer for hot paths (load generation, vouchers, blocks). ed25519 is
 * deterministic (RFC 8032), so OpenSSL through node:crypto produces the very
 * bytes noble's `sign` does, many times faster; a property test checks that.
 */
export function createSigner(secretKey: Uint8Array): (message: Uint8Array) => Uint8Array {
  if (secretKey.byteLength !== SECRET_KEY_BYTES) throw new RangeError("ed25519 seed must be 32 bytes");
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, secretKey]),
    format: "der",
    type: "pkcs8",
  });
  return (message) => new Uint8Array(cryptoSign(null, message, key));
}

/** Reference verification: RFC 8032 strict (no ZIP-215 leniency), as OpenSSL does. */
export function verifyReference(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== PUBLIC_KEY_BYTES) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * OpenSSL accepts public keys that noble's strict verify refuses: small-order
 * points (for which an all-zero s verifies any message) and non-canonical
 * encodings (y >= p). We refuse them too, once per key, before the key object
 * enters the cache.
 */
function isStrictPublicKey(publicKey: Uint8Array): boolean {
  try {
    return !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** DER prefix of an ed25519 SubjectPublicKeyInfo; the 32 key bytes follow. */
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
/** Validators, channel peers and active senders are reused across calls; 4,096 keys covers a busy node. */
const KEY_OBJECT_CACHE_MAX = 4096;
/** Drop policy: evict the least recently used. A refused key is cached as `false`. */
const keyObjectCache = new LRUCache<string, KeyObject | false>({ max: KEY_OBJECT_CACHE_MAX });

/** The node:crypto key object of a strict ed25519 public key (null for a key `verify` refuses), cached. */
export function publicKeyObject(publicKey: Uint8Array): KeyObject | null {
  const id = byteKey(publicKey);
  const cached = keyObjectCache.get(id);
  if (cached !== undefined) return cached === false ? null : cached;
  let key: KeyObject | null = null;
  if (isStrictPublicKey(publicKey)) {
    try {
      key = createPublicKey({
        key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
        format: "der",
        type: "spki",
      });
    } catch {
      key = null;
    }
  }
  keyObjectCache.set(id, key ?? false);
  return key;
}

/** Fast verification through node:crypto. Returns false, never throws, on any malformed input. */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== PUBLIC_KEY_BYTES) return false;
  const key = publicKeyObject(publicKey);
  if (key === null) return false;
  try {
    return cryptoVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/**
 * Signatures already found valid. A node checks a block when its transport
 * accepts the push and again when consensus verifies it; the second check
 * is then a lookup. Only valid results are kept, keyed by message,
 * signature and public key, and validity is a pure function of the three,
 * so remembering cannot change an outcome. 65,536 entries cover many rounds
 * of even a large committee. Drop policy: evict the least recently used.
 */
const REMEMBERED_VALID_MAX = 65_536;
const rememberedValid = new LRUCache<string, true>({ max: REMEMBERED_VALID_MAX });

/** The remembered key: signature and public key first, at their fixed lengths, so no two triples share a key. */
function rememberedKey(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): string | null {
  if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== PUBLIC_KEY_BYTES) return null;
  return byteKey(signature) + byteKey(publicKey) + byteKey(message);
}

/** `verify`, answered from memory for a signature already found valid. */
export function verifyRemembered(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const key = rememberedKey(signature, message, publicKey);
  if (key === null) return false;
  if (rememberedValid.has(key)) return true;
  if (!verify(signature, message, publicKey)) return false;
  rememberedValid.set(key, true);
  return true;
}
