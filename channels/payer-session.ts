import { RESEND_INTERVAL_MS } from "./constants.ts";
import { ChannelError } from "./errors.ts";
import { type ChannelMessage, encodeChannelMessage, truncateReason } from "./messages.ts";
import type { PayerChannel } from "./payer.ts";
import type { ChannelTransport } from "./transport.ts";

/**
 * The payer's metering session on one channel. It accepts the payee's quote
 * (up to its own maximum price), then keeps the payee prepaid: the
 * cumulative amount signed stays at most `creditWindow` above the value of
 * the units received, and is raised back to that whenever half the window is
 * used. So the payer never risks more than the credit window, and the payee
 * (who serves while paid covers delivered) never waits on a healthy link.
 *
 * Its first voucher in a session, sent when it accepts the quote, tells the
 * payee to start; with credit left from an earlier session that is its
 * newest voucher sent again.
 *
 * The payer counts units it received itself (`received`), never what the
 * payee claims. Lost vouchers: a status whose accepted amount is below what
 * was signed, or no acknowledgement within RESEND_INTERVAL_MS (on `tick`),
 * resends the newest voucher, which stands in for every earlier one.
 */

export interface PayerSessionOptions {
  /** The payee's transport name. */
  readonly peer: string;
  /** The highest price per unit this payer accepts. */
  readonly maxPricePerUnit: bigint;
  /** Value paid ahead of the units received; at least one unit's price to keep the payee busy. */
  readonly creditWindow: bigint;
  /** The most this session adds to the channel's cumulative amount (default: the rest of the deposit). */
  readonly budget?: bigint;
  readonly clock?: () => number;
}

export type PayerSessionState = "awaiting-quote" | "paying" | "ended";

export class PayerSession {
  readonly role = "payer";
  readonly peer: string;
  private readonly maxPricePerUnit: bigint;
  private readonly creditWindow: bigint;
  private readonly spendCap: bigint;
  private readonly clock: () => number;
  private price: bigint | null = null;
  private unitName = "";
  private acknowledgedAmount = 0n;
  private lastVoucherMs = Number.NEGATIVE_INFINITY;
  private state: PayerSessionState = "awaiting-quote";
  private endedReason: string | null = null;

  constructor(
    readonly channel: PayerChannel,
    private readonly transport: ChannelTransport,
    options: PayerSessionOptions,
  ) {
    if (options.creditWindow <= 0n)
      throw new ChannelError("BAD_AMOUNT", "the credit window must be positive", {});
    this.peer = options.peer;
    this.maxPricePerUnit = options.maxPricePerUnit;
    this.creditWindow = options.creditWindow;
    const rest = channel.record.deposit - channel.spent;
    this.spendCap =
      channel.spent + (options.budget !== undefined && options.budget < rest ? options.budget : rest);
    this.clock = options.clock ?? Date.now;
  }

  get channelId(): Uint8Array {
    return this.channel.channelId;
  }

  get status(): PayerSessionState {
    return this.state;
  }

  get ended(): string | null {
    return this.endedReason;
  }

  get pricePerUnit(): bigint | null {
    return this.price;
  }

  get unit(): string {
    return this.unitName;
  }

  /** True once this session's budget (or the deposit) is spent. */
  get exhausted(): boolean {
    return this.channel.spent >= this.spendCap;
  }

  private send(message: ChannelMessage): void {
    void this.transport.send(this.peer, encodeChannelMessage(message));
  }

  private sendLatest(): void {
    const voucher = this.channel.latestVoucher;
    if (voucher === null) return;
    this.lastVoucherMs = this.clock();
    this.send({ type: "voucher", voucher });
  }

  /** Counts `units` received from the payee and pays ahead as the credit window allows. */
  async received(units: number | bigint): Promise<void> {
    if (this.price === null) throw new ChannelError("NOT_COVERED", "units received before a quote", {});
    await this.channel.addReceived(BigInt(units) * this.price);
    await this.refill();
  }

  /** Raises the cumulative amount back to the credit window once half of it is used; true if it sent a voucher. */
  private async refill(): Promise<boolean> {
    if (this.state !== "paying" || this.price === null) return false;
    const record = this.channel.record;
    const outstanding = record.spent - record.receivedAmount;
    if (outstanding * 2n > this.creditWindow) return false;
    let target = record.receivedAmount + this.creditWindow;
    if (target > this.spendCap) target = this.spendCap;
    if (target <= record.spent) return false;
    await this.channel.payUpTo(target);
    this.sendLatest();
    return true;
  }

  /** Handles one message from the payee. */
  async handle(message: ChannelMessage): Promise<void> {
    if (this.state === "ended") return;
    switch (message.type) {
      case "quote":
        if (this.price === null) {
          if (message.pricePerUnit > this.maxPricePerUnit) {
            this.end(`price ${message.pricePerUnit} above ${this.maxPricePerUnit}`);
            return;
          }
          this.price = message.pricePerUnit;
          this.unitName = message.unit;
          this.state = "paying";
          // The first voucher of a session accepts the quote: a new one, or the newest again when credit carries over.
          if (!(await this.refill())) this.sendLatest();
        } else if (message.pricePerUnit !== this.price) {
          this.end("the quote changed during the session");
        } else {
          // A quote again means the payee has seen no voucher of this session yet.
          this.sendLatest();
        }
        return;
      case "status":
        // Before the payer accepts a quote it sends nothing, so the payee cannot start early.
        if (this.state !== "paying") return;
        if (message.acceptedAmount > this.acknowledgedAmount)
          this.acknowledgedAmount = message.acceptedAmount;
        if (message.acceptedAmount < this.channel.spent) this.sendLatest();
        else if (message.waiting) await this.refill();
        return;
      case "end":
        this.stop(message.reason);
        return;
      case "voucher":
        return;
    }
  }

  /** Resends the newest voucher when it was not acknowledged; call every RESEND_INTERVAL_MS or so. */
  tick(): void {
    if (this.state !== "paying") return;
    if (
      this.acknowledgedAmount < this.channel.spent &&
      this.clock() - this.lastVoucherMs >= RESEND_INTERVAL_MS
    ) {
      this.sendLatest();
    }
  }

  end(reason: string): void {
    if (this.state === "ended") return;
    this.send({ type: "end", channelId: this.channelId, reason: truncateReason(reason) });
    this.stop(reason);
  }

  private stop(reason: string): void {
    this.state = "ended";
    this.endedReason ??= reason;
  }
}
