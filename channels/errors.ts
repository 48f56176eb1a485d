import { HyperspaceError } from "../spec/index.ts";

/**
 * Expected failures of the channels layer. The on-chain codes end up in a
 * failed transaction's receipt; the off-chain codes reach the caller of a
 * payer, payee, session or SDK method.
 */
export type ChannelErrorCode =
  // on chain (receipts)
  | "SELF_CHANNEL"
  | "BAD_AMOUNT"
  | "BAD_CHALLENGE_PERIOD"
  | "CHANNEL_NOT_FOUND"
  | "NOT_PAYER"
  | "NOT_PAYEE"
  | "NOT_PARTICIPANT"
  | "CLOSE_PENDING"
  | "NO_CLOSE_PENDING"
  | "CHALLENGE_PERIOD_OVER"
  | "CHALLENGE_PERIOD_RUNNING"
  | "WRONG_CHAIN"
  | "WRONG_CHANNEL"
  | "BAD_SIGNATURE"
  | "STALE_VOUCHER"
  | "AMOUNT_EXCEEDS_DEPOSIT"
  // off chain
  | "INSUFFICIENT_DEPOSIT"
  | "CHANNEL_CLOSED"
  | "UNKNOWN_CHANNEL"
  | "CHANNEL_EXISTS"
  | "TOO_MANY_SESSIONS"
  | "PRICE_TOO_HIGH"
  | "BUDGET_EXHAUSTED"
  | "NOT_COVERED"
  | "SESSION_ENDED"
  | "CORRUPT_RECORD"
  | "TRANSACTION_FAILED"
  | "UNACCEPTABLE_CHANNEL";

export class ChannelError extends HyperspaceError<ChannelErrorCode, Record<string, unknown>> {}
