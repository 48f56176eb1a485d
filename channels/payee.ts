import {
  addressFromPublicKey,
  assert,
  bytesEqual,
  toHex,
  type Voucher,
  verifyVoucher,
} from "../spec/index.ts";
import type { ChannelStore } from "./channel-store.ts";
import { PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT } from "./constants.ts";
import { ChannelError } from "./errors.ts";
import { LocalChannelState, type LocalChannelStateValue, type PayeeRecord } from "./local-records.ts";
import type { ChannelRecord } from "./record.ts";

/**
 * The payee's side of one channel: it keeps the best voucher (highest
 * cumulative amount) and what it has delivered. Vouchers may arrive late,
 * twice or out of order: a voucher at or below the best is stale and
 * ignored, one above it replaces it. A voucher above the deposit is kept
 * (the chain caps the payout, and a top-up may cover it later) but counts
 * only up to the deposit.
 *
 * Persistence: `receive` resolves once the voucher is durable. The hot path
 * (`accept`, then `flush` without waiting) lets writes coalesce, and keeps
 * `durableVoucher`/`paidDurable`: what a restarted payee is sure to hold.
 * Whoever delivers on credit relies on `paidDurable` only, so a restarted
 * payee still holds the newest voucher it served against.
 */

export interface PayeeChannelInit {
  readonly chainId: string;
  readonly channelId: Uint8Array;
  readonly payer: Uint8Array;
  readonly payerPublicKey: Uint8Array;
  readonly payerPeer?: string;
  readonly deposit: bigint;
  readonly challengePeriod: number;
}

export interface PayeePolicy {
  /** The shortest challenge period the payee serves on (commits). */
  readonly challengePeriodMin?: number;
}

/**
 * Checks a channel read from chain before serving on it: it must exist, pay
 * `self`, have no close pending, and give the payee at least the policy's
 * challenge period to answer a payer's close. UNACCEPTABLE_CHANNEL otherwise.
 */
export function payeeInitFromChain(
  chainId: string,
  channelId: Uint8Array,
  record: ChannelRecord | null,
  self: Uint8Array,
  policy: PayeePolicy = {},
): PayeeChannelInit {
  const refuse = (why: string) =>
    new ChannelError("UNACCEPTABLE_CHANNEL", `channel ${toHex(channelId)}: ${why}`, {
      channelId: toHex(channelId),
    });
  if (record === null) throw refuse("not open on chain");
  if (!bytesEqual(record.payee, self)) throw refuse("it pays another payee");
  if (record.closing !== null) throw refuse("a close is pending");
  const minimum = policy.challengePeriodMin ?? PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT;
  if (record.challengePeriod < minimum)
    throw refuse(`challenge period ${record.challengePeriod} < ${minimum} commits`);
  assert(
    bytesEqual(addressFromPublicKey(record.payerPublicKey), record.payer),
    "the chain stores the payer's own key",
  );
  return {
    chainId,
    channelId,
    payer: record.payer,
    payerPublicKey: record.payerPublicKey,
    deposit: record.deposit,
    challengePeriod: record.challengePeriod,
  };
}

export interface VoucherOutcome {
  /** True when this voucher became the best one. */
  readonly accepted: boolean;
  /** What the best voucher pays, up to the deposit. */
  readonly paid: bigint;
}

export class PayeeChannel {
  /** The best voucher known to be on disk (records loaded from the store are). */
  private durable: Voucher | null;

  private constructor(
    private readonly store: ChannelStore,
    private current: PayeeRecord,
  ) {
    this.durable = current.voucher;
  }

  static async create(store: ChannelStore, init: PayeeChannelInit): Promise<PayeeChannel> {
    if ((await store.loadPayee(init.channelId)) !== null) {
      throw new ChannelError("CHANNEL_EXISTS", "this payee already has a record of the channel", {});
    }
    const record: PayeeRecord = {
      chainId: init.chainId,
      channelId: init.channelId,
      payer: init.payer,
      payerPublicKey: init.payerPublicKey,
      payerPeer: init.payerPeer ?? "",
      deposit: init.deposit,
      challengePeriod: init.challengePeriod,
      voucher: null,
      deliveredAmount: 0n,
      state: LocalChannelState.Open,
    };
    await store.savePayee(record);
    return new PayeeChannel(store, record);
  }

  static async load(store: ChannelStore, channelId: Uint8Array): Promise<PayeeChannel | null> {
    const record = await store.loadPayee(channelId);
    return record === null ? null : new PayeeChannel(store, record);
  }

  get record(): PayeeRecord {
    return this.current;
  }

  get channelId(): Uint8Array {
    return this.current.channelId;
  }

  get bestVoucher(): Voucher | null {
    return this.current.voucher;
  }

  /** The best voucher's amount, up to the deposit: what closing now would pay. */
  get paid(): bigint {
    const best = this.current.voucher?.cumulativeAmount ?? 0n;
    return best < this.current.deposit ? best : this.current.deposit;
  }

  /** The best voucher known to be durable. */
  get durableVoucher(): Voucher | null {
    return this.durable;
  }

  /** What the durable best voucher pays, up to the deposit: what a restarted payee could close with. */
  get paidDurable(): bigint {
    const best = this.durable?.cumulativeAmount ?? 0n;
    return best < this.current.deposit ? best : this.current.deposit;
  }

  get deliveredAmount(): bigint {
    return this.current.deliveredAmount;
  }

  private update(change: Partial<PayeeRecord>): Promise<void> {
    this.current = { ...this.current, ...change };
    return this.store.savePayee(this.current);
  }

  /**
   * Validates `voucher` and, when it beats the best, makes it the best (in
   * memory, synchronously). Throws ChannelError for a voucher of another
   * chain or channel, a bad signature, or a closed channel. Callers that
   * rely on the voucher await `receive` instead, which also persists it.
   */
  accept(voucher: Voucher): VoucherOutcome {
    const record = this.current;
    if (record.state === LocalChannelState.Closed) {
      throw new ChannelError("CHANNEL_CLOSED", "the channel is closed", {});
    }
    if (voucher.chainId !== record.chainId) {
      throw new ChannelError("WRONG_CHAIN", `voucher for chain ${voucher.chainId.slice(0, 64)}`, {});
    }
    if (!bytesEqual(voucher.channelId, record.channelId)) {
      throw new ChannelError("WRONG_CHANNEL", `voucher for channel ${toHex(voucher.channelId)}`, {});
    }
    if (record.voucher !== null && voucher.cumulativeAmount <= record.voucher.cumulativeAmount) {
      return { accepted: false, paid: this.paid };
    }
    if (!verifyVoucher(voucher, record.payerPublicKey)) {
      throw new ChannelError("BAD_SIGNATURE", "the voucher is not signed by the channel's payer", {});
    }
    // Keep our own copies: the voucher's byte fields may be views into a larger message buffer.
    const kept: Voucher = {
      chainId: record.chainId,
      channelId: record.channelId,
      cumulativeAmount: voucher.cumulativeAmount,
      sequence: voucher.sequence,
      signature: new Uint8Array(voucher.signature),
    };
    this.current = { ...record, voucher: kept };
    return { accepted: true, paid: this.paid };
  }

  /** `accept`, then persist an accepted voucher before resolving. */
  async receive(voucher: Voucher): Promise<VoucherOutcome> {
    const outcome = this.accept(voucher);
    await this.flush();
    return outcome;
  }

  /** Counts value delivered (metering); resolves once persisted. */
  addDelivered(amount: bigint): Promise<void> {
    assert(amount >= 0n, "delivered amounts are non-negative");
    return this.update({ deliveredAmount: this.current.deliveredAmount + amount });
  }

  /** A top-up seen on chain. */
  setDeposit(deposit: bigint): Promise<void> {
    return this.update({ deposit });
  }

  setState(state: LocalChannelStateValue): Promise<void> {
    return this.update({ state });
  }

  setPayerPeer(payerPeer: string): Promise<void> {
    return this.update({ payerPeer });
  }

  /** Resolves once everything changed so far is durable (concurrent flushes coalesce into few writes). */
  async flush(): Promise<void> {
    const snapshot = this.current;
    await this.store.savePayee(snapshot);
    const written = snapshot.voucher;
    if (
      written !== null &&
      (this.durable === null || written.cumulativeAmount > this.durable.cumulativeAmount)
    ) {
      this.durable = written;
    }
  }
}
