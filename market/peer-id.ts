import { base58 } from "@scure/base";
import {
  ADDRESS_BYTES,
  bytesEqual,
  Domain,
  encode,
  hash,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  sign,
  verify,
} from "../spec/index.ts";
import { MarketError } from "./errors.ts";

/**
 * libp2p peer ids and the binding of a peer id to an account.
 *
 * A node has two keys: its account key (signs transactions, pays) and its
 * libp2p key (its peer id, what stream handlers see). The chain must know
 * which peer id acts for which account, or anyone could register a provider
 * or join a pod under someone else's peer id. So every transaction that
 * names a peer id carries a binding: the peer key's signature over
 * (chain id, account address, peer id). The ledger verifies it from the
 * peer id alone, because an Ed25519 peer id embeds its public key.
 *
 * Peer ids here are the Ed25519 identity form libp2p prints ("12D3KooW..."):
 * base58btc of the multihash [identity 0x00, length 36] over the protobuf
 * PublicKey [field 1 type = Ed25519 (1), field 2 data = 32 bytes]. The
 * node's identity key is always Ed25519 (net/identity.ts), so no other form
 * is accepted.
 */

/** The fixed 6-byte header of an Ed25519 identity peer id, before the 32 key bytes. */
const ED25519_PEER_ID_HEADER = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20);
/** Length of an Ed25519 peer id in base58: 52 characters. */
export const PEER_ID_TEXT_BYTES = 52;

/** The Ed25519 public key inside a peer id; null when `peerId` is not an Ed25519 identity peer id. */
export function peerPublicKey(peerId: string): Uint8Array | null {
  if (typeof peerId !== "string" || peerId.length !== PEER_ID_TEXT_BYTES) return null;
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(peerId);
  } catch {
    return null;
  }
  if (bytes.byteLength !== ED25519_PEER_ID_HEADER.byteLength + PUBLIC_KEY_BYTES) return null;
  if (!bytesEqual(bytes.subarray(0, ED25519_PEER_ID_HEADER.byteLength), ED25519_PEER_ID_HEADER)) return null;
  return bytes.slice(ED25519_PEER_ID_HEADER.byteLength);
}

/** The peer id of an Ed25519 public key (what libp2p prints for it). */
export function peerIdFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.byteLength !== PUBLIC_KEY_BYTES) throw new RangeError("an Ed25519 public key is 32 bytes");
  const bytes = new Uint8Array(ED25519_PEER_ID_HEADER.byteLength + PUBLIC_KEY_BYTES);
  bytes.set(ED25519_PEER_ID_HEADER);
  bytes.set(publicKey, ED25519_PEER_ID_HEADER.byteLength);
  return base58.encode(bytes);
}

/** The peer id's public key, or a BAD_PEER_ID error. */
export function requirePeerPublicKey(peerId: string): Uint8Array {
  const key = peerPublicKey(peerId);
  if (key === null) {
    throw new MarketError("BAD_PEER_ID", `not an Ed25519 peer id: ${String(peerId).slice(0, 64)}`, {});
  }
  return key;
}

/** What a peer key signs to act for `address` on `chainId`. */
export function peerBindingDigest(chainId: string, address: Uint8Array, peerId: string): Uint8Array {
  if (address.byteLength !== ADDRESS_BYTES) throw new RangeError("an address is 20 bytes");
  return hash(Domain.MarketPeerBinding, encode([chainId, address, peerId]));
}

/** Signs a binding with a raw Ed25519 secret key (tests and tools; the node signs with its libp2p key). */
export function signPeerBinding(
  chainId: string,
  address: Uint8Array,
  peerId: string,
  peerSecretKey: Uint8Array,
): Uint8Array {
  return sign(peerBindingDigest(chainId, address, peerId), peerSecretKey);
}

/** Checks that `peerId` is an Ed25519 peer id and that its key signed the binding to `address`. */
export function checkPeerBinding(
  chainId: string,
  address: Uint8Array,
  peerId: string,
  signature: Uint8Array,
): void {
  const key = requirePeerPublicKey(peerId);
  if (
    signature.byteLength !== SIGNATURE_BYTES ||
    !verify(signature, peerBindingDigest(chainId, address, peerId), key)
  ) {
    throw new MarketError("BAD_PEER_SIGNATURE", "the peer id's key did not sign this binding", { peerId });
  }
}
