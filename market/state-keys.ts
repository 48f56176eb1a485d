import { Bucket, bucketKey } from "../ledger/index.ts";
import { ADDRESS_BYTES, assert, concatBytes, DIGEST_BYTES, PUBLIC_KEY_BYTES } from "../spec/index.ts";

/**
 * Keys of the market module's state, relative to its bucket
 * (Bucket.marketState). The first byte names the record kind, so a prefix
 * scan of one kind never sees another's keys:
 *
 *   provider      0x01 address(20)                       -> ProviderRecord
 *   pod           0x02 podId(32)                         -> PodRecord
 *   member        0x03 podId(32) address(20)             -> MemberRecord
 *   member peer   0x04 podId(32) peerPublicKey(32)       -> address(20)
 *   peer invite   0x05 podId(32) peerPublicKey(32)       -> PeerInviteRecord
 *   invite use    0x06 podId(32) inviteId(32)            -> InviteUseRecord
 *   0x10..0x1f    reserved for training jobs, rounds and contributions
 *
 * Peers are keyed by the Ed25519 key inside their peer id (32 bytes), not
 * the peer id text, which keeps every key under the ledger's key bound.
 */
export enum MarketKeyKind {
  provider = 0x01,
  pod = 0x02,
  member = 0x03,
  memberPeer = 0x04,
  peerInvite = 0x05,
  inviteUse = 0x06,
}

function key(kind: MarketKeyKind, ...parts: Uint8Array[]): Uint8Array {
  return concatBytes(Uint8Array.of(kind), ...parts);
}

export function providerKey(address: Uint8Array): Uint8Array {
  assert(address.byteLength === ADDRESS_BYTES, "address is 20 bytes");
  return key(MarketKeyKind.provider, address);
}

export function podKey(podId: Uint8Array): Uint8Array {
  assert(podId.byteLength === DIGEST_BYTES, "pod id is 32 bytes");
  return key(MarketKeyKind.pod, podId);
}

export function memberKey(podId: Uint8Array, address: Uint8Array): Uint8Array {
  assert(podId.byteLength === DIGEST_BYTES && address.byteLength === ADDRESS_BYTES, "member key sizes");
  return key(MarketKeyKind.member, podId, address);
}

/** Prefix of every member of one pod (keys relative to the bucket). */
export function memberPrefix(podId: Uint8Array): Uint8Array {
  return key(MarketKeyKind.member, podId);
}

export function memberPeerKey(podId: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  assert(
    podId.byteLength === DIGEST_BYTES && peerPublicKey.byteLength === PUBLIC_KEY_BYTES,
    "peer key sizes",
  );
  return key(MarketKeyKind.memberPeer, podId, peerPublicKey);
}

export function peerInviteKey(podId: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  assert(
    podId.byteLength === DIGEST_BYTES && peerPublicKey.byteLength === PUBLIC_KEY_BYTES,
    "peer key sizes",
  );
  return key(MarketKeyKind.peerInvite, podId, peerPublicKey);
}

/** Keyed by pod too, so an admin of one pod can never revoke or use up another pod's invite. */
export function inviteUseKey(podId: Uint8Array, inviteId: Uint8Array): Uint8Array {
  assert(podId.byteLength === DIGEST_BYTES && inviteId.byteLength === DIGEST_BYTES, "invite key sizes");
  return key(MarketKeyKind.inviteUse, podId, inviteId);
}

/** Prefix of one record kind. */
export function kindPrefix(kind: MarketKeyKind): Uint8Array {
  return Uint8Array.of(kind);
}

/** The full store key (bucket byte first) of a module key, for `Ledger.getStateValue` and proofs. */
export function marketStoreKey(moduleKey: Uint8Array): Uint8Array {
  return bucketKey(Bucket.marketState, moduleKey);
}
