/**
 * The simulator's signature scheme: a keyed mask over the digest, checked by
 * recomputing it. It costs a few hundred nanoseconds where ed25519 costs tens
 * of microseconds, which is what lets the simulator run thousands of seeds.
 * Anyone holding the "public" key could forge it, so it is for the
 * simulator only, where authors never forge each other's blocks; a wrong
 * key or a flipped byte still fails verification as BAD_SIGNATURE.
 */
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "../../spec/index.ts";
import type { BlockSigner, SignatureVerifier } from "../signature.ts";

/** The key of simulated authority `index`. */
export function simKey(index: number): Uint8Array {
  const key = new Uint8Array(PUBLIC_KEY_BYTES);
  for (let i = 0; i < key.length; i++) key[i] = (index * 131 + i * 29 + 7) & 0xff;
  key[0] = index & 0xff;
  key[1] = (index >> 8) & 0xff;
  return key;
}

function mask(digest: Uint8Array, key: Uint8Array): Uint8Array {
  const signature = new Uint8Array(SIGNATURE_BYTES);
  for (let i = 0; i < 32; i++) {
    signature[i] = digest[i]! ^ key[i]!;
    signature[32 + i] = (digest[31 - i]! + key[i]!) & 0xff;
  }
  return signature;
}

export function simSigner(key: Uint8Array): BlockSigner {
  return { sign: (digest) => mask(digest, key) };
}

export const simVerifier: SignatureVerifier = {
  verify(signature, digest, publicKey) {
    if (signature.byteLength !== SIGNATURE_BYTES || digest.byteLength !== 32 || publicKey.byteLength !== 32)
      return false;
    for (let i = 0; i < 32; i++) {
      if (signature[i] !== (digest[i]! ^ publicKey[i]!)) return false;
      if (signature[32 + i] !== ((digest[31 - i]! + publicKey[i]!) & 0xff)) return false;
    }
    return true;
  },
};
