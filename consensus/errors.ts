/**
 * Typed errors of the consensus layer. Expected failures (a peer's invalid
 * block, a malformed test DAG, a bad sync response) are these; broken
 * invariants use `assert` from spec and crash loudly.
 */
import { HyperspaceError } from "../spec/index.ts";

/** Why a block was rejected. Each code names exactly one rule of block_verifier.ts or the DAG acceptance check. */
export type BlockErrorCode =
  | "WRONG_EPOCH"
  | "UNKNOWN_AUTHOR"
  | "GENESIS_ROUND"
  | "TOO_MANY_ANCESTORS"
  | "TOO_MANY_TRANSACTIONS"
  | "TRANSACTION_TOO_LARGE"
  | "BLOCK_TOO_LARGE"
  | "NO_ANCESTORS"
  | "OWN_ANCESTOR_NOT_FIRST"
  | "ANCESTOR_ROUND_NOT_LOWER"
  | "UNKNOWN_ANCESTOR_AUTHOR"
  | "DUPLICATE_ANCESTOR_AUTHOR"
  | "MALFORMED_ANCESTOR"
  | "INSUFFICIENT_PARENT_STAKE"
  | "TIMESTAMP_IN_FUTURE"
  | "TIMESTAMP_BEFORE_ANCESTOR"
  | "BAD_SIGNATURE";

export interface BlockErrorPayload {
  readonly round: number;
  readonly author: number;
  readonly detail?: string;
}

export class BlockError extends HyperspaceError<BlockErrorCode, BlockErrorPayload> {}

/** A malformed text DAG (see test_dag.ts). */
export type DagParseErrorCode = "SYNTAX" | "UNKNOWN_AUTHOR" | "UNKNOWN_BLOCK" | "BAD_ROUND" | "BAD_VARIANT";

export class DagParseError extends HyperspaceError<DagParseErrorCode, { readonly at: number }> {}

/** A peer's answer to a fetch that we cannot use. */
export type SyncErrorCode =
  | "UNREQUESTED_BLOCK"
  | "TOO_MANY_BLOCKS"
  | "COMMIT_CHAIN_BROKEN"
  | "COMMIT_MISMATCH";

export class SyncError extends HyperspaceError<
  SyncErrorCode,
  { readonly peer: number; readonly detail?: string }
> {}
