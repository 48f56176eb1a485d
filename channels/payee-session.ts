import { RESEND_INTERVAL_MS, UNPAID_UNITS_MAX } from "./constants.ts";
import { ChannelError } from "./errors.ts";
import { type ChannelMessage, encodeChannelMessage, truncateReason } from "./messages.ts";
import type { PayeeChannel } from "./payee.ts";
import type { ChannelTransport } from "./transport.ts";

/**
 * The payee's metering session on one channel: it quotes a price per unit
 * and gates delivery on payment. It delivers while the paid amount covers
 * what it has delivered, so when payment stops it stops within one unit
 * (UNPAID_UNITS_MAX): that unit's price is its whole exposure.
 *
 * Nothing is delivered before the payer accepts the quote: its first
 * voucher in the session (new, or a resend of its newest when credit carries
 * over from an earlier session) is that acceptance.
 *
 * Lost messages: until a first voucher arrives the quote is resent every
 * RESEND_INTERVAL_MS (on `tick`); while delivery waits for payment a status
 * with `waiting` is resent as often, and every voucher received is
 * acknowledged with a status, from which the payer learns of a lost voucher.
 */

export interface PayeeSessionOptions {
  /** The payer's transport name. */
  readonly peer: string;
  readonly unit: string;
  /** Price of one unit in base units; positive. */
  readonly pricePerUnit: bigint;
  /** Milliseconds since some epoch; injected so tests run on virtual time. */
  readonly clock?: () => number;
}

interface CoverageWaiter {
  readonly units: bigint;
  resolve(): void;
  reject(error: unknown): void;
}

export class PayeeSession {
  readonly role = "payee";
  readonly peer: string;
  readonly unit: string;
  readonly pricePerUnit: bigint;
  private readonly clock: () => number;
  private paymentAcknowledged = false;
  private waiting = false;
  private lastQuoteMs = Number.NEGATIVE_INFINITY;
  private lastStatusMs = Number.NEGATIVE_INFINITY;
  private endedReason: string | null = null;
  private waiters: CoverageWaiter[] = [];

  constructor(
    readonly channel: PayeeChannel,
    private readonly transport: ChannelTransport,
    options: PayeeSessionOptions,
  ) {
    if (options.pricePerUnit <= 0n) throw new ChannelError("BAD_AMOUNT", "the price must be positive", {});
    this.peer = options.peer;
    this.unit = options.unit;
    this.pricePerUnit = options.pricePerUnit;
    this.clock = options.clock ?? Date.now;
  }

  get channelId(): Uint8Array {
    return this.channel.channelId;
  }

  get ended(): string | null {
    return this.endedReason;
  }

  /** Value delivered and not covered by the best voucher (negative: prepaid credit left). */
  get unpaidAmount(): bigint {
    return this.channel.deliveredAmount - this.channel.paidDurable;
  }

  private send(message: ChannelMessage): void {
    void this.transport.send(this.peer, encodeChannelMessage(message));
  }

  private sendQuote(): void {
    this.lastQuoteMs = this.clock();
    this.send({ type: "quote", channelId: this.channelId, unit: this.unit, pricePerUnit: this.pricePerUnit });
  }

  private sendStatus(): void {
    this.lastStatusMs = this.clock();
    const best = this.channel.durableVoucher;
    this.send({
      type: "status",
      channelId: this.channelId,
      deliveredAmount: this.channel.deliveredAmount,
      acceptedAmount: best?.cumulativeAmount ?? 0n,
      acceptedSequence: best?.sequence ?? 0,
      waiting: this.waiting,
    });
  }

  /** Sends the quote; the payer pays nothing before it. */
  start(): void {
    this.sendQuote();
  }

  /**
   * Whether `units` more may be delivered: the payer has accepted this
   * session's quote (a valid voucher arrived since it was sent) and
   * afterwards at most UNPAID_UNITS_MAX units are unpaid.
   */
  canDeliver(units = 1): boolean {
    if (!this.paymentAcknowledged) return false;
    const after = this.channel.deliveredAmount + BigInt(units) * this.pricePerUnit;
    return after - this.channel.paidDurable <= BigInt(UNPAID_UNITS_MAX) * this.pricePerUnit;
  }

  /**
   * Counts `units` as delivered if payment allows it and returns true (the
   * caller then delivers them); otherwise asks the payer for payment and
   * returns false. The count is persisted in the background with writes
   * coalesced (a unit per fsync would cap a stream at the disk's sync rate):
   * a crash can forget the units of the one write in flight, a loss only the
   * crashed payee bears. `flush` waits for it, before a clean shutdown.
   */
  deliver(units = 1): boolean {
    if (this.endedReason !== null) {
      throw new ChannelError("SESSION_ENDED", `the session ended: ${this.endedReason}`, {});
    }
    if (!this.canDeliver(units)) {
      if (!this.waiting) {
        this.waiting = true;
        this.sendStatus();
      }
      return false;
    }
    this.waiting = false;
    this.channel
      .addDelivered(BigInt(units) * this.pricePerUnit)
      .catch((error: unknown) => this.stop(`cannot persist deliveries: ${String(error)}`));
    return true;
  }

  /** Resolves once every count and voucher so far is durable. */
  flush(): Promise<void> {
    return this.channel.flush();
  }

  /** Resolves when `units` more may be delivered; rejects when the session ends or `signal` aborts. */
  whenCovered(units = 1, signal?: AbortSignal): Promise<void> {
    if (this.canDeliver(units)) return Promise.resolve();
    if (this.endedReason !== null) {
      return Promise.reject(new ChannelError("SESSION_ENDED", `the session ended: ${this.endedReason}`, {}));
    }
    if (!this.waiting) {
      this.waiting = true;
      this.sendStatus();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: CoverageWaiter = { units: BigInt(units), resolve, reject };
      this.waiters.push(waiter);
      signal?.addEventListener(
        "abort",
        () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => this.canDeliver(Number(w.units)));
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const waiter of ready) waiter.resolve();
  }

  /** A top-up seen on chain. */
  async setDeposit(deposit: bigint): Promise<void> {
    await this.channel.setDeposit(deposit);
    this.wake();
  }

  /** Handles one message from the payer. Invalid vouchers are refused with a ChannelError. */
  async handle(message: ChannelMessage): Promise<void> {
    if (message.type === "voucher") {
      // Verify and keep it now; persist without holding up the next message, so writes
      // coalesce. Delivery relies on it (and the payer hears of it) once it is durable.
      this.channel.accept(message.voucher);
      void this.channel.flush().then(
        () => this.onDurable(),
        (error: unknown) => this.stop(`cannot persist vouchers: ${String(error)}`),
      );
    } else if (message.type === "end") {
      this.stop(message.reason);
    }
  }

  private onDurable(): void {
    if (this.endedReason !== null) return;
    this.paymentAcknowledged = true;
    if (this.canDeliver(1)) this.waiting = false;
    this.sendStatus();
    this.wake();
  }

  /** Resends what may have been lost; call every RESEND_INTERVAL_MS or so. */
  tick(): void {
    if (this.endedReason !== null) return;
    const now = this.clock();
    if (!this.paymentAcknowledged && now - this.lastQuoteMs >= RESEND_INTERVAL_MS) this.sendQuote();
    if (this.waiting && !this.canDeliver(1) && now - this.lastStatusMs >= RESEND_INTERVAL_MS)
      this.sendStatus();
  }

  /** Ends the session and tells the payer. */
  end(reason: string): void {
    if (this.endedReason !== null) return;
    this.send({ type: "end", channelId: this.channelId, reason: truncateReason(reason) });
    this.stop(reason);
  }

  private stop(reason: string): void {
    this.endedReason ??= reason;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      waiter.reject(new ChannelError("SESSION_ENDED", `the session ended: ${reason}`, {}));
    }
  }
}
