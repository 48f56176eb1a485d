import type { TxEnvelope } from "../ledger/index.ts";
import {
  addressFromPublicKey,
  bytesEqual,
  type KeyPair,
  type Transaction,
  toHex,
  type Voucher,
} from "../spec/index.ts";
import type { ChannelStore } from "./channel-store.ts";
import { PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT } from "./constants.ts";
import type { ChannelEndpoint } from "./endpoint.ts";
import { ChannelError } from "./errors.ts";
import { LocalChannelState } from "./local-records.ts";
import { encodeChannelMessage } from "./messages.ts";
import { PayeeChannel, type PayeePolicy, payeeInitFromChain } from "./payee.ts";
import { PayeeSession } from "./payee-session.ts";
import { PayerChannel } from "./payer.ts";
import { PayerSession } from "./payer-session.ts";
import type { ChannelRecord } from "./record.ts";
import { createVoucherSigner, type VoucherSigner } from "./signer.ts";
import {
  buildChannelChallenge,
  buildChannelClose,
  buildChannelCooperativeClose,
  buildChannelOpen,
  buildChannelSettle,
  buildChannelTopUp,
  signCooperativeClose,
} from "./transactions.ts";

/**
 * The channels SDK: open, pay, stream, close, settle and read balances,
 * for wallets, the CLI and market/. It talks to the chain through the small
 * `ChannelChain` interface (the node implements it over its RPC client, tests
 * over a ledger), keeps its records in a ChannelStore, and sends vouchers
 * through a ChannelEndpoint when it has one.
 */

/** The outcome of a submitted transaction once it executed. */
export interface SubmitOutcome {
  /** The transaction hash, hex. */
  readonly txHash: string;
  readonly success: boolean;
  readonly commitIndex: number;
  /** "CODE: message" for a failed transaction, else null. */
  readonly error: string | null;
}

/** What the SDK needs from a node. */
export interface ChannelChain {
  chainId(): Promise<string>;
  /** The account's next nonce. */
  nonce(address: Uint8Array): Promise<number>;
  /** The channel's on-chain record, or null when it is not open (never opened, or settled). */
  getChannel(channelId: Uint8Array): Promise<ChannelRecord | null>;
  /** Submits a signed transaction and resolves once it has executed (or throws when it never will). */
  submit(tx: Transaction): Promise<SubmitOutcome>;
  /** The index of the last executed commit. */
  commitIndex(): Promise<number>;
}

export interface ChannelClientOptions {
  readonly keys: KeyPair;
  readonly chain: ChannelChain;
  readonly store: ChannelStore;
  /** Fee of every transaction the client sends (default: the ledger's builder default). */
  readonly fee?: bigint;
  /** Where `pay` sends vouchers and `stream`/`serve` run sessions. */
  readonly endpoint?: ChannelEndpoint;
}

export type ChannelRole = "payer" | "payee";
export type ChannelStatus = "open" | "closing" | "closed";

export interface ChannelBalance {
  readonly channelId: Uint8Array;
  readonly role: ChannelRole;
  /** The other party's address. */
  readonly counterparty: Uint8Array;
  /** The other party's transport name, "" if unknown. */
  readonly peer: string;
  readonly deposit: bigint;
  /** Payer: the cumulative amount signed. Payee: the best voucher's amount, up to the deposit. */
  readonly paid: bigint;
  /** The deposit not yet paid. */
  readonly remaining: bigint;
  readonly sequence: number;
  readonly status: ChannelStatus;
  readonly closing: { readonly amount: bigint; readonly deadlineCommit: number } | null;
  /** Whether the chain still holds the channel. */
  readonly onChain: boolean;
}

export interface OpenChannelOptions {
  readonly payee: Uint8Array;
  readonly deposit: bigint;
  /** In commits; defaults to what payees accept by default. */
  readonly challengePeriod?: number;
  readonly payeePeer?: string;
}

export interface CooperativeCloseApproval {
  readonly payeeAmount: bigint;
  readonly payeePublicKey: Uint8Array;
  readonly payeeSignature: Uint8Array;
}

export class ChannelClient {
  readonly address: Uint8Array;
  private readonly signer: VoucherSigner;
  private readonly payers = new Map<string, PayerChannel>();
  private readonly payees = new Map<string, PayeeChannel>();
  private submissions: Promise<unknown> = Promise.resolve();
  private chainIdCache: string | null = null;

  constructor(private readonly options: ChannelClientOptions) {
    this.address = addressFromPublicKey(options.keys.publicKey);
    this.signer = createVoucherSigner(options.keys);
  }

  private async chainId(): Promise<string> {
    this.chainIdCache ??= await this.options.chain.chainId();
    return this.chainIdCache;
  }

  /** Builds and submits one transaction at a time, so nonces never collide. */
  private submit(build: (envelope: TxEnvelope) => Transaction): Promise<SubmitOutcome> {
    const run = this.submissions.then(async () => {
      const envelope: TxEnvelope = {
        chainId: await this.chainId(),
        keys: this.options.keys,
        nonce: await this.options.chain.nonce(this.address),
        ...(this.options.fee === undefined ? {} : { fee: this.options.fee }),
      };
      const outcome = await this.options.chain.submit(build(envelope));
      if (!outcome.success) {
        throw new ChannelError("TRANSACTION_FAILED", `transaction failed: ${outcome.error ?? "unknown"}`, {
          txHash: outcome.txHash,
          error: outcome.error,
        });
      }
      return outcome;
    });
    this.submissions = run.catch(() => undefined);
    return run;
  }

  /** This client's payer side of a channel (one object per channel, so concurrent payments share state). */
  async payerChannel(channelId: Uint8Array): Promise<PayerChannel | null> {
    const id = toHex(channelId);
    const cached = this.payers.get(id);
    if (cached !== undefined) return cached;
    const loaded = await PayerChannel.load(this.options.store, this.signer, channelId);
    if (loaded !== null) this.payers.set(id, this.payers.get(id) ?? loaded);
    return this.payers.get(id) ?? null;
  }

  async payeeChannel(channelId: Uint8Array): Promise<PayeeChannel | null> {
    const id = toHex(channelId);
    const cached = this.payees.get(id);
    if (cached !== undefined) return cached;
    const loaded = await PayeeChannel.load(this.options.store, channelId);
    if (loaded !== null) this.payees.set(id, this.payees.get(id) ?? loaded);
    return this.payees.get(id) ?? null;
  }

  private async requirePayer(channelId: Uint8Array): Promise<PayerChannel> {
    const channel = await this.payerChannel(channelId);
    if (channel === null) {
      throw new ChannelError("UNKNOWN_CHANNEL", `no payer record of channel ${toHex(channelId)}`, {});
    }
    return channel;
  }

  // ---- payer ----

  /** Opens a channel on chain (locking the deposit) and starts this payer's record of it. */
  async openChannel(options: OpenChannelOptions): Promise<{ channelId: Uint8Array; outcome: SubmitOutcome }> {
    const challengePeriod = options.challengePeriod ?? PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT;
    let channelId: Uint8Array | null = null;
    const outcome = await this.submit((envelope) => {
      const built = buildChannelOpen({
        ...envelope,
        payee: options.payee,
        deposit: options.deposit,
        challengePeriod,
      });
      channelId = built.channelId;
      return built.tx;
    });
    if (channelId === null) throw new ChannelError("TRANSACTION_FAILED", "no open was built", {});
    const id: Uint8Array = channelId;
    const channel = await PayerChannel.create(this.options.store, this.signer, {
      chainId: await this.chainId(),
      channelId: id,
      payee: options.payee,
      payeePeer: options.payeePeer ?? "",
      deposit: options.deposit,
      challengePeriod,
    });
    this.payers.set(toHex(id), channel);
    return { channelId: id, outcome };
  }

  /**
   * Takes up a channel this key opened but has no record of (the process
   * died between the open and its record): nothing was signed on it, so the
   * record starts at zero.
   */
  async adoptChannel(channelId: Uint8Array, payeePeer = ""): Promise<PayerChannel> {
    const existing = await this.payerChannel(channelId);
    if (existing !== null) return existing;
    const record = await this.options.chain.getChannel(channelId);
    if (record === null || !bytesEqual(record.payer, this.address)) {
      throw new ChannelError("UNKNOWN_CHANNEL", `channel ${toHex(channelId)} is not open from this key`, {});
    }
    const channel = await PayerChannel.create(this.options.store, this.signer, {
      chainId: await this.chainId(),
      channelId,
      payee: record.payee,
      payeePeer,
      deposit: record.deposit,
      challengePeriod: record.challengePeriod,
    });
    this.payers.set(toHex(channelId), channel);
    return channel;
  }

  async topUp(channelId: Uint8Array, amount: bigint): Promise<SubmitOutcome> {
    const channel = await this.requirePayer(channelId);
    const outcome = await this.submit((envelope) => buildChannelTopUp({ ...envelope, channelId, amount }));
    const record = await this.options.chain.getChannel(channelId);
    await channel.setDeposit(record?.deposit ?? channel.record.deposit + amount);
    if (channel.record.state === LocalChannelState.Closing) await channel.setState(LocalChannelState.Open);
    return outcome;
  }

  /**
   * Pays `amount` more: signs the next cumulative voucher and persists it,
   * then sends it to the payee when this client has an endpoint and knows
   * the payee's peer. Returns the voucher either way.
   */
  async pay(channelId: Uint8Array, amount: bigint): Promise<Voucher> {
    const channel = await this.requirePayer(channelId);
    const voucher = await channel.pay(amount);
    const peer = channel.record.payeePeer;
    if (this.options.endpoint !== undefined && peer !== "") {
      await this.options.endpoint.transport.send(peer, encodeChannelMessage({ type: "voucher", voucher }));
    }
    return voucher;
  }

  /** Starts a metering session paying the payee as it delivers (needs an endpoint). */
  async stream(
    channelId: Uint8Array,
    options: {
      maxPricePerUnit: bigint;
      creditWindow: bigint;
      budget?: bigint;
      peer?: string;
      clock?: () => number;
    },
  ): Promise<PayerSession> {
    const endpoint = this.requireEndpoint();
    const channel = await this.requirePayer(channelId);
    const peer = options.peer ?? channel.record.payeePeer;
    if (peer === "") throw new ChannelError("UNKNOWN_CHANNEL", "the payee's peer is unknown", {});
    if (peer !== channel.record.payeePeer) await channel.setPayeePeer(peer);
    const session = new PayerSession(channel, endpoint.transport, { ...options, peer });
    endpoint.remove(channelId);
    endpoint.add(session);
    return session;
  }

  private requireEndpoint(): ChannelEndpoint {
    if (this.options.endpoint === undefined) {
      throw new ChannelError("UNKNOWN_CHANNEL", "this client has no channel endpoint", {});
    }
    return this.options.endpoint;
  }

  // ---- payee ----

  /** Starts the payee's record of a channel that pays this key, after checking it on chain against `policy`. */
  async acceptChannel(
    channelId: Uint8Array,
    options: { payerPeer?: string; policy?: PayeePolicy } = {},
  ): Promise<PayeeChannel> {
    const existing = await this.payeeChannel(channelId);
    if (existing !== null) return existing;
    const record = await this.options.chain.getChannel(channelId);
    const init = payeeInitFromChain(await this.chainId(), channelId, record, this.address, options.policy);
    const channel = await PayeeChannel.create(this.options.store, {
      ...init,
      payerPeer: options.payerPeer ?? "",
    });
    this.payees.set(toHex(channelId), channel);
    return channel;
  }

  /** Starts a metering session serving the payer on an accepted channel (needs an endpoint). */
  async serve(
    channelId: Uint8Array,
    options: { peer: string; unit: string; pricePerUnit: bigint; clock?: () => number },
  ): Promise<PayeeSession> {
    const endpoint = this.requireEndpoint();
    const channel = await this.payeeChannel(channelId);
    if (channel === null)
      throw new ChannelError("UNKNOWN_CHANNEL", `channel ${toHex(channelId)} was not accepted`, {});
    if (channel.record.payerPeer !== options.peer) await channel.setPayerPeer(options.peer);
    const session = new PayeeSession(channel, endpoint.transport, options);
    endpoint.remove(channelId);
    endpoint.add(session);
    session.start();
    return session;
  }

  /** The payee's half of a cooperative close paying it `payeeAmount` (the payer submits it). */
  async approveCooperativeClose(
    channelId: Uint8Array,
    payeeAmount: bigint,
  ): Promise<CooperativeCloseApproval> {
    return {
      payeeAmount,
      payeePublicKey: this.options.keys.publicKey,
      payeeSignature: signCooperativeClose(
        { chainId: await this.chainId(), channelId, payeeAmount },
        this.options.keys,
      ),
    };
  }

  /** Challenges a payer's close with the payee's best voucher. */
  async challenge(channelId: Uint8Array): Promise<SubmitOutcome> {
    const channel = await this.payeeChannel(channelId);
    const voucher = channel?.bestVoucher ?? null;
    if (voucher === null) throw new ChannelError("UNKNOWN_CHANNEL", "no voucher to challenge with", {});
    return this.submit((envelope) => buildChannelChallenge({ ...envelope, channelId, voucher }));
  }

  // ---- both ----

  /** The role this client has on a channel: from its records, else from the chain. */
  private async roleOf(channelId: Uint8Array): Promise<ChannelRole> {
    if ((await this.payerChannel(channelId)) !== null) return "payer";
    if ((await this.payeeChannel(channelId)) !== null) return "payee";
    const record = await this.options.chain.getChannel(channelId);
    if (record !== null && bytesEqual(record.payer, this.address)) return "payer";
    if (record !== null && bytesEqual(record.payee, this.address)) return "payee";
    throw new ChannelError("UNKNOWN_CHANNEL", `channel ${toHex(channelId)} is not this key's`, {});
  }

  /**
   * Closes a channel. Payee: settles at once with its best voucher (or
   * `voucher`, when that is better: a node serving for this key holds it). Payer:
   * with the payee's approval, a cooperative close that settles at once;
   * without, a unilateral close with its newest voucher, which starts the
   * challenge period (then `settle`).
   */
  async close(
    channelId: Uint8Array,
    options: { cooperative?: CooperativeCloseApproval; voucher?: Voucher | null } = {},
  ): Promise<SubmitOutcome> {
    if ((await this.roleOf(channelId)) === "payee") {
      const channel = await this.payeeChannel(channelId);
      // The better of the payee's own best voucher and one handed in (held by a node serving for this key).
      const own = channel?.bestVoucher ?? null;
      const given = options.voucher ?? null;
      const voucher =
        given !== null && (own === null || given.cumulativeAmount > own.cumulativeAmount) ? given : own;
      const outcome = await this.submit((envelope) => buildChannelClose({ ...envelope, channelId, voucher }));
      await channel?.setState(LocalChannelState.Closed);
      return outcome;
    }
    const channel = await this.payerChannel(channelId);
    const cooperative = options.cooperative;
    if (cooperative !== undefined) {
      const chainId = await this.chainId();
      const payerSignature = signCooperativeClose(
        { chainId, channelId, payeeAmount: cooperative.payeeAmount },
        this.options.keys,
      );
      const outcome = await this.submit((envelope) =>
        buildChannelCooperativeClose({ ...envelope, channelId, ...cooperative, payerSignature }),
      );
      await channel?.setState(LocalChannelState.Closed);
      return outcome;
    }
    const voucher = channel?.latestVoucher ?? null;
    const outcome = await this.submit((envelope) => buildChannelClose({ ...envelope, channelId, voucher }));
    await channel?.setState(LocalChannelState.Closing);
    return outcome;
  }

  /** Pays out a channel whose challenge period has ended. */
  async settle(channelId: Uint8Array): Promise<SubmitOutcome> {
    const outcome = await this.submit((envelope) => buildChannelSettle({ ...envelope, channelId }));
    await (await this.payerChannel(channelId))?.setState(LocalChannelState.Closed);
    await (await this.payeeChannel(channelId))?.setState(LocalChannelState.Closed);
    return outcome;
  }

  /** Where a channel stands: this client's record, refreshed from chain. */
  async balance(channelId: Uint8Array): Promise<ChannelBalance> {
    const record = await this.options.chain.getChannel(channelId);
    const payer = await this.payerChannel(channelId);
    const payee = payer === null ? await this.payeeChannel(channelId) : null;
    if (payer === null && payee === null) {
      if (record === null)
        throw new ChannelError("UNKNOWN_CHANNEL", `channel ${toHex(channelId)} is unknown`, {});
      const role: ChannelRole = bytesEqual(record.payer, this.address) ? "payer" : "payee";
      return summary(
        channelId,
        role,
        record,
        role === "payer" ? record.payee : record.payer,
        "",
        0n,
        0,
        null,
      );
    }
    await this.followChain(record, payer, payee);
    if (payer !== null) {
      const local = payer.record;
      return summary(
        channelId,
        "payer",
        record,
        local.payee,
        local.payeePeer,
        local.spent,
        local.sequence,
        local,
      );
    }
    const local = payee!.record;
    return summary(
      channelId,
      "payee",
      record,
      local.payer,
      local.payerPeer,
      payee!.paid,
      local.voucher?.sequence ?? 0,
      local,
    );
  }

  /** Brings the local state in line with the chain: closing, closed, or a grown deposit. */
  private async followChain(
    record: ChannelRecord | null,
    payer: PayerChannel | null,
    payee: PayeeChannel | null,
  ): Promise<void> {
    const channel = payer ?? payee;
    if (channel === null) return;
    const state =
      record === null
        ? LocalChannelState.Closed
        : record.closing !== null
          ? LocalChannelState.Closing
          : LocalChannelState.Open;
    if (channel.record.state !== state && channel.record.state !== LocalChannelState.Closed)
      await channel.setState(state);
    if (record !== null && record.deposit !== channel.record.deposit)
      await channel.setDeposit(record.deposit);
  }

  /** Every channel this client has a record of, payer side first. */
  async list(): Promise<ChannelBalance[]> {
    const ids = [
      ...(await this.options.store.listPayers()).map((r) => r.channelId),
      ...(await this.options.store.listPayees()).map((r) => r.channelId),
    ];
    const out: ChannelBalance[] = [];
    for (const id of ids) out.push(await this.balance(id));
    return out;
  }
}

function summary(
  channelId: Uint8Array,
  role: ChannelRole,
  record: ChannelRecord | null,
  counterparty: Uint8Array,
  peer: string,
  paid: bigint,
  sequence: number,
  local: { deposit: bigint } | null,
): ChannelBalance {
  const deposit = record?.deposit ?? local?.deposit ?? 0n;
  // Off chain means settled (or never opened): nothing is left to do on it.
  const status: ChannelStatus = record === null ? "closed" : record.closing !== null ? "closing" : "open";
  return {
    channelId,
    role,
    counterparty,
    peer,
    deposit,
    paid,
    remaining: deposit > paid ? deposit - paid : 0n,
    sequence,
    status,
    closing:
      record?.closing == null
        ? null
        : { amount: record.closing.amount, deadlineCommit: record.closing.deadlineCommit },
    onChain: record !== null,
  };
}
