import {
  type ChannelClient,
  LocalChannelState,
  PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT,
  type PayerChannel,
} from "../channels/index.ts";
import { assert, bytesEqual, toHex } from "../spec/index.ts";
import { maxAmount, minAmount } from "./amounts.ts";
import { CHANNEL_DEPOSIT_REQUESTS, POOL_CHANNELS_MAX } from "./constants.ts";
import { MarketError } from "./errors.ts";

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

/**
 * Where the pool's channels come from. The node passes the channels SDK's
 * ChannelClient (`sdkChannelSource`), so the pool and every other user of
 * that client share one PayerChannel object per channel, which is what keeps
 * vouchers strictly increasing.
 */
export interface PayerChannelSource {
  /** The open channels this node pays through. */
  list(): Promise<PayerChannel[]>;
  /** Opens a channel on chain and starts its payer record; resolves once committed. */
  open(payee: Uint8Array, payeePeer: string, deposit: bigint, challengePeriod: number): Promise<PayerChannel>;
  /** Adds to a channel's deposit on chain (and to its record); resolves once committed. */
  topUp(channel: PayerChannel, amount: bigint): Promise<void>;
}

/** The source over the channels SDK. */
export function sdkChannelSource(client: ChannelClient): PayerChannelSource {
  return {
    async list() {
      const out: PayerChannel[] = [];
      for (const balance of await client.list()) {
        if (balance.role !== "payer" || balance.status !== "open") continue;
        const channel = await client.payerChannel(balance.channelId);
        if (channel !== null && channel.record.state === LocalChannelState.Open) out.push(channel);
      }
      return out;
    },
    async open(payee, payeePeer, deposit, challengePeriod) {
      const { channelId } = await client.openChannel({ payee, deposit, challengePeriod, payeePeer });
      const channel = await client.payerChannel(channelId);
      assert(channel !== null, "an opened channel has a payer record");
      return channel;
    },
    async topUp(channel, amount) {
      await client.topUp(channel.channelId, amount);
    },
  };
}

export interface ChannelLease {
  readonly channel: PayerChannel;
  /** Gives the channel back to the pool. Idempotent. */
  release(): void;
}

export interface PayerChannelsOptions {
  readonly source: PayerChannelSource;
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

  /** A pool over the source's open channels (they are reused). */
  static async open(options: PayerChannelsOptions): Promise<PayerChannels> {
    const pool = new PayerChannels(options);
    pool.channels.push(...(await options.source.list()));
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
   * open channels for the same room. With `minimum` below `needed` (a
   * partial request), a channel with room for at least `minimum` will do
   * when the budget cannot fund `needed`: the provider then serves what
   * the deposit covers and stops.
   */
  lease(payee: Uint8Array, payeePeer: string, needed: bigint, minimum = needed): Promise<ChannelLease> {
    const run = this.queue.then(() => this.leaseNow(payee, payeePeer, needed, minimum));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async leaseNow(
    payee: Uint8Array,
    payeePeer: string,
    needed: bigint,
    minimum: bigint,
  ): Promise<ChannelLease> {
    assert(needed >= 0n, "a request's cost is non-negative");
    assert(minimum >= 0n && minimum <= needed, "a partial request's minimum is at most its cost");
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
        const before = best.record.deposit;
        await this.options.source.topUp(best, amount);
        if (best.record.deposit === before) await best.setDeposit(before + amount);
        channel = best;
      }
    }
    // A partial request takes the idle channel with the most room when it holds the minimum.
    if (channel === undefined && minimum < needed && idle.length > 0) {
      const best = idle.reduce((a, b) => (a.remaining >= b.remaining ? a : b));
      if (best.remaining >= minimum && best.remaining > 0n) channel = best;
    }
    if (channel === undefined) {
      const deposit = minAmount(headroom, maxAmount(needed * BigInt(CHANNEL_DEPOSIT_REQUESTS), 1n));
      if (deposit < minimum || deposit <= 0n || this.channels.length >= POOL_CHANNELS_MAX) {
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
      channel = await this.options.source.open(payee, payeePeer, deposit, challengePeriod);
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
