import { DIGEST_BYTES, fromHex, toHex } from "../spec/index.ts";
import { INVITE_TTL_MS_DEFAULT, MIB_PER_GIB } from "./constants.ts";
import { MarketError } from "./errors.ts";
import { MarketEventName, podIdOfCreatedEvent } from "./events.ts";
import type { MarketAccount, PeerIdentity, TxOutcome } from "./interface.ts";
import { createInviteCode, formatInviteCode, inviteId, isInviteCodeText, parseInviteCode } from "./invite.ts";
import type { ModelRef, PodRole } from "./model-ref.ts";
import type { OfferBook } from "./offers.ts";
import { encodeMarketPayload, MarketKind, type MarketKindName, type MarketPayloads } from "./payloads.ts";
import { peerBindingDigest } from "./peer-id.ts";
import type { ProviderCandidate } from "./ranking.ts";
import type { RoutablePod, RoutingServices } from "./router.ts";
import type { SpendBook } from "./spend.ts";
import {
  isActiveProvider,
  type MarketState,
  type MemberEntry,
  type PodEntry,
  type ProviderEntry,
} from "./state.ts";

/**
 * Pods, as the seed article has them: a private subnet of peers pooling
 * their machines.
 *
 *   const pod = await Pod.create({ name: "research-team", capabilities: ["inference"] }, context);
 *   await pod.invite(["12D3KooW...", "12D3KooX..."]);
 *   const code = pod.createInvite({ role: "member", ttlMs: 2 * DAY, multiUse: true });
 *   const joined = await Pod.join(code, otherContext);
 *   const result = await new InferenceRouter(pod).complete({ prompt, maxTokens, constraints });
 *
 * Membership and roles live on chain (the market module), so every node
 * agrees on them; a Pod object is this node's handle on one pod: it submits
 * the pod's transactions from the node's account and reads the committed
 * state.
 */

/** What a Pod needs from the node. */
export interface MarketContext {
  readonly account: MarketAccount;
  readonly peer: PeerIdentity;
  readonly state: MarketState;
  /** Live offers (load, queue); without it every provider counts as idle. */
  readonly offers?: OfferBook | null;
  /** Transport, channels and latency profiles for routing inference; absent on a node that only manages pods. */
  readonly routing?: RoutingServices | null;
  readonly spend?: SpendBook | null;
  /** Whether a peer is reachable now (the node: connected or with a fresh offer). */
  readonly isOnline?: (peerId: string) => boolean;
}

export interface PodCreateOptions {
  readonly name: string;
  readonly capabilities?: readonly string[];
}

export interface InviteOptions {
  readonly role?: PodRole;
  /** Lifetime of the invitation (default INVITE_TTL_MS_DEFAULT). */
  readonly ttlMs?: number;
}

export interface InviteCodeOptions extends InviteOptions {
  readonly multiUse?: boolean;
}

/** A member and, when it is an active provider, what it offers. */
export interface PodMember {
  readonly address: Uint8Array;
  readonly peerId: string;
  readonly role: PodRole;
  readonly joinedAtCommit: number;
  readonly online: boolean;
  readonly provider: {
    readonly models: readonly ModelRef[];
    readonly device: string;
    readonly vramMib: number;
    readonly pricePerToken: bigint;
    readonly loadPermille: number | null;
    readonly queueLength: number | null;
  } | null;
}

export interface PodModel {
  readonly model: ModelRef;
  /** Peer ids of the active provider members that serve it. */
  readonly providers: readonly string[];
  readonly online: number;
  readonly lowestPricePerToken: bigint;
}

export interface PodStatus {
  readonly podId: string;
  readonly name: string;
  readonly capabilities: readonly string[];
  readonly members: number;
  readonly admins: number;
  readonly membersOnline: number;
  /** Accelerator memory of the online provider members, in GiB. */
  readonly totalVramGb: number;
  readonly models: readonly PodModel[];
  /** What this node has paid for inference in the pod. */
  readonly spend: bigint;
}

async function check(outcome: Promise<TxOutcome>, what: string): Promise<TxOutcome> {
  const result = await outcome;
  if (!result.success) {
    throw new MarketError(
      "TRANSACTION_FAILED",
      `${what} failed: ${result.errorCode}: ${result.errorMessage}`,
      {
        errorCode: result.errorCode,
        txHash: toHex(result.txHash),
      },
    );
  }
  return result;
}

function submit<K extends MarketKindName>(
  context: MarketContext,
  kind: K,
  payload: MarketPayloads[K],
): Promise<TxOutcome> {
  return check(context.account.submit(kind, encodeMarketPayload(kind, payload)), kind);
}

async function peerBinding(context: MarketContext): Promise<Uint8Array> {
  const { account, peer } = context;
  return await peer.sign(peerBindingDigest(account.chainId, account.address, peer.peerId));
}

/** Parses a pod id (64 hex characters). */
export function parsePodId(text: string): Uint8Array | null {
  const bytes = fromHex(text);
  return bytes !== null && bytes.byteLength === DIGEST_BYTES ? bytes : null;
}

/**
 * Finds a pod by hex id, or by name among the pods `address` belongs to
 * (names are not unique on chain; a name that matches two pods is refused).
 */
export function resolvePod(state: MarketState, text: string, address: Uint8Array): PodEntry {
  const id = parsePodId(text);
  if (id !== null) {
    const pod = state.pod(id);
    if (pod === null) throw new MarketError("POD_NOT_FOUND", `no pod ${text}`, {});
    return pod;
  }
  const matches = state.podsOf(address).filter((p) => p.name === text);
  if (matches.length === 1) return matches[0]!;
  throw new MarketError(
    "POD_NOT_FOUND",
    matches.length === 0
      ? `no pod named ${JSON.stringify(text)} among this node's pods`
      : `${matches.length} pods are named ${JSON.stringify(text)}: use the id`,
    {},
  );
}

export class Pod implements RoutablePod {
  private constructor(
    readonly id: Uint8Array,
    readonly context: MarketContext,
  ) {}

  /** Creates a pod with this node as its first admin. */
  static async create(options: PodCreateOptions, context: MarketContext): Promise<Pod> {
    const outcome = await submit(context, MarketKind.PodCreate, {
      name: options.name,
      capabilities: options.capabilities ?? ["inference"],
      peerId: context.peer.peerId,
      peerSignature: await peerBinding(context),
    });
    const created = outcome.events.find((e) => e.name === MarketEventName.PodCreated);
    if (created === undefined) throw new MarketError("TRANSACTION_FAILED", "pod.create left no event", {});
    return new Pod(podIdOfCreatedEvent(created.data), context);
  }

  /** A handle on an existing pod (POD_NOT_FOUND when there is none). */
  static open(podId: Uint8Array, context: MarketContext): Pod {
    if (context.state.pod(podId) === null)
      throw new MarketError("POD_NOT_FOUND", `no pod ${toHex(podId)}`, {});
    return new Pod(podId, context);
  }

  /** Joins with a signed invite code, or by pod id (or name) when this node's peer id was invited. */
  static async join(podOrInviteCode: string, context: MarketContext): Promise<Pod> {
    let podId: Uint8Array;
    let invite = null;
    if (isInviteCodeText(podOrInviteCode)) {
      invite = parseInviteCode(podOrInviteCode);
      podId = invite.podId;
    } else {
      const id = parsePodId(podOrInviteCode);
      if (id === null)
        throw new MarketError("POD_NOT_FOUND", "give a pod id (64 hex characters) or an invite code", {});
      podId = id;
    }
    await submit(context, MarketKind.PodJoin, {
      podId,
      peerId: context.peer.peerId,
      peerSignature: await peerBinding(context),
      invite,
    });
    return new Pod(podId, context);
  }

  private record(): PodEntry {
    const pod = this.context.state.pod(this.id);
    if (pod === null) throw new MarketError("POD_NOT_FOUND", `pod ${toHex(this.id)} no longer exists`, {});
    return pod;
  }

  get name(): string {
    return this.record().name;
  }

  get capabilities(): readonly string[] {
    return this.record().capabilities;
  }

  /** Invites peer ids to join (this node must be an admin). */
  async invite(peerIds: readonly string[], options: InviteOptions = {}): Promise<void> {
    await submit(this.context, MarketKind.PodInvite, {
      podId: this.id,
      peerIds,
      role: options.role ?? "member",
      expiresAtMs: this.context.account.nowMs() + (options.ttlMs ?? INVITE_TTL_MS_DEFAULT),
    });
  }

  /** Signs an invite code with this node's account key (valid while this node stays an admin). */
  createInvite(options: InviteCodeOptions = {}): string {
    return formatInviteCode(
      createInviteCode({
        chainId: this.context.account.chainId,
        podId: this.id,
        role: options.role ?? "member",
        ttlMs: options.ttlMs ?? INVITE_TTL_MS_DEFAULT,
        multiUse: options.multiUse ?? false,
        nowMs: this.context.account.nowMs(),
        keys: this.context.account.keys,
      }),
    );
  }

  async revokeInvite(code: string): Promise<void> {
    await submit(this.context, MarketKind.PodRevokeInvite, {
      podId: this.id,
      inviteId: inviteId(parseInviteCode(code)),
    });
  }

  async leave(): Promise<void> {
    await submit(this.context, MarketKind.PodLeave, { podId: this.id });
  }

  async remove(member: Uint8Array): Promise<void> {
    await submit(this.context, MarketKind.PodRemove, { podId: this.id, member });
  }

  async setRole(member: Uint8Array, role: PodRole): Promise<void> {
    await submit(this.context, MarketKind.PodSetRole, { podId: this.id, member, role });
  }

  private online(peerId: string, provider: ProviderEntry | null): boolean {
    if (peerId === this.context.peer.peerId) return true;
    if (this.context.isOnline !== undefined) return this.context.isOnline(peerId);
    return provider !== null && (this.context.offers?.get(provider.address) ?? null) !== null;
  }

  private activeProvider(member: MemberEntry): ProviderEntry | null {
    const provider = this.context.state.provider(member.address);
    return provider !== null && isActiveProvider(provider) ? provider : null;
  }

  members(): PodMember[] {
    return this.context.state.members(this.id).map((member) => {
      const provider = this.activeProvider(member);
      const offer = provider === null ? null : (this.context.offers?.get(provider.address) ?? null);
      return {
        address: member.address,
        peerId: member.peerId,
        role: member.role,
        joinedAtCommit: member.joinedAtCommit,
        online: this.online(member.peerId, provider),
        provider:
          provider === null
            ? null
            : {
                models: provider.models,
                device: provider.device,
                vramMib: provider.vramMib,
                pricePerToken: offer?.pricePerToken ?? provider.pricePerToken,
                loadPermille: offer?.loadPermille ?? null,
                queueLength: offer?.queueLength ?? null,
              },
      };
    });
  }

  /** The models the pod's active providers serve, with who serves them. */
  models(): PodModel[] {
    const byHash = new Map<
      string,
      { model: ModelRef; providers: string[]; online: number; lowest: bigint }
    >();
    for (const member of this.members()) {
      if (member.provider === null) continue;
      for (const model of member.provider.models) {
        const key = toHex(model.hash);
        const entry = byHash.get(key) ?? {
          model,
          providers: [],
          online: 0,
          lowest: member.provider.pricePerToken,
        };
        entry.providers.push(member.peerId);
        if (member.online) entry.online++;
        if (member.provider.pricePerToken < entry.lowest) entry.lowest = member.provider.pricePerToken;
        byHash.set(key, entry);
      }
    }
    return [...byHash.values()]
      .map((e) => ({
        model: e.model,
        providers: e.providers,
        online: e.online,
        lowestPricePerToken: e.lowest,
      }))
      .sort((a, b) => (a.model.name < b.model.name ? -1 : a.model.name > b.model.name ? 1 : 0));
  }

  status(): PodStatus {
    const record = this.record();
    const members = this.members();
    const online = members.filter((m) => m.online);
    const vramMib = online.reduce((sum, m) => sum + (m.provider?.vramMib ?? 0), 0);
    return {
      podId: toHex(this.id),
      name: record.name,
      capabilities: record.capabilities,
      members: members.length,
      admins: members.filter((m) => m.role === "admin").length,
      membersOnline: online.length,
      totalVramGb: vramMib / MIB_PER_GIB,
      models: this.models(),
      spend: this.context.spend?.get(this.id) ?? 0n,
    };
  }

  /** The pod's active providers (other than this node), for the router. */
  candidates(): ProviderCandidate[] {
    const out: ProviderCandidate[] = [];
    for (const member of this.context.state.members(this.id)) {
      // This node does not route to itself: its own provider serves other members.
      if (member.peerId === this.context.peer.peerId) continue;
      const provider = this.activeProvider(member);
      if (provider === null) continue;
      const offer = this.context.offers?.get(provider.address) ?? null;
      out.push({
        address: provider.address,
        peerId: provider.peerId,
        models: provider.models,
        device: provider.device,
        vramMib: provider.vramMib,
        pricePerToken:
          offer !== null && offer.pricePerToken < provider.pricePerToken
            ? offer.pricePerToken
            : provider.pricePerToken,
        offer,
      });
    }
    return out;
  }

  get routing(): RoutingServices {
    const routing = this.context.routing;
    if (routing === undefined || routing === null) {
      throw new MarketError("NO_PROVIDER", "this node has no inference routing (transport and channels)", {});
    }
    const spend = this.context.spend;
    if (spend === undefined || spend === null || routing.onSpend !== undefined) return routing;
    return { ...routing, onSpend: (podId, amount) => spend.add(podId, amount) };
  }
}
