/**
 * Block signing is injected: the node signs with ed25519 (spec/keys.ts), the
 * simulator with a cheap keyed hash so that thousands of seeds run in
 * seconds. The verifier only needs `SignatureVerifier`.
 */
import { createSigner, verifyRemembered } from "../spec/index.ts";

export interface BlockSigner {
  /** Signs a block digest with this authority's key. */
  sign(digest: Uint8Array): Uint8Array;
}

export interface SignatureVerifier {
  /** Never throws; false for any malformed input. */
  verify(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean;
}

/** ed25519 through node:crypto (spec's `createSigner`: the same bytes as noble, many times faster). */
export function ed25519Signer(secretKey: Uint8Array): BlockSigner {
  return { sign: createSigner(secretKey) };
}

/** ed25519 verification; a block whose signature the transport already checked is a lookup. */
export const ed25519Verifier: SignatureVerifier = { verify: verifyRemembered };
