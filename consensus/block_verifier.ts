/**
 * Block verification. `verify` runs every check that needs no other block,
 * cheapest first: epoch, author, round, size and count limits, ancestor
 * structure (own previous block first, rounds lower than the block's, at most
 * one per authority, a quorum of stake from the previous round), timestamp
 * drift, and last the signature. `verifyAncestorTimestamps` runs once the
 * ancestors are in the DAG: a block is never earlier than its ancestors.
 * Every rejection is a BlockError with its own code.
 */
import {
  BLOCK_BYTES_MAX,
  BLOCK_TRANSACTIONS_MAX,
  type Block,
  blockDigest,
  DIGEST_BYTES,
  TX_BYTES_MAX,
} from "../spec/index.ts";
import type { Committee } from "./committee.ts";
import { BlockError, type BlockErrorCode } from "./errors.ts";
import type { Clock } from "./interface.ts";
import { ed25519Verifier, type SignatureVerifier } from "./signature.ts";
import { VerifiedBlock } from "./verified_block.ts";

/** Upper bound on one encoded ancestor reference: array header, round, author, 32-byte bin (see spec codec). */
const ENCODED_REF_BYTES_MAX = 48;
/** Upper bound on the fixed fields of an encoded block: headers, epoch, round, author, timestamp, signature. */
const ENCODED_BLOCK_FIXED_BYTES_MAX = 128;
/** Upper bound on the per-transaction overhead of the encoding (a bin32 header). */
const ENCODED_TX_OVERHEAD_BYTES_MAX = 5;

/**
 * How far ahead of our clock a block's timestamp may be. Validators run NTP,
 * so honest clocks differ by milliseconds; 5 s tolerates a badly synced
 * honest peer while stopping a Byzantine one from dragging commit
 * timestamps far into the future.
 */
export const TIMESTAMP_FORWARD_DRIFT_MAX_MS = 5_000;

export interface BlockVerifierOptions {
  readonly signatureVerifier?: SignatureVerifier;
  /** With a clock, blocks stamped more than `timestampForwardDriftMaxMs` ahead of it are rejected. */
  readonly clock?: Clock;
  readonly timestampForwardDriftMaxMs?: number;
}

function reject(block: Block, code: BlockErrorCode, detail: string): never {
  throw new BlockError(code, detail, { round: block.round, author: block.author, detail });
}

export class BlockVerifier {
  private readonly signatureVerifier: SignatureVerifier;
  /** seen[author] === stamp: the author already appeared in the block being checked (no clearing per call). */
  private readonly seen: Float64Array;
  private stamp = 0;
  private readonly clock: Clock | undefined;
  private readonly driftMaxMs: number;

  constructor(
    private readonly committee: Committee,
    options: BlockVerifierOptions = {},
  ) {
    this.signatureVerifier = options.signatureVerifier ?? ed25519Verifier;
    this.clock = options.clock;
    this.driftMaxMs = options.timestampForwardDriftMaxMs ?? TIMESTAMP_FORWARD_DRIFT_MAX_MS;
    this.seen = new Float64Array(committee.size);
  }

  /**
   * Checks a block received from a peer. `encodedBytes` is its size on the
   * wire when known; otherwise an upper bound computed from its fields is
   * checked against the same limit.
   */
  verify(block: Block, encodedBytes?: number): VerifiedBlock {
    const { committee } = this;
    if (block.epoch !== committee.epoch)
      reject(block, "WRONG_EPOCH", `epoch ${block.epoch} != ${committee.epoch}`);
    if (!committee.isAuthority(block.author)) reject(block, "UNKNOWN_AUTHOR", `author ${block.author}`);
    if (!Number.isSafeInteger(block.round) || block.round < 1)
      reject(block, "GENESIS_ROUND", `round ${block.round}`);

    const { ancestors, transactions } = block;
    if (ancestors.length > committee.size)
      reject(block, "TOO_MANY_ANCESTORS", `${ancestors.length} > ${committee.size}`);
    if (transactions.length > BLOCK_TRANSACTIONS_MAX) {
      reject(block, "TOO_MANY_TRANSACTIONS", `${transactions.length} > ${BLOCK_TRANSACTIONS_MAX}`);
    }
    let sizeBytes = ENCODED_BLOCK_FIXED_BYTES_MAX + ancestors.length * ENCODED_REF_BYTES_MAX;
    for (const tx of transactions) {
      if (tx.byteLength > TX_BYTES_MAX)
        reject(block, "TRANSACTION_TOO_LARGE", `${tx.byteLength} > ${TX_BYTES_MAX}`);
      sizeBytes += tx.byteLength + ENCODED_TX_OVERHEAD_BYTES_MAX;
    }
    if ((encodedBytes ?? sizeBytes) > BLOCK_BYTES_MAX) {
      reject(block, "BLOCK_TOO_LARGE", `${encodedBytes ?? sizeBytes} > ${BLOCK_BYTES_MAX}`);
    }

    if (ancestors.length === 0)
      reject(block, "NO_ANCESTORS", "a block references at least its own previous block");
    if (ancestors[0]!.author !== block.author) {
      reject(block, "OWN_ANCESTOR_NOT_FIRST", `first ancestor is by ${ancestors[0]!.author}`);
    }
    const stamp = ++this.stamp;
    let parentStake = 0;
    for (const ancestor of ancestors) {
      if (!committee.isAuthority(ancestor.author))
        reject(block, "UNKNOWN_ANCESTOR_AUTHOR", `author ${ancestor.author}`);
      if (ancestor.digest.byteLength !== DIGEST_BYTES || !Number.isSafeInteger(ancestor.round)) {
        reject(block, "MALFORMED_ANCESTOR", `ancestor by ${ancestor.author}`);
      }
      if (ancestor.round >= block.round) {
        reject(block, "ANCESTOR_ROUND_NOT_LOWER", `ancestor round ${ancestor.round} >= ${block.round}`);
      }
      if (this.seen[ancestor.author] === stamp) {
        reject(block, "DUPLICATE_ANCESTOR_AUTHOR", `two ancestors by ${ancestor.author}`);
      }
      this.seen[ancestor.author] = stamp;
      if (ancestor.round === block.round - 1) parentStake += committee.stake(ancestor.author);
    }
    if (!committee.reachedQuorum(parentStake)) {
      reject(
        block,
        "INSUFFICIENT_PARENT_STAKE",
        `stake ${parentStake} < ${committee.quorumThreshold} at round ${block.round - 1}`,
      );
    }

    if (this.clock !== undefined && block.timestampMs > this.clock.nowMs() + this.driftMaxMs) {
      reject(block, "TIMESTAMP_IN_FUTURE", `timestamp ${block.timestampMs} ahead of ${this.clock.nowMs()}`);
    }

    const digest = blockDigest(block);
    const publicKey = committee.authorities[block.author]!.publicKey;
    if (!this.signatureVerifier.verify(block.signature, digest, publicKey))
      reject(block, "BAD_SIGNATURE", "signature");
    return new VerifiedBlock(block, digest);
  }

  /** A block is never earlier than any of its ancestors present in the DAG. */
  verifyAncestorTimestamps(block: VerifiedBlock, parents: readonly (VerifiedBlock | undefined)[]): void {
    for (const parent of parents) {
      if (parent !== undefined && parent.timestampMs > block.timestampMs) {
        const detail = `timestamp ${block.timestampMs} < ancestor ${parent.timestampMs}`;
        throw new BlockError("TIMESTAMP_BEFORE_ANCESTOR", detail, {
          round: block.round,
          author: block.author,
          detail,
        });
      }
    }
  }
}
