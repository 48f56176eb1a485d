import { PEER_ID_BYTES_MAX } from "../ledger/index.ts";
import {
  ADDRESS_BYTES,
  type Codec,
  CodecError,
  decodeWith,
  encodeWith,
  FieldReader,
  PUBLIC_KEY_BYTES,
} from "../spec/index.ts";
import { POD_CAPABILITIES_MAX, POD_MEMBERS_MAX, POD_NAME_BYTES_MAX, VRAM_MIB_MAX } from "./constants.ts";
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
import { isCapability } from "./payloads.ts";

/**
 * The market's on-chain records, stored in the market bucket (see
 * state-keys.ts for their keys), and their strict codecs.
 */

/** A registered provider, keyed by its account address. */
export interface ProviderRecord {
  readonly publicKey: Uint8Array;
  readonly peerId: string;
  readonly models: readonly ModelRef[];
  readonly device: DeviceKind;
  readonly vramMib: number;
  readonly pricePerToken: bigint;
  /** Locked in the module's escrow. */
  readonly bond: bigint;
  readonly registeredAtCommit: number;
  /** 0 while active; after deregistering, the commit after which the bond can be withdrawn. */
  readonly unbondingUntilCommit: number;
}

/** A pod, keyed by its id. */
export interface PodRecord {
  readonly name: string;
  readonly capabilities: readonly string[];
  readonly creator: Uint8Array;
  readonly createdAtCommit: number;
  readonly memberCount: number;
  readonly adminCount: number;
}

/** One member of a pod, keyed by pod id and member address. */
export interface MemberRecord {
  readonly peerId: string;
  readonly role: PodRole;
  readonly joinedAtCommit: number;
}

/** An invitation of one peer id to one pod, keyed by pod id and the peer's public key. */
export interface PeerInviteRecord {
  readonly role: PodRole;
  readonly expiresAtMs: number;
  readonly inviter: Uint8Array;
}

/** What the chain remembers about an invite code it has seen, keyed by pod id and invite id. */
export interface InviteUseRecord {
  readonly uses: number;
  readonly revoked: boolean;
}

export const ProviderRecordCodec: Codec<ProviderRecord> = {
  type: "ProviderRecord",
  maxBytes: 4096,
  toValue: (r) => [
    r.publicKey,
    r.peerId,
    r.models.map(modelRefValue),
    r.device,
    r.vramMib,
    r.pricePerToken,
    r.bond,
    r.registeredAtCommit,
    r.unbondingUntilCommit,
  ],
  fromValue(value, type = "ProviderRecord") {
    const reader = FieldReader.of(type, value, 9);
    return {
      publicKey: reader.bytes("publicKey", { exact: PUBLIC_KEY_BYTES }),
      peerId: reader.string("peerId", PEER_ID_BYTES_MAX),
      models: readModelRefs(reader, "models", type),
      device: readChoice(reader, "device", DEVICE_KINDS, type),
      vramMib: reader.integer("vramMib", VRAM_MIB_MAX),
      pricePerToken: reader.amount("pricePerToken"),
      bond: reader.amount("bond"),
      registeredAtCommit: reader.integer("registeredAtCommit"),
      unbondingUntilCommit: reader.integer("unbondingUntilCommit"),
    };
  },
};

export const PodRecordCodec: Codec<PodRecord> = {
  type: "PodRecord",
  maxBytes: 512,
  toValue: (r) => [r.name, [...r.capabilities], r.creator, r.createdAtCommit, r.memberCount, r.adminCount],
  fromValue(value, type = "PodRecord") {
    const reader = FieldReader.of(type, value, 6);
    const name = reader.string("name", POD_NAME_BYTES_MAX);
    const capabilities = reader.array("capabilities", POD_CAPABILITIES_MAX).map((c, i) => {
      if (typeof c !== "string" || !isCapability(c)) {
        throw new CodecError("OUT_OF_RANGE", `${type}.capabilities[${i}]: not a capability name`, { type });
      }
      return c;
    });
    return {
      name,
      capabilities,
      creator: reader.bytes("creator", { exact: ADDRESS_BYTES }),
      createdAtCommit: reader.integer("createdAtCommit"),
      memberCount: reader.integer("memberCount", POD_MEMBERS_MAX),
      adminCount: reader.integer("adminCount", POD_MEMBERS_MAX),
    };
  },
};

export const MemberRecordCodec: Codec<MemberRecord> = {
  type: "MemberRecord",
  maxBytes: 192,
  toValue: (r) => [r.peerId, r.role, r.joinedAtCommit],
  fromValue(value, type = "MemberRecord") {
    const reader = FieldReader.of(type, value, 3);
    return {
      peerId: reader.string("peerId", PEER_ID_BYTES_MAX),
      role: readChoice(reader, "role", POD_ROLES, type),
      joinedAtCommit: reader.integer("joinedAtCommit"),
    };
  },
};

export const PeerInviteRecordCodec: Codec<PeerInviteRecord> = {
  type: "PeerInviteRecord",
  maxBytes: 64,
  toValue: (r) => [r.role, r.expiresAtMs, r.inviter],
  fromValue(value, type = "PeerInviteRecord") {
    const reader = FieldReader.of(type, value, 3);
    return {
      role: readChoice(reader, "role", POD_ROLES, type),
      expiresAtMs: reader.integer("expiresAtMs"),
      inviter: reader.bytes("inviter", { exact: ADDRESS_BYTES }),
    };
  },
};

export const InviteUseRecordCodec: Codec<InviteUseRecord> = {
  type: "InviteUseRecord",
  maxBytes: 16,
  toValue: (r) => [r.uses, r.revoked],
  fromValue(value, type = "InviteUseRecord") {
    const reader = FieldReader.of(type, value, 2);
    return {
      uses: reader.integer("uses"),
      revoked: reader.boolean("revoked"),
    };
  },
};

export const encodeProviderRecord = (r: ProviderRecord): Uint8Array => encodeWith(ProviderRecordCodec, r);
export const decodeProviderRecord = (b: Uint8Array): ProviderRecord => decodeWith(ProviderRecordCodec, b);
export const encodePodRecord = (r: PodRecord): Uint8Array => encodeWith(PodRecordCodec, r);
export const decodePodRecord = (b: Uint8Array): PodRecord => decodeWith(PodRecordCodec, b);
export const encodeMemberRecord = (r: MemberRecord): Uint8Array => encodeWith(MemberRecordCodec, r);
export const decodeMemberRecord = (b: Uint8Array): MemberRecord => decodeWith(MemberRecordCodec, b);
export const encodePeerInviteRecord = (r: PeerInviteRecord): Uint8Array =>
  encodeWith(PeerInviteRecordCodec, r);
export const decodePeerInviteRecord = (b: Uint8Array): PeerInviteRecord =>
  decodeWith(PeerInviteRecordCodec, b);
export const encodeInviteUseRecord = (r: InviteUseRecord): Uint8Array => encodeWith(InviteUseRecordCodec, r);
export const decodeInviteUseRecord = (b: Uint8Array): InviteUseRecord => decodeWith(InviteUseRecordCodec, b);
