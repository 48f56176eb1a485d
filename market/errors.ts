import { HyperspaceError } from "../spec/index.ts";

/**
 * Expected failures of the market layer. The on-chain codes end up in a
 * failed transaction's receipt; the off-chain codes reach the caller of the
 * router, the provider service, the pod SDK or the API-key store.
 */
export type MarketErrorCode =
  // on chain (receipts)
  | "BAD_PEER_ID"
  | "BAD_PEER_SIGNATURE"
  | "BAD_NAME"
  | "BAD_DEVICE"
  | "BAD_ROLE"
  | "BOND_TOO_LOW"
  | "PROVIDER_NOT_FOUND"
  | "PROVIDER_UNBONDING"
  | "UNBONDING_RUNNING"
  | "POD_NOT_FOUND"
  | "NOT_ADMIN"
  | "NOT_MEMBER"
  | "ALREADY_MEMBER"
  | "PEER_TAKEN"
  | "POD_FULL"
  | "LAST_ADMIN"
  | "NOT_INVITED"
  | "BAD_INVITE"
  | "INVITE_EXPIRED"
  | "INVITE_USED"
  | "INVITE_REVOKED"
  // off chain
  | "TRANSACTION_FAILED"
  | "BAD_REQUEST"
  | "NO_PROVIDER"
  | "ALL_PROVIDERS_FAILED"
  | "STREAM_FAILED"
  | "PROTOCOL"
  | "PRICE_TOO_HIGH"
  | "NOT_COVERED"
  | "BUDGET_EXHAUSTED"
  | "MODEL_NOT_SERVED"
  | "BUSY"
  | "UNKNOWN_CHANNEL"
  | "UNACCEPTABLE_CHANNEL"
  | "BAD_VOUCHER"
  | "BAD_OFFER"
  | "NOT_POD_MEMBER"
  | "CANCELLED"
  | "INVALID_API_KEY"
  | "RATE_LIMITED"
  | "QUOTA_EXCEEDED"
  | "MODEL_NOT_ALLOWED"
  | "TOO_MANY_KEYS"
  | "CORRUPT_RECORD";

export class MarketError extends HyperspaceError<MarketErrorCode, Record<string, unknown>> {}
