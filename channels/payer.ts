import { assert, type Voucher } from "../spec/index.ts";
import type { ChannelStore } from "./channel-store.ts";
import { VOUCHER_SEQUENCE_FIRST } from "./constants.ts";
import { ChannelError } from "./errors.ts";
import { LocalChannelState, type LocalChannelStateValue, type PayerRecord } from "./local-records.ts";
import type { VoucherSigner } from "./signer.ts";

/**
 * The payer's side of one channel: it signs cumulative vouchers and never
 * signs a lower amount than before, across restarts too. Each voucher's
 * record (its amount, sequence and the voucher itself) is persisted before
 * `pay` resolves, and a voucher must not leave the process before that, so a
 * payer that crashes and restarts starts above everything it ever sent.
 *
 * State changes happen synchronously when a method is called, so concurrent
 * calls sign strictly increasing amounts and sequences; persistence
 * coalesces (channel-store.ts).
 */

export interface PayerChannelInit {
  readonly chainId: string;
  readonly channelId: Uint8Array;
  readonly payee: Uint8Array;
  readonly payeePeer?: string;
  readonly deposit: bigint;
  readonly challengePeriod: number;
}

export class PayerChannel {
  private constructor(
    private readonly store: ChannelStore,
    private readonly signer: VoucherSigner,
    private current: PayerRecord,
  ) {}

  /** Starts the payer's record of a channel just opened; CHANNEL_EXISTS if it has one. */
  static async create(
    store: ChannelStore,
    signer: VoucherSigner,
    init: PayerChannelInit,
  ): Promise<PayerChannel> {
    if ((await store.loadPayer(init.channelId)) !== null) {
      throw new ChannelError("CHANNEL_EXISTS", "this payer already has a record of the channel", {});
    }
    const record: PayerRecord = {
      chainId: init.chainId,
      channelId: init.channelId,
      payee: init.payee,
      payeePeer: init.payeePeer ?? "",
      deposit: init.deposit,
      challengePeriod: init.challengePeriod,
      spent: 0n,
      sequence: 0,
      voucher: null,
      receivedAmount: 0n,
      state: LocalChannelState.Open,
    };
    await store.savePayer(record);
    return new PayerChannel(store, signer, record);
  }

  static async load(
    store: ChannelStore,
    signer: VoucherSigner,
    channelId: Uint8Array,
  ): Promise<PayerChannel | null> {
    const record = await store.loadPayer(channelId);
    return record === null ? null : new PayerChannel(store, signer, record);
  }

  get record(): PayerRecord {
    return this.current;
  }

  get channelId(): Uint8Array {
    return this.current.channelId;
  }

  /** The highest cumulative amount signed. */
  get spent(): bigint {
    return this.current.spent;
  }

  /** What the deposit still covers. */
  get remaining(): bigint {
    return this.current.deposit - this.current.spent;
  }

  get latestVoucher(): Voucher | null {
    return this.current.voucher;
  }

  private update(change: Partial<PayerRecord>): Promise<void> {
    this.current = { ...this.current, ...change };
    return this.store.savePayer(this.current);
  }

  /** Signs a voucher for `amount` more than the last; resolves once it is persisted. */
  pay(amount: bigint): Promise<Voucher> {
    if (amount <= 0n) return Promise.reject(new ChannelError("BAD_AMOUNT", "a payment must be positive", {}));
    return this.payUpTo(this.current.spent + amount);
  }

  /**
   * Signs a voucher raising the cumulative amount to `cumulativeAmount`;
   * resolves once it is persisted. At or below what was signed, it signs
   * nothing and returns the newest voucher (so callers may ask for a target
   * without tracking what was sent). Above the deposit: INSUFFICIENT_DEPOSIT.
   */
  async payUpTo(cumulativeAmount: bigint): Promise<Voucher> {
    const record = this.current;
    if (record.state !== LocalChannelState.Open) {
      throw new ChannelError("CHANNEL_CLOSED", "the channel is closing or closed", { state: record.state });
    }
    if (cumulativeAmount > record.deposit) {
      throw new ChannelError("INSUFFICIENT_DEPOSIT", `${cumulativeAmount} > deposit ${record.deposit}`, {
        amount: cumulativeAmount,
        deposit: record.deposit,
      });
    }
    if (cumulativeAmount <= record.spent && record.voucher !== null) {
      await this.store.savePayer(record);
      return record.voucher;
    }
    const sequence = Math.max(record.sequence + 1, VOUCHER_SEQUENCE_FIRST);
    const target = cumulativeAmount > record.spent ? cumulativeAmount : record.spent;
    const voucher = this.signer.sign({
      chainId: record.chainId,
      channelId: record.channelId,
      cumulativeAmount: target,
      sequence,
    });
    assert(target >= record.spent && sequence > record.sequence, "vouchers only go up");
    await this.update({ spent: target, sequence, voucher });
    return voucher;
  }

  /** Counts units received (metering); persisted with the next write. */
  addReceived(amount: bigint): Promise<void> {
    assert(amount >= 0n, "received amounts are non-negative");
    return this.update({ receivedAmount: this.current.receivedAmount + amount });
  }

  /** A top-up seen on chain. */
  setDeposit(deposit: bigint): Promise<void> {
    return this.update({ deposit });
  }

  setState(state: LocalChannelStateValue): Promise<void> {
    return this.update({ state });
  }

  setPayeePeer(payeePeer: string): Promise<void> {
    return this.update({ payeePeer });
  }
}
