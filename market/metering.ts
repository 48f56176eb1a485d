import { assert } from "../spec/index.ts";

/**
 * Per-token metering of one request, on both ends of its channel. Pure
 * arithmetic; the channel state (vouchers, persistence) lives in channels'
 * PayerChannel and PayeeChannel, which the client and provider drive with
 * what these meters decide.
 *
 * The rule. The provider extends a credit window of W tokens to the
 * request: it delivers a token only while, after delivering it, the tokens
 * delivered are covered by what this request has paid plus W tokens. When
 * payment stops it therefore stops within one token of its credit being
 * used up, and W tokens' price is its whole exposure to one request (W = 1
 * is channels' UNPAID_UNITS_MAX rule). It never delivers a token the
 * channel's deposit could not pay for.
 *
 * The client pays for what it has received and nothing more: a voucher
 * raising the channel's cumulative amount by the value of the tokens
 * received since its last one, after every `voucherIntervalTokens` tokens,
 * and once more at the end for the rest. So the request costs exactly
 * tokens received times price, whether it finishes, is cancelled or its
 * provider dies mid-stream. With an interval no larger than half the
 * window, a voucher for one batch reaches the provider while it still has
 * credit for the next, and a healthy stream never waits on payment.
 */

/** The provider's side: may the next token go out? */
export class ProviderMeter {
  private deliveredTokens = 0;
  /** Tokens the deposit could pay for in this request (Infinity when tokens are free). */
  private depositTokens = 0;
  /** The paid amount `coveredTokens` was computed for, and the tokens it lets out (paid plus the window). */
  private paidSeen = -1n;
  private coveredTokens = 0;

  /**
   * @param paidBaseline the channel's paid amount when the request started (earlier requests' payments)
   * @param deposit the channel's deposit: nothing beyond it can ever be paid
   */
  constructor(
    readonly pricePerToken: bigint,
    readonly creditWindowTokens: number,
    readonly paidBaseline: bigint,
    deposit: bigint,
  ) {
    assert(pricePerToken >= 0n && paidBaseline >= 0n, "amounts are non-negative");
    assert(
      Number.isSafeInteger(creditWindowTokens) && creditWindowTokens >= 1,
      "the credit window is at least one token",
    );
    this.setDeposit(deposit);
  }

  get delivered(): number {
    return this.deliveredTokens;
  }

  /** Value delivered in this request. */
  get deliveredAmount(): bigint {
    return BigInt(this.deliveredTokens) * this.pricePerToken;
  }

  /** Whether the deposit could pay for one more token. */
  depositCovers(): boolean {
    return this.deliveredTokens + 1 <= this.depositTokens;
  }

  /**
   * Whether one more token may go out, given the channel's paid amount now
   * (cumulative, capped at the deposit). The arithmetic in amounts runs once
   * per new paid amount; per token it is one comparison of counts.
   */
  canDeliver(paidNow: bigint): boolean {
    if (paidNow !== this.paidSeen) {
      this.paidSeen = paidNow;
      const paidHere = paidNow - this.paidBaseline;
      const paidTokens =
        this.pricePerToken === 0n
          ? Number.POSITIVE_INFINITY
          : paidHere < 0n
            ? -1
            : Number(paidHere / this.pricePerToken);
      this.coveredTokens = paidTokens + this.creditWindowTokens;
    }
    return this.deliveredTokens + 1 <= this.depositTokens && this.deliveredTokens + 1 <= this.coveredTokens;
  }

  /** Counts one token out; the caller checked `canDeliver`. */
  deliver(paidNow: bigint): void {
    assert(this.canDeliver(paidNow), "a token goes out only when covered");
    this.deliveredTokens++;
  }

  /** A top-up seen on chain. */
  setDeposit(deposit: bigint): void {
    const room = deposit - this.paidBaseline;
    this.depositTokens =
      this.pricePerToken === 0n
        ? Number.POSITIVE_INFINITY
        : room < 0n
          ? 0
          : Number(room / this.pricePerToken);
  }

  /** Value delivered and not yet paid for in this request (what the provider is owed). */
  unpaid(paidNow: bigint): bigint {
    const owed = this.deliveredAmount - (paidNow - this.paidBaseline);
    return owed > 0n ? owed : 0n;
  }
}

/** The client's side: when to pay, and how much in total. */
export class ClientMeter {
  private receivedTokens = 0;
  private paidTokens = 0;

  /** @param spentBaseline the channel's cumulative amount signed before this request */
  constructor(
    readonly pricePerToken: bigint,
    readonly voucherIntervalTokens: number,
    readonly spentBaseline: bigint,
  ) {
    assert(pricePerToken >= 0n && spentBaseline >= 0n, "amounts are non-negative");
    assert(
      Number.isSafeInteger(voucherIntervalTokens) && voucherIntervalTokens >= 1,
      "pay at least every token",
    );
  }

  get received(): number {
    return this.receivedTokens;
  }

  /** What this request costs so far: tokens received times price. */
  get cost(): bigint {
    return BigInt(this.receivedTokens) * this.pricePerToken;
  }

  /** The cumulative amount the channel must reach to pay for every token received. */
  get target(): bigint {
    return this.spentBaseline + this.cost;
  }

  /** Counts one token received; returns the cumulative amount to pay now, or null to wait. */
  onToken(): bigint | null {
    return this.onTokens(1);
  }

  /**
   * Counts `count` tokens received together (one frame); returns the
   * cumulative amount to pay now (all of them, once the interval is
   * reached), or null to wait.
   */
  onTokens(count: number): bigint | null {
    assert(Number.isSafeInteger(count) && count >= 0, "a token count is a non-negative integer");
    this.receivedTokens += count;
    if (this.receivedTokens - this.paidTokens < this.voucherIntervalTokens) return null;
    this.paidTokens = this.receivedTokens;
    return this.target;
  }

  /** The final payment for tokens received since the last voucher, or null when all are paid. */
  settle(): bigint | null {
    if (this.paidTokens === this.receivedTokens) return null;
    this.paidTokens = this.receivedTokens;
    return this.target;
  }
}
