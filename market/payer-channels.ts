import {
  ChannelEventName,
  ChannelKind,
  type ChannelStore,
  decodeChannelEvent,
  encodeChannelOpen,
  encodeChannelTopUp,
  LocalChannelState,
  PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT,
  PayerChannel,
  type VoucherSigner,
} from "../channels/index.ts";
import { assert, bytesEqual, toHex } from "../spec/index.ts";
import { maxAmount, minAmount } from "./amounts.ts";
import { CHANNEL_DEPOSIT_REQUESTS, POOL_CHANNELS_MAX } from "./constants.ts";
import { MarketError } from "./errors.ts";
import type { MarketAccount } from "./interface.ts";

/**
 * The client's channels: opened or reused automatically, up to a budget.
 *
 * A request leases one channel to its provider for as long as it runs (a
 * channel carries one request at a time, so each request's vouchers are
 * its own). The pool reuses an idle channel to that provider whose deposit
 * still covers the request's most it can cost; else tops one up; else opens
 * a new one with room for CHANNEL_DEPOSIT_REQUESTS such requests. The sum of
 * the deposits of the pool's open channels never exceeds the budget: past
 * it a request fails with BUDGET_EXHAUSTED.
 */

/** Gets channel transactions executed (the node: through its mempool; tests: the ledger driver). */
export interface ChannelOpener {
  /** Opens a channel to `payee` with `deposit`; resolves with its id once committed. */
  open(payee: Uint8Array, deposit: bigint, challengePeriod: number): Promise<Uint8Array>;
  /** Adds `amount` to the channel's deposit; resolves once committed. */
  topUp(channelId: Uint8Array, amount: bigint): Promise<void>;
}

/** A ChannelOpener that submits the channels module's transactions from the node's account. */
export function accountChannelOpener(account: MarketAccount): ChannelOpener {
  return {
    async open(payee, deposit, challengePeriod) {
      const outcome = await account.submit(
        ChannelKind.Open,
        encodeChannelOpen({ payee, deposit, challengePeriod }),
      );
      if (!outcome.success) {
        throw new MarketError(
          "TRANSACTION_FAILED",
          `channel.open failed: ${outcome.errorCode} ${outcome.errorMessage}`,
          {
            errorCode: outcome.errorCode,
          },
        );
      }
      for (const event of outcome.events) {
        if (event.name !== ChannelEventName.Opened) continue;
        const decoded = decodeChannelEvent(event.name, event.data);
        if (decoded.name === ChannelEventName.Opened) return decoded.channelId;
      }
      throw new MarketError("TRANSACTION_FAILED", "channel.open succeeded without an opened event", {});
    },
    async topUp(channelId, amount) {
      const outcome = await account.submit(ChannelKind.TopUp, encodeChannelTopUp({ channelId, amount }));
      if (!outcome.success) {
        throw new MarketError(
          "TRANSACTION_FAILED",
          `channel.topup failed: ${outcome.errorCode} ${outcome.errorMessage}`,
          {
            errorCode: outcome.errorCode,
          },
        );
      }
    },
  };
}

export interface ChannelLease {
  readonly channel: PayerChannel;
  /** Gives the channel back to the pool. Idempotent. */
  release(): void;
}

export interface PayerChannelsOptions {
  readonly chainId: string;
  readonly store: ChannelStore;
  readonly signer: VoucherSigner;
  readonly opener: ChannelOpener;
  /** Most value the pool locks in channel deposits at once. */
  readonly budget: bigint;
  readonly challengePeriod?: number;
}

export class PayerChannels {
  private readonly channels: PayerChannel[] = [];
  private readonly leased = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private budgetValue: bigint;

  private constructor(private readonly options: PayerChannelsOptions) {
    this.budgetValue = options.budget;
  }

  /** A pool over the payer records already in the store (open channels are reused). */
  static async open(options: PayerChannelsOptions): Promise<PayerChannels> {
    const pool = new PayerChannels(options);
    for (const record of await options.store.listPayers()) {
      if (record.state !== LocalChannelState.Open || record.chainId !== options.chainId) continue;
      const channel = await PayerChannel.load(options.store, options.signer, record.channelId);
      if (channel !== null) pool.channels.push(channel);
    }
    return pool;
  }

  get budget(): bigint {
    return this.budgetValue;
  }

  setBudget(budget: bigint): void {
    assert(budget >= 0n, "a budget is non-negative");
    this.budgetValue = budget;
  }

  /** Deposits locked in the pool's open channels. */
  get committed(): bigint {
    return this.channels.reduce((sum, c) => sum + c.record.deposit, 0n);
  }

  /** Every amount signed over all the pool's channels. */
  get spent(): bigint {
    return this.channels.reduce((sum, c) => sum + c.spent, 0n);
  }

  list(): readonly PayerChannel[] {
    return this.channels;
  }

  /**
   * A channel to `payee` whose deposit has room for `needed` more, for one
   * request. Leases are handed out one at a time, so two requests never
   * open channels for the same room.
   */
  lease(payee: Uint8Array, payeePeer: string, needed: bigint): Promise<ChannelLease> {
    const run = this.queue.then(() => this.leaseNow(payee, payeePeer, needed));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async leaseNow(payee: Uint8Array, payeePeer: string, needed: bigint): Promise<ChannelLease> {
    assert(needed >= 0n, "a request's cost is non-negative");
    const idle = this.channels.filter(
      (c) =>
        bytesEqual(c.record.payee, payee) &&
        c.record.state === LocalChannelState.Open &&
        !this.leased.has(toHex(c.channelId)),
    );
    const fits = idle
      .filter((c) => c.remaining >= needed)
      .sort((a, b) => (a.remaining < b.remaining ? -1 : 1));
    let channel = fits[0];
    const headroom = this.budgetValue - this.committed;
    if (channel === undefined && idle.length > 0) {
      // Top up the idle channel with the most left, by what the request lacks plus room for more.
      const best = idle.reduce((a, b) => (a.remaining >= b.remaining ? a : b));
      const lacking = needed - best.remaining;
      const amount = minAmount(
        headroom,
        maxAmount(lacking, needed * BigInt(CHANNEL_DEPOSIT_REQUESTS) - best.remaining),
      );
      if (amount >= lacking && amount > 0n) {
        await this.options.opener.topUp(best.channelId, amount);
        await best.setDeposit(best.record.deposit + amount);
        channel = best;
      }
    }
    if (channel === undefined) {
      const deposit = minAmount(headroom, maxAmount(needed * BigInt(CHANNEL_DEPOSIT_REQUESTS), 1n));
      if (deposit < needed || deposit <= 0n || this.channels.length >= POOL_CHANNELS_MAX) {
        throw new MarketError(
          "BUDGET_EXHAUSTED",
          `the channel budget has ${headroom} left; the request needs ${needed}`,
          {
            budget: this.budgetValue,
            committed: this.committed,
            needed,
          },
        );
      }
      const challengePeriod = this.options.challengePeriod ?? PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT;
      const channelId = await this.options.opener.open(payee, deposit, challengePeriod);
      channel = await PayerChannel.create(this.options.store, this.options.signer, {
        chainId: this.options.chainId,
        channelId,
        payee,
        payeePeer,
        deposit,
        challengePeriod,
      });
      this.channels.push(channel);
    }
    const id = toHex(channel.channelId);
    this.leased.add(id);
    const leased = channel;
    return {
      channel: leased,
      release: () => {
        this.leased.delete(id);
      },
    };
  }

  /** Forgets a channel that is closing or closed (its deposit no longer counts against the budget). */
  async retire(channelId: Uint8Array): Promise<void> {
    const index = this.channels.findIndex((c) => bytesEqual(c.channelId, channelId));
    if (index < 0) return;
    const [channel] = this.channels.splice(index, 1);
    await channel?.setState(LocalChannelState.Closing);
  }
}
