import { createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "../spec/index.ts";

/**
 * Batch ed25519 verification on libuv's thread pool: node:crypto `verify`
 * with a callback runs each check off the main thread, so the signatures of
 * a commit are checked on every core while the main thread decodes. Each
 * result is a boolean of its own inputs only, so the outcome does not depend
 * on scheduling: the same as spec `verify` (OpenSSL, RFC 8032 strict) item
 * by item, which signatures.test.ts checks on valid and invalid inputs.
 */

export interface SignatureCheck {
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** DER prefix of an ed25519 SubjectPublicKeyInfo; the 32 key bytes follow. */
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
/** Active senders repeat across commits; 16,384 keys covers a busy chain (~1.5 MB of key objects). */
const KEY_OBJECT_CACHE_MAX = 16_384;
/** Checks in flight at once: enough to keep every pool thread busy, bounded so a huge commit queues in steps. */
const IN_FLIGHT_MAX = 4_096;

const keyObjects = new Map<string, KeyObject | null>();

function keyObject(publicKey: Uint8Array): KeyObject | null {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString("latin1");
  const cached = keyObjects.get(id);
  if (cached !== undefined) return cached;
  let key: KeyObject | null;
  try {
    key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
      format: "der",
      type: "spki",
    });
  } catch {
    key = null;
  }
  // Drop policy: evict the oldest insertion.
  if (keyObjects.size >= KEY_OBJECT_CACHE_MAX) {
    const oldest = keyObjects.keys().next().value;
    if (oldest !== undefined) keyObjects.delete(oldest);
  }
  keyObjects.set(id, key);
  return key;
}

function verifyOne(check: SignatureCheck): Promise<boolean> {
  if (check.signature.byteLength !== SIGNATURE_BYTES || check.publicKey.byteLength !== PUBLIC_KEY_BYTES) {
    return Promise.resolve(false);
  }
  const key = keyObject(check.publicKey);
  if (key === null) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      cryptoVerify(null, check.message, key, check.signature, (error, valid) =>
        resolve(error === null && valid),
      );
    } catch {
      resolve(false);
    }
  });
}

/** Verifies every check on the thread pool; result i is check i's validity. */
export async function verifySignatures(checks: readonly SignatureCheck[]): Promise<boolean[]> {
  const results: boolean[] = new Array(checks.length);
  for (let start = 0; start < checks.length; start += IN_FLIGHT_MAX) {
    const chunk = checks.slice(start, start + IN_FLIGHT_MAX);
    const done = await Promise.all(chunk.map(verifyOne));
    for (let i = 0; i < done.length; i++) results[start + i] = done[i]!;
  }
  return results;
}
