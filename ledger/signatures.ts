import { verify as cryptoVerify } from "node:crypto";
import { PUBLIC_KEY_BYTES, publicKeyObject, SIGNATURE_BYTES } from "../spec/index.ts";

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

/** Checks in flight at once: enough to keep every pool thread busy, bounded so a huge commit queues in steps. */
const IN_FLIGHT_MAX = 4_096;

function verifyOne(check: SignatureCheck): Promise<boolean> {
  if (check.signature.byteLength !== SIGNATURE_BYTES || check.publicKey.byteLength !== PUBLIC_KEY_BYTES) {
    return Promise.resolve(false);
  }
  const key = publicKeyObject(check.publicKey);
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
