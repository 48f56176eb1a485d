import { Bucket } from "../ledger/index.ts";
import { ADDRESS_BYTES, CodecError, toHex } from "../spec/index.ts";
import { MIB_PER_GIB } from "./constants.ts";
import { MarketError } from "./errors.ts";
import { type ModelRef, matchesModel } from "./model-ref.ts";
import { peerPublicKey } from "./peer-id.ts";
import {
  decodeInviteUseRecord,
  decodeMemberRecord,
  decodePodRecord,
  decodeProviderRecord,
  type InviteUseRecord,
  type MemberRecord,
  type PodRecord,
  type ProviderRecord,
} from "./records.ts";
import {
  inviteUseKey,
  kindPrefix,
  MarketKeyKind,
  marketStoreKey,
  memberKey,
  memberPeerKey,
  memberPrefix,
  podKey,
  providerKey,
} from "./state-keys.ts";

/**
 * Read access to the market's committed state. `Ledger` satisfies
 * `MarketStateSource` as it is, so the node passes its ledger in; tests do
 * the same with a ledger over the in-memory store.
 */
export interface MarketStateSource {
  /** Module state of `bucket` under `prefix` (keys relative to the bucket), in key order. */
  scanModuleValues(bucket: Bucket, prefix?: Uint8Array): { key: Uint8Array; value: Uint8Array }[];
  /** The encoded value of any state entry by store key. */
  getStateValue(key: Uint8Array): Uint8Array | null;
}

export interface ProviderEntry extends ProviderRecord {
  readonly address: Uint8Array;
}

export interface MemberEntry extends MemberRecord {
  readonly address: Uint8Array;
}

export interface PodEntry extends PodRecord {
  readonly podId: Uint8Array;
}

/** Decodes a committed record; a bad one is corrupt state, not bad input. */
function decodeStored<T>(decode: (bytes: Uint8Array) => T, bytes: Uint8Array): T {
  try {
    return decode(bytes);
  } catch (error) {
    if (error instanceof CodecError) throw new MarketError("CORRUPT_RECORD", error.message, {});
    throw error;
  }
}

export class MarketState {
  constructor(private readonly source: MarketStateSource) {}

  private value(moduleKey: Uint8Array): Uint8Array | null {
    return this.source.getStateValue(marketStoreKey(moduleKey));
  }

  provider(address: Uint8Array): ProviderEntry | null {
    const bytes = this.value(providerKey(address));
    return bytes === null ? null : { address, ...decodeStored(decodeProviderRecord, bytes) };
  }

  /** Every registered provider (active and unbonding), by address. */
  providers(): ProviderEntry[] {
    return this.source
      .scanModuleValues(Bucket.marketState, kindPrefix(MarketKeyKind.provider))
      .map(({ key, value }) => ({
        address: key.slice(1, 1 + ADDRESS_BYTES),
        ...decodeStored(decodeProviderRecord, value),
      }));
  }

  pod(podId: Uint8Array): PodEntry | null {
    const bytes = this.value(podKey(podId));
    return bytes === null ? null : { podId, ...decodeStored(decodePodRecord, bytes) };
  }

  pods(): PodEntry[] {
    return this.source
      .scanModuleValues(Bucket.marketState, kindPrefix(MarketKeyKind.pod))
      .map(({ key, value }) => ({
        podId: key.slice(1),
        ...decodeStored(decodePodRecord, value),
      }));
  }

  member(podId: Uint8Array, address: Uint8Array): MemberEntry | null {
    const bytes = this.value(memberKey(podId, address));
    return bytes === null ? null : { address, ...decodeStored(decodeMemberRecord, bytes) };
  }

  members(podId: Uint8Array): MemberEntry[] {
    const prefix = memberPrefix(podId);
    return this.source.scanModuleValues(Bucket.marketState, prefix).map(({ key, value }) => ({
      address: key.slice(prefix.byteLength),
      ...decodeStored(decodeMemberRecord, value),
    }));
  }

  /** The member address acting as `peerId` in the pod, or null. */
  memberByPeer(podId: Uint8Array, peerId: string): Uint8Array | null {
    const key = peerPublicKey(peerId);
    if (key === null) return null;
    return this.value(memberPeerKey(podId, key));
  }

  inviteUse(podId: Uint8Array, id: Uint8Array): InviteUseRecord | null {
    const bytes = this.value(inviteUseKey(podId, id));
    return bytes === null ? null : decodeStored(decodeInviteUseRecord, bytes);
  }

  /** Pods `address` belongs to (scans every pod: pods are few). */
  podsOf(address: Uint8Array): PodEntry[] {
    return this.pods().filter((p) => this.member(p.podId, address) !== null);
  }
}

/** A provider is active (routable) when it is registered and not unbonding. */
export function isActiveProvider(provider: ProviderRecord): boolean {
  return provider.unbondingUntilCommit === 0;
}

export function vramGib(provider: Pick<ProviderRecord, "vramMib">): number {
  return provider.vramMib / MIB_PER_GIB;
}

export function servesModel(provider: Pick<ProviderRecord, "models">, nameOrHash: string): ModelRef | null {
  return provider.models.find((m) => matchesModel(m, nameOrHash)) ?? null;
}

/**
 * The membership check the node's stream handlers call before serving pod
 * traffic: true only when `peerId` is a member of pod `podId` in committed
 * state. Traffic from anyone else is refused.
 */
export function isPodMember(state: MarketState, podId: Uint8Array, peerId: string): boolean {
  return state.memberByPeer(podId, peerId) !== null;
}

/** Throws NOT_POD_MEMBER unless `peerId` is a member of the pod. */
export function requirePodMember(state: MarketState, podId: Uint8Array, peerId: string): void {
  if (!isPodMember(state, podId, peerId)) {
    throw new MarketError(
      "NOT_POD_MEMBER",
      `peer ${peerId.slice(0, 64)} is not a member of pod ${toHex(podId)}`,
      {
        podId: toHex(podId),
        peerId,
      },
    );
  }
}
