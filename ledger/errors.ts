import { HyperspaceError } from "../spec/index.ts";

/**
 * Expected failures of the ledger layer. Codes that a transaction handler
 * throws end up in that transaction's failed receipt; the others reach the
 * caller of the ledger.
 */
export type LedgerErrorCode =
  // store
  | "STORE_CLOSED"
  | "STORE_IO"
  // genesis and open
  | "BAD_GENESIS"
  | "GENESIS_MISMATCH"
  | "CORRUPT_STATE"
  // checkpoint snapshots
  | "SNAPSHOT_MISMATCH"
  | "LEDGER_NOT_FRESH"
  // commits
  | "COMMIT_OUT_OF_ORDER"
  | "COMMIT_TOO_LARGE"
  | "LEDGER_CLOSED"
  // execution (failed receipts)
  | "UNKNOWN_KIND"
  | "BAD_PAYLOAD"
  | "INSUFFICIENT_BALANCE"
  | "INSUFFICIENT_STAKE"
  | "STAKE_TOO_LOW"
  | "NOT_A_VALIDATOR"
  | "TOO_MANY_EVENTS"
  | "EVENT_TOO_LARGE"
  | "STATE_LIMIT"
  // proofs
  | "BAD_PROOF";

export class LedgerError extends HyperspaceError<LedgerErrorCode, Record<string, unknown>> {}
