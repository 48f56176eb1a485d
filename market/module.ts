import { Bucket, type KindHandler, type LedgerModule, type TxContext } from "../ledger/index.ts";
import { addressFromPublicKey, assert, bytesEqual, Domain, encode, hash, toHex } from "../spec/index.ts";
import {
  INVITE_TTL_MS_MAX,
  MARKET_MODULE_NAME,
  POD_MEMBERS_MAX,
  POD_NAME_BYTES_MAX,
  PROVIDER_BOND_MIN,
  PROVIDER_UNBONDING_COMMITS,
} from "./constants.ts";
import { MarketError } from "./errors.ts";
import { MarketEventName } from "./events.ts";
import { inviteId, verifyInviteSignature } from "./invite.ts";
import type { PodRole } from "./model-ref.ts";
import { decodeMarketPayload, MarketKind, type MarketKindName, type MarketPayloads } from "./payloads.ts";
import { checkPeerBinding, requirePeerPublicKey } from "./peer-id.ts";
import {
  decodeInviteUseRecord,
  decodeMemberRecord,
  decodePeerInviteRecord,
  decodePodRecord,
  decodeProviderRecord,
  encodeInviteUseRecord,
  encodeMemberRecord,
  encodePeerInviteRecord,
  encodePodRecord,
  encodeProviderRecord,
  type MemberRecord,
  type PodRecord,
  type ProviderRecord,
} from "./records.ts";
import { inviteUseKey, memberKey, memberPeerKey, peerInviteKey, podKey, providerKey } from "./state-keys.ts";

/**
 * The market ledger module: the provider registry and pod membership.
 *
 * Providers. `market.provider.register` records the sender as a provider
 * (peer id bound by the peer key's signature, models by content hash,
 * device and VRAM, price per token) and locks its bond in the module's
 * escrow; registering again updates the record and adds to the bond.
 * `market.provider.deregister` takes it out of the active set and starts
 * PROVIDER_UNBONDING_COMMITS of unbonding; `market.provider.withdraw`
 * after that returns the bond and deletes the record.
 *
 * Pods. `market.pod.create` makes a pod whose first admin is the sender.
 * Admins invite peer ids (`market.pod.invite`) or sign invite codes off
 * chain; a peer joins (`market.pod.join`) by proving it holds the peer id's
 * key and presenting its invitation. Members leave; admins remove members,
 * change roles and revoke invite codes. A pod always keeps at least one
 * admin while it has members, and is deleted when its last member leaves.
 *
 * Every handler is deterministic: it reads only its context and payload.
 */

function pod(context: TxContext, podId: Uint8Array): PodRecord {
  const bytes = context.getModuleValue(podKey(podId));
  if (bytes === null)
    throw new MarketError("POD_NOT_FOUND", `no pod ${toHex(podId)}`, { podId: toHex(podId) });
  return decodePodRecord(bytes);
}

function member(context: TxContext, podId: Uint8Array, address: Uint8Array): MemberRecord | null {
  const bytes = context.getModuleValue(memberKey(podId, address));
  return bytes === null ? null : decodeMemberRecord(bytes);
}

function requireAdmin(context: TxContext, podId: Uint8Array): void {
  if (member(context, podId, context.sender)?.role !== "admin") {
    throw new MarketError("NOT_ADMIN", "only a pod admin may do this", { podId: toHex(podId) });
  }
}

/** Printable text: no control characters (they would garble every listing). */
function isPrintable(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

function checkPodName(name: string): void {
  if (name.length === 0 || Buffer.byteLength(name) > POD_NAME_BYTES_MAX || !isPrintable(name)) {
    throw new MarketError("BAD_NAME", "a pod name is 1 to 64 bytes of printable text", {});
  }
}

/** The id of the pod that `creator` creates with its transaction of nonce `nonce`. */
export function derivePodId(chainId: string, creator: Uint8Array, nonce: number): Uint8Array {
  return hash(Domain.MarketPodId, encode([chainId, creator, nonce]));
}

function addMember(
  context: TxContext,
  podId: Uint8Array,
  record: PodRecord,
  peerId: string,
  peerKey: Uint8Array,
  role: PodRole,
): void {
  if (member(context, podId, context.sender) !== null) {
    throw new MarketError("ALREADY_MEMBER", "the sender is already a member", { podId: toHex(podId) });
  }
  if (context.getModuleValue(memberPeerKey(podId, peerKey)) !== null) {
    throw new MarketError("PEER_TAKEN", "another member already uses this peer id", { peerId });
  }
  if (record.memberCount >= POD_MEMBERS_MAX) {
    throw new MarketError("POD_FULL", `a pod holds at most ${POD_MEMBERS_MAX} members`, {});
  }
  context.setModuleValue(
    memberKey(podId, context.sender),
    encodeMemberRecord({ peerId, role, joinedAtCommit: context.commitIndex }),
  );
  context.setModuleValue(memberPeerKey(podId, peerKey), context.sender);
  context.setModuleValue(
    podKey(podId),
    encodePodRecord({
      ...record,
      memberCount: record.memberCount + 1,
      adminCount: record.adminCount + (role === "admin" ? 1 : 0),
    }),
  );
  context.emit(MarketEventName.PodJoined, encode([podId, context.sender, peerId, role]));
}

/** Removes `address` from the pod, keeping an admin while members remain; deletes an emptied pod. */
function removeMember(context: TxContext, podId: Uint8Array, address: Uint8Array): void {
  const record = pod(context, podId);
  const target = member(context, podId, address);
  if (target === null)
    throw new MarketError("NOT_MEMBER", "not a member of this pod", { podId: toHex(podId) });
  const adminCount = record.adminCount - (target.role === "admin" ? 1 : 0);
  const memberCount = record.memberCount - 1;
  assert(memberCount >= 0 && adminCount >= 0, "member counts match the member records");
  if (memberCount > 0 && adminCount === 0) {
    throw new MarketError("LAST_ADMIN", "the last admin cannot leave while members remain", {});
  }
  context.deleteModuleValue(memberKey(podId, address));
  context.deleteModuleValue(memberPeerKey(podId, requirePeerPublicKey(target.peerId)));
  if (memberCount === 0) context.deleteModuleValue(podKey(podId));
  else context.setModuleValue(podKey(podId), encodePodRecord({ ...record, memberCount, adminCount }));
  context.emit(MarketEventName.PodLeft, encode([podId, address]));
}

function handler<K extends MarketKindName>(
  kind: K,
  apply: (context: TxContext, payload: MarketPayloads[K]) => void,
): KindHandler<MarketPayloads[K]> {
  return { decode: (bytes) => decodeMarketPayload(kind, bytes), apply };
}

const providerRegister = handler(MarketKind.ProviderRegister, (context, payload) => {
  checkPeerBinding(context.chainId, context.sender, payload.peerId, payload.peerSignature);
  if (payload.models.length === 0)
    throw new MarketError("BAD_REQUEST", "a provider serves at least one model", {});
  // A GPU provider states its memory; a CPU provider may declare memory for routing (tests, CPU stand-ins).
  if (payload.device === "cuda" && payload.vramMib === 0) {
    throw new MarketError("BAD_DEVICE", "a cuda provider declares its VRAM", {
      device: payload.device,
      vramMib: payload.vramMib,
    });
  }
  const key = providerKey(context.sender);
  const existingBytes = context.getModuleValue(key);
  const existing: ProviderRecord | null = existingBytes === null ? null : decodeProviderRecord(existingBytes);
  if (existing !== null && existing.unbondingUntilCommit !== 0) {
    throw new MarketError("PROVIDER_UNBONDING", "withdraw the bond before registering again", {
      unbondingUntilCommit: existing.unbondingUntilCommit,
    });
  }
  context.lockFromSender(payload.bond);
  const bond = (existing?.bond ?? 0n) + payload.bond;
  if (bond < PROVIDER_BOND_MIN) {
    throw new MarketError("BOND_TOO_LOW", `bond ${bond} < minimum ${PROVIDER_BOND_MIN}`, {
      bond,
      minimum: PROVIDER_BOND_MIN,
    });
  }
  context.setModuleValue(
    key,
    encodeProviderRecord({
      publicKey: context.senderPublicKey,
      peerId: payload.peerId,
      models: payload.models,
      device: payload.device,
      vramMib: payload.vramMib,
      pricePerToken: payload.pricePerToken,
      bond,
      registeredAtCommit: existing?.registeredAtCommit ?? context.commitIndex,
      unbondingUntilCommit: 0,
    }),
  );
  context.emit(MarketEventName.ProviderRegistered, encode([context.sender, payload.peerId, bond]));
});

function loadProvider(context: TxContext): ProviderRecord {
  const bytes = context.getModuleValue(providerKey(context.sender));
  if (bytes === null)
    throw new MarketError("PROVIDER_NOT_FOUND", "the sender is not a registered provider", {});
  return decodeProviderRecord(bytes);
}

const providerDeregister = handler(MarketKind.ProviderDeregister, (context) => {
  const record = loadProvider(context);
  if (record.unbondingUntilCommit !== 0) {
    throw new MarketError("PROVIDER_UNBONDING", "already unbonding", {
      unbondingUntilCommit: record.unbondingUntilCommit,
    });
  }
  const unbondingUntilCommit = context.commitIndex + PROVIDER_UNBONDING_COMMITS;
  context.setModuleValue(
    providerKey(context.sender),
    encodeProviderRecord({ ...record, unbondingUntilCommit }),
  );
  context.emit(MarketEventName.ProviderDeregistered, encode([context.sender, unbondingUntilCommit]));
});

const providerWithdraw = handler(MarketKind.ProviderWithdraw, (context) => {
  const record = loadProvider(context);
  if (record.unbondingUntilCommit === 0 || context.commitIndex <= record.unbondingUntilCommit) {
    throw new MarketError("UNBONDING_RUNNING", "the bond unlocks after the unbonding period", {
      unbondingUntilCommit: record.unbondingUntilCommit,
    });
  }
  context.releaseTo(context.sender, record.bond);
  context.deleteModuleValue(providerKey(context.sender));
  context.emit(MarketEventName.ProviderWithdrawn, encode([context.sender, record.bond]));
});

const podCreate = handler(MarketKind.PodCreate, (context, payload) => {
  checkPodName(payload.name);
  checkPeerBinding(context.chainId, context.sender, payload.peerId, payload.peerSignature);
  const peerKey = requirePeerPublicKey(payload.peerId);
  // The ledger bumps the nonce before the handler runs: this transaction's nonce is one less.
  const nonce = context.getAccount(context.sender).nonce - 1;
  assert(nonce >= 0, "the sender of an executing transaction has used a nonce");
  const podId = derivePodId(context.chainId, context.sender, nonce);
  assert(
    context.getModuleValue(podKey(podId)) === null,
    "a pod id is never created twice (nonces never repeat)",
  );
  const record: PodRecord = {
    name: payload.name,
    capabilities: payload.capabilities,
    creator: context.sender,
    createdAtCommit: context.commitIndex,
    memberCount: 0,
    adminCount: 0,
  };
  context.emit(MarketEventName.PodCreated, encode([podId, context.sender, payload.name]));
  addMember(context, podId, record, payload.peerId, peerKey, "admin");
});

const podInvite = handler(MarketKind.PodInvite, (context, payload) => {
  pod(context, payload.podId);
  requireAdmin(context, payload.podId);
  if (payload.expiresAtMs <= context.timestampMs) {
    throw new MarketError("INVITE_EXPIRED", "the invitation expires before this commit", {});
  }
  if (payload.expiresAtMs - context.timestampMs > INVITE_TTL_MS_MAX) {
    throw new MarketError("BAD_INVITE", `an invitation lives at most ${INVITE_TTL_MS_MAX} ms`, {});
  }
  const keys = payload.peerIds.map(requirePeerPublicKey);
  for (const peerKey of keys) {
    context.setModuleValue(
      peerInviteKey(payload.podId, peerKey),
      encodePeerInviteRecord({
        role: payload.role,
        expiresAtMs: payload.expiresAtMs,
        inviter: context.sender,
      }),
    );
  }
  context.emit(MarketEventName.PodInvited, encode([payload.podId, payload.peerIds.length]));
});

const podJoin = handler(MarketKind.PodJoin, (context, payload) => {
  const { podId, invite } = payload;
  const record = pod(context, podId);
  checkPeerBinding(context.chainId, context.sender, payload.peerId, payload.peerSignature);
  const peerKey = requirePeerPublicKey(payload.peerId);
  let role: PodRole;
  if (invite === null) {
    const key = peerInviteKey(podId, peerKey);
    const bytes = context.getModuleValue(key);
    if (bytes === null) throw new MarketError("NOT_INVITED", "this peer id has no invitation to the pod", {});
    const invitation = decodePeerInviteRecord(bytes);
    if (context.timestampMs > invitation.expiresAtMs) {
      throw new MarketError("INVITE_EXPIRED", "the invitation has expired", {
        expiresAtMs: invitation.expiresAtMs,
      });
    }
    role = invitation.role;
    context.deleteModuleValue(key);
  } else {
    if (invite.chainId !== context.chainId || !bytesEqual(invite.podId, podId)) {
      throw new MarketError("BAD_INVITE", "the invite code is for another pod or chain", {});
    }
    if (!verifyInviteSignature(invite))
      throw new MarketError("BAD_INVITE", "the invite code's signature is bad", {});
    const issuer = addressFromPublicKey(invite.issuerPublicKey);
    if (member(context, podId, issuer)?.role !== "admin") {
      throw new MarketError("BAD_INVITE", "the invite code's issuer is not an admin of the pod", {});
    }
    if (context.timestampMs > invite.expiresAtMs) {
      throw new MarketError("INVITE_EXPIRED", "the invite code has expired", {
        expiresAtMs: invite.expiresAtMs,
      });
    }
    const key = inviteUseKey(podId, inviteId(invite));
    const usedBytes = context.getModuleValue(key);
    const used = usedBytes === null ? { uses: 0, revoked: false } : decodeInviteUseRecord(usedBytes);
    if (used.revoked) throw new MarketError("INVITE_REVOKED", "the invite code was revoked", {});
    if (!invite.multiUse && used.uses > 0)
      throw new MarketError("INVITE_USED", "the invite code was used", {});
    context.setModuleValue(key, encodeInviteUseRecord({ ...used, uses: used.uses + 1 }));
    role = invite.role;
  }
  addMember(context, podId, record, payload.peerId, peerKey, role);
});

const podLeave = handler(MarketKind.PodLeave, (context, payload) => {
  pod(context, payload.podId);
  removeMember(context, payload.podId, context.sender);
});

const podRemove = handler(MarketKind.PodRemove, (context, payload) => {
  pod(context, payload.podId);
  requireAdmin(context, payload.podId);
  removeMember(context, payload.podId, payload.member);
});

const podSetRole = handler(MarketKind.PodSetRole, (context, payload) => {
  const record = pod(context, payload.podId);
  requireAdmin(context, payload.podId);
  const target = member(context, payload.podId, payload.member);
  if (target === null) throw new MarketError("NOT_MEMBER", "not a member of this pod", {});
  if (target.role === payload.role) return;
  const adminCount = record.adminCount + (payload.role === "admin" ? 1 : -1);
  if (adminCount === 0) throw new MarketError("LAST_ADMIN", "a pod keeps at least one admin", {});
  context.setModuleValue(
    memberKey(payload.podId, payload.member),
    encodeMemberRecord({ ...target, role: payload.role }),
  );
  context.setModuleValue(podKey(payload.podId), encodePodRecord({ ...record, adminCount }));
  context.emit(MarketEventName.PodRoleSet, encode([payload.podId, payload.member, payload.role]));
});

const podRevokeInvite = handler(MarketKind.PodRevokeInvite, (context, payload) => {
  pod(context, payload.podId);
  requireAdmin(context, payload.podId);
  const key = inviteUseKey(payload.podId, payload.inviteId);
  const bytes = context.getModuleValue(key);
  const used = bytes === null ? { uses: 0, revoked: false } : decodeInviteUseRecord(bytes);
  context.setModuleValue(key, encodeInviteUseRecord({ ...used, revoked: true }));
  context.emit(MarketEventName.PodInviteRevoked, encode([payload.podId, payload.inviteId]));
});

export const marketModule: LedgerModule = {
  name: MARKET_MODULE_NAME,
  bucket: Bucket.marketState,
  kinds: {
    [MarketKind.ProviderRegister]: providerRegister,
    [MarketKind.ProviderDeregister]: providerDeregister,
    [MarketKind.ProviderWithdraw]: providerWithdraw,
    [MarketKind.PodCreate]: podCreate,
    [MarketKind.PodInvite]: podInvite,
    [MarketKind.PodJoin]: podJoin,
    [MarketKind.PodLeave]: podLeave,
    [MarketKind.PodRemove]: podRemove,
    [MarketKind.PodSetRole]: podSetRole,
    [MarketKind.PodRevokeInvite]: podRevokeInvite,
  } as Record<string, KindHandler>,
};
