import { toHex, type Voucher } from "../spec/index.ts";
import { CHALLENGE_RETRY_COMMITS, WATCHED_CHANNELS_MAX } from "./constants.ts";
import { ChannelError } from "./errors.ts";
import { type ChannelEvent, ChannelEventName } from "./events.ts";

/**
 * The payee's watcher: a pure state machine fed each executed commit's
 * channel events, which says what the payee must do on chain. What a payee
 * must watch for (as a Lightning node watches for old commitments):
 *
 * - a payer's unilateral close claiming less than the payee's best voucher:
 *   challenge with the best voucher while the period runs (a transaction
 *   sent after commit c lands in c+1 at the earliest, so only while
 *   c < deadline), and again every CHALLENGE_RETRY_COMMITS commits until the
 *   chain shows a claim at least that high (a submission can be lost), and
 *   at once when a better voucher arrives meanwhile;
 * - any close: stop serving on credit (the payer may never pay more);
 * - the end of the period: settle, to be paid (again every
 *   CHALLENGE_RETRY_COMMITS until the chain shows the settlement);
 * - top-ups: the deposit grew (and a pending close was cancelled);
 * - settlement: forget the channel.
 *
 * It never reads clocks or state; the node feeds it commits in order and
 * submits the transactions its actions name.
 */

export type WatcherAction =
  | {
      readonly type: "challenge";
      readonly channelId: Uint8Array;
      readonly voucher: Voucher;
      readonly deadlineCommit: number;
    }
  | { readonly type: "settle"; readonly channelId: Uint8Array }
  | { readonly type: "stop-serving"; readonly channelId: Uint8Array; readonly deadlineCommit: number }
  | { readonly type: "deposit"; readonly channelId: Uint8Array; readonly deposit: bigint }
  | {
      readonly type: "settled";
      readonly channelId: Uint8Array;
      readonly payeeAmount: bigint;
      readonly payerAmount: bigint;
    };

/** A pending close as the watcher knows it. */
export interface WatchedClosing {
  readonly amount: bigint;
  readonly deadlineCommit: number;
}

interface Watched {
  readonly channelId: Uint8Array;
  best: Voucher | null;
  closing: WatchedClosing | null;
  /** Commit index at which a challenge was last asked for, and with which amount. */
  challengedAt: number | null;
  challengedAmount: bigint;
  settleAskedAt: number | null;
}

export interface ChannelWatcherOptions {
  readonly retryCommits?: number;
}

export class ChannelWatcher {
  private readonly channels = new Map<string, Watched>();
  /** Ids of channels with a close pending: the only ones a commit can require action on. */
  private readonly closing = new Set<string>();
  private readonly retryCommits: number;

  constructor(options: ChannelWatcherOptions = {}) {
    this.retryCommits = options.retryCommits ?? CHALLENGE_RETRY_COMMITS;
  }

  get size(): number {
    return this.channels.size;
  }

  /**
   * Starts watching a channel. `closing` is the chain's pending close when
   * watching starts late (after a restart); `best` the payee's best voucher.
   */
  watch(channelId: Uint8Array, best: Voucher | null = null, closing: WatchedClosing | null = null): void {
    const id = toHex(channelId);
    if (!this.channels.has(id) && this.channels.size >= WATCHED_CHANNELS_MAX) {
      throw new ChannelError("TOO_MANY_SESSIONS", `already watching ${WATCHED_CHANNELS_MAX} channels`, {});
    }
    this.channels.set(id, {
      channelId,
      best,
      closing,
      challengedAt: null,
      challengedAmount: 0n,
      settleAskedAt: null,
    });
    if (closing !== null) this.closing.add(id);
    else this.closing.delete(id);
  }

  unwatch(channelId: Uint8Array): void {
    const id = toHex(channelId);
    this.channels.delete(id);
    this.closing.delete(id);
  }

  isWatching(channelId: Uint8Array): boolean {
    return this.channels.has(toHex(channelId));
  }

  /** The payee holds a new best voucher (lower ones are ignored). */
  updateVoucher(channelId: Uint8Array, voucher: Voucher): void {
    const watched = this.channels.get(toHex(channelId));
    if (watched === undefined) return;
    if (watched.best === null || voucher.cumulativeAmount > watched.best.cumulativeAmount)
      watched.best = voucher;
  }

  /** Feeds one executed commit's channel events (in order); returns what the payee must do now. */
  onCommit(commitIndex: number, events: readonly ChannelEvent[]): WatcherAction[] {
    const actions: WatcherAction[] = [];
    for (const event of events) {
      const id = toHex(event.channelId);
      const watched = this.channels.get(id);
      if (watched === undefined) continue;
      switch (event.name) {
        case ChannelEventName.CloseStarted:
          watched.closing = { amount: event.amount, deadlineCommit: event.deadlineCommit };
          watched.challengedAt = null;
          watched.challengedAmount = 0n;
          watched.settleAskedAt = null;
          this.closing.add(id);
          actions.push({
            type: "stop-serving",
            channelId: watched.channelId,
            deadlineCommit: event.deadlineCommit,
          });
          break;
        case ChannelEventName.Challenged:
          if (watched.closing !== null) watched.closing = { ...watched.closing, amount: event.amount };
          break;
        case ChannelEventName.ToppedUp:
          if (event.closeCancelled) {
            watched.closing = null;
            this.closing.delete(id);
          }
          actions.push({ type: "deposit", channelId: watched.channelId, deposit: event.deposit });
          break;
        case ChannelEventName.Settled:
          this.unwatch(watched.channelId);
          actions.push({
            type: "settled",
            channelId: watched.channelId,
            payeeAmount: event.payeeAmount,
            payerAmount: event.payerAmount,
          });
          break;
        case ChannelEventName.Opened:
          break;
      }
    }
    for (const id of this.closing) {
      const watched = this.channels.get(id);
      if (watched?.closing == null) continue;
      const action = this.decide(watched, watched.closing, commitIndex);
      if (action !== null) actions.push(action);
    }
    return actions;
  }

  private decide(watched: Watched, closing: WatchedClosing, commitIndex: number): WatcherAction | null {
    const due = (askedAt: number | null) => askedAt === null || commitIndex - askedAt >= this.retryCommits;
    const best = watched.best;
    if (commitIndex < closing.deadlineCommit) {
      if (best === null || best.cumulativeAmount <= closing.amount) return null;
      if (!due(watched.challengedAt) && best.cumulativeAmount <= watched.challengedAmount) return null;
      watched.challengedAt = commitIndex;
      watched.challengedAmount = best.cumulativeAmount;
      return {
        type: "challenge",
        channelId: watched.channelId,
        voucher: best,
        deadlineCommit: closing.deadlineCommit,
      };
    }
    if (!due(watched.settleAskedAt)) return null;
    watched.settleAskedAt = commitIndex;
    return { type: "settle", channelId: watched.channelId };
  }
}
