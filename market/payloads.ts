import { PEER_ID_BYTES_MAX } from "../ledger/index.ts";
import {
  ADDRESS_BYTES,
  type Codec,
  CodecError,
  DIGEST_BYTES,
  decodeWith,
  encodeWith,
  FieldReader,
  SAFE_INTEGER_MAX,
  SIGNATURE_BYTES,
} from "../spec/index.ts";
import {
  CAPABILITY_BYTES_MAX,
  POD_CAPABILITIES_MAX,
  POD_INVITE_PEERS_MAX,
  POD_NAME_BYTES_MAX,
  VRAM_MIB_MAX,
} from "./constants.ts";
import { type InviteCode, InviteCodeCodec } from "./invite.ts";
import {
  DEVICE_KINDS,
  type DeviceKind,
  type ModelRef,
  modelRefValue,
  POD_ROLES,
  type PodRole,
  readChoice,
  readModelRefs,
} from "./model-ref.ts";

/**
 * The payloads of the market's transaction kinds and their strict codecs.
 * Every payload is a msgpack array with its fields in a fixed order.
 */
export const MarketKind = {
  ProviderRegister: "market.provider.register",
  ProviderDeregister: "market.provider.deregister",
  ProviderWithdraw: "market.provider.withdraw",
  PodCreate: "market.pod.create",
  PodInvite: "market.pod.invite",
  PodJoin: "market.pod.join",
  PodLeave: "market.pod.leave",
  PodRemove: "market.pod.remove",
  PodSetRole: "market.pod.set-role",
  PodRevokeInvite: "market.pod.revoke-invite",
} as const;

export type MarketKindName = (typeof MarketKind)[keyof typeof MarketKind];

/**
 * Registers the sender as a provider, or updates its registration: its peer
 * id (with the peer key's binding signature), the models it serves, its
 * device, its price per token, and `bond` more locked from its balance. The
 * total bond must reach PROVIDER_BOND_MIN. A provider that is unbonding
 * cannot register again until it has withdrawn.
 */
export interface ProviderRegister {
  readonly peerId: string;
  readonly peerSignature: Uint8Array;
  readonly models: readonly ModelRef[];
  readonly device: DeviceKind;
  /** Accelerator memory in MiB (0 for cpu). */
  readonly vramMib: number;
  readonly pricePerToken: bigint;
  /** Added to the bond already locked. */
  readonly bond: bigint;
}

/** Starts unbonding: the provider leaves the registry's active set; its bond unlocks later. */
export type ProviderDeregister = Record<string, never>;
/** After the unbonding period: returns the bond and deletes the registration. */
export type ProviderWithdraw = Record<string, never>;

/** Creates a pod with the sender as its first admin, reachable at `peerId`. */
export interface PodCreate {
  readonly name: string;
  readonly capabilities: readonly string[];
  readonly peerId: string;
  readonly peerSignature: Uint8Array;
}

/** By an admin: lets each peer id join with `role` until `expiresAtMs` (commit time). */
export interface PodInvite {
  readonly podId: Uint8Array;
  readonly peerIds: readonly string[];
  readonly role: PodRole;
  readonly expiresAtMs: number;
}

/** Joins a pod as the sender at `peerId`: invited by peer id (invite null) or with a signed invite code. */
export interface PodJoin {
  readonly podId: Uint8Array;
  readonly peerId: string;
  readonly peerSignature: Uint8Array;
  readonly invite: InviteCode | null;
}

export interface PodLeave {
  readonly podId: Uint8Array;
}

/** By an admin: removes `member` (an address). */
export interface PodRemove {
  readonly podId: Uint8Array;
  readonly member: Uint8Array;
}

/** By an admin: sets `member`'s role. */
export interface PodSetRole {
  readonly podId: Uint8Array;
  readonly member: Uint8Array;
  readonly role: PodRole;
}

/** By an admin: no one can join with this invite code any more. */
export interface PodRevokeInvite {
  readonly podId: Uint8Array;
  readonly inviteId: Uint8Array;
}

const CAPABILITY_PATTERN = /^[a-z][a-z0-9-]*$/;

export function isCapability(text: string): boolean {
  return Buffer.byteLength(text) <= CAPABILITY_BYTES_MAX && CAPABILITY_PATTERN.test(text);
}

function readCapabilities(reader: FieldReader, type: string): string[] {
  const items = reader.array("capabilities", POD_CAPABILITIES_MAX);
  const out = items.map((item, i) => {
    if (typeof item !== "string" || !isCapability(item)) {
      throw new CodecError("OUT_OF_RANGE", `${type}.capabilities[${i}]: not a capability name`, { type });
    }
    return item;
  });
  if (new Set(out).size !== out.length) {
    throw new CodecError("OUT_OF_RANGE", `${type}.capabilities: listed twice`, { type });
  }
  return out;
}

function readEmpty(value: unknown, type: string): Record<string, never> {
  FieldReader.of(type, value, 0);
  return {};
}

export const ProviderRegisterCodec: Codec<ProviderRegister> = {
  type: "ProviderRegister",
  maxBytes: 4096,
  toValue: (p) => [
    p.peerId,
    p.peerSignature,
    p.models.map(modelRefValue),
    p.device,
    p.vramMib,
    p.pricePerToken,
    p.bond,
  ],
  fromValue(value, type = "ProviderRegister") {
    const reader = FieldReader.of(type, value, 7);
    return {
      peerId: reader.string("peerId", PEER_ID_BYTES_MAX),
      peerSignature: reader.bytes("peerSignature", { exact: SIGNATURE_BYTES }),
      models: readModelRefs(reader, "models", type),
      device: readChoice(reader, "device", DEVICE_KINDS, type),
      vramMib: reader.integer("vramMib", VRAM_MIB_MAX),
      pricePerToken: reader.amount("pricePerToken"),
      bond: reader.amount("bond"),
    };
  },
};

export const ProviderDeregisterCodec: Codec<ProviderDeregister> = {
  type: "ProviderDeregister",
  maxBytes: 8,
  toValue: () => [],
  fromValue: (value, type = "ProviderDeregister") => readEmpty(value, type),
};

export const ProviderWithdrawCodec: Codec<ProviderWithdraw> = {
  type: "ProviderWithdraw",
  maxBytes: 8,
  toValue: () => [],
  fromValue: (value, type = "ProviderWithdraw") => readEmpty(value, type),
};

export const PodCreateCodec: Codec<PodCreate> = {
  type: "PodCreate",
  maxBytes: 1024,
  toValue: (p) => [p.name, [...p.capabilities], p.peerId, p.peerSignature],
  fromValue(value, type = "PodCreate") {
    const reader = FieldReader.of(type, value, 4);
    return {
      name: reader.string("name", POD_NAME_BYTES_MAX),
      capabilities: readCapabilities(reader, type),
      peerId: reader.string("peerId", PEER_ID_BYTES_MAX),
      peerSignature: reader.bytes("peerSignature", { exact: SIGNATURE_BYTES }),
    };
  },
};

export const PodInviteCodec: Codec<PodInvite> = {
  type: "PodInvite",
  maxBytes: 64 + POD_INVITE_PEERS_MAX * (PEER_ID_BYTES_MAX + 3),
  toValue: (p) => [p.podId, [...p.peerIds], p.role, p.expiresAtMs],
  fromValue(value, type = "PodInvite") {
    const reader = FieldReader.of(type, value, 4);
    const podId = reader.bytes("podId", { exact: DIGEST_BYTES });
    const peerIds = reader.array("peerIds", POD_INVITE_PEERS_MAX).map((item, i) => {
      if (typeof item !== "string" || Buffer.byteLength(item) > PEER_ID_BYTES_MAX) {
        throw new CodecError("WRONG_TYPE", `${type}.peerIds[${i}]: expected a peer id`, { type });
      }
      return item;
    });
    return {
      podId,
      peerIds,
      role: readChoice(reader, "role", POD_ROLES, type),
      expiresAtMs: reader.integer("expiresAtMs", SAFE_INTEGER_MAX),
    };
  },
};

export const PodJoinCodec: Codec<PodJoin> = {
  type: "PodJoin",
  maxBytes: 256 + PEER_ID_BYTES_MAX + InviteCodeCodec.maxBytes,
  toValue: (p) => [
    p.podId,
    p.peerId,
    p.peerSignature,
    p.invite === null ? null : InviteCodeCodec.toValue(p.invite),
  ],
  fromValue(value, type = "PodJoin") {
    const reader = FieldReader.of(type, value, 4);
    return {
      podId: reader.bytes("podId", { exact: DIGEST_BYTES }),
      peerId: reader.string("peerId", PEER_ID_BYTES_MAX),
      peerSignature: reader.bytes("peerSignature", { exact: SIGNATURE_BYTES }),
      invite: reader.nested("invite", (v, t) => (v === null ? null : InviteCodeCodec.fromValue(v, t))),
    };
  },
};

export const PodLeaveCodec: Codec<PodLeave> = {
  type: "PodLeave",
  maxBytes: 48,
  toValue: (p) => [p.podId],
  fromValue(value, type = "PodLeave") {
    return { podId: FieldReader.of(type, value, 1).bytes("podId", { exact: DIGEST_BYTES }) };
  },
};

export const PodRemoveCodec: Codec<PodRemove> = {
  type: "PodRemove",
  maxBytes: 64,
  toValue: (p) => [p.podId, p.member],
  fromValue(value, type = "PodRemove") {
    const reader = FieldReader.of(type, value, 2);
    return {
      podId: reader.bytes("podId", { exact: DIGEST_BYTES }),
      member: reader.bytes("member", { exact: ADDRESS_BYTES }),
    };
  },
};

export const PodSetRoleCodec: Codec<PodSetRole> = {
  type: "PodSetRole",
  maxBytes: 80,
  toValue: (p) => [p.podId, p.member, p.role],
  fromValue(value, type = "PodSetRole") {
    const reader = FieldReader.of(type, value, 3);
    return {
      podId: reader.bytes("podId", { exact: DIGEST_BYTES }),
      member: reader.bytes("member", { exact: ADDRESS_BYTES }),
      role: readChoice(reader, "role", POD_ROLES, type),
    };
  },
};

export const PodRevokeInviteCodec: Codec<PodRevokeInvite> = {
  type: "PodRevokeInvite",
  maxBytes: 80,
  toValue: (p) => [p.podId, p.inviteId],
  fromValue(value, type = "PodRevokeInvite") {
    const reader = FieldReader.of(type, value, 2);
    return {
      podId: reader.bytes("podId", { exact: DIGEST_BYTES }),
      inviteId: reader.bytes("inviteId", { exact: DIGEST_BYTES }),
    };
  },
};

/** Payload codecs by kind, for decoding and for the codec property tests. */
export const MARKET_PAYLOAD_CODECS = {
  [MarketKind.ProviderRegister]: ProviderRegisterCodec,
  [MarketKind.ProviderDeregister]: ProviderDeregisterCodec,
  [MarketKind.ProviderWithdraw]: ProviderWithdrawCodec,
  [MarketKind.PodCreate]: PodCreateCodec,
  [MarketKind.PodInvite]: PodInviteCodec,
  [MarketKind.PodJoin]: PodJoinCodec,
  [MarketKind.PodLeave]: PodLeaveCodec,
  [MarketKind.PodRemove]: PodRemoveCodec,
  [MarketKind.PodSetRole]: PodSetRoleCodec,
  [MarketKind.PodRevokeInvite]: PodRevokeInviteCodec,
} as const;

export type MarketPayloads = {
  [K in keyof typeof MARKET_PAYLOAD_CODECS]: (typeof MARKET_PAYLOAD_CODECS)[K] extends Codec<infer T>
    ? T
    : never;
};

export function encodeMarketPayload<K extends MarketKindName>(
  kind: K,
  payload: MarketPayloads[K],
): Uint8Array {
  return encodeWith(MARKET_PAYLOAD_CODECS[kind] as Codec<MarketPayloads[K]>, payload);
}

export function decodeMarketPayload<K extends MarketKindName>(kind: K, bytes: Uint8Array): MarketPayloads[K] {
  return decodeWith(MARKET_PAYLOAD_CODECS[kind] as Codec<MarketPayloads[K]>, bytes);
}
