import type { BlockOutcome, TransactionSource } from "../consensus/index.ts";
import { senderAddress } from "../ledger/index.ts";
import {
  type BlockRef,
  CodecError,
  decodeTransaction,
  HyperspaceError,
  type Transaction,
  toHex,
  transactionDigest,
  verifyTransaction,
} from "../spec/index.ts";

/**
 * The mempool: bounded, deduplicated, ordered by nonce per sender.
 *
 * Policies:
 * - Admission decodes strictly and verifies the signature, the chain id and
 *   that the nonce is not already used.
 * - Conflicts: a second transaction with the same sender and nonce replaces
 *   the first only if it pays at least REPLACEMENT_FEE_BUMP_PERCENT more fee
 *   and the first has not been proposed yet; otherwise it is refused.
 * - Who proposes: each sender is assigned to one validator (by the sender's
 *   key), so a transaction is normally in exactly one block and a sender's
 *   nonces stay in order. `isAssigned` also answers true when the assigned
 *   validator looks down (the node decides), so a crashed validator does not
 *   strand its senders. As a backstop against a live validator that censors,
 *   any validator proposes a transaction that has waited longer than
 *   `fallbackAfterMs`; the ledger executes a duplicate once.
 * - Full: new transactions are refused with FULL (never silently dropped).
 */
export type MempoolErrorCode =
  | "MALFORMED"
  | "BAD_SIGNATURE"
  | "WRONG_CHAIN"
  | "STALE_NONCE"
  | "NONCE_TOO_FAR"
  | "DUPLICATE"
  | "UNDERPRICED_REPLACEMENT"
  | "ALREADY_PROPOSED"
  | "FULL";

export class MempoolError extends HyperspaceError<MempoolErrorCode, { hash?: string }> {}

/** 50,000 transactions of about 150 bytes is a few seconds of the target load: enough to absorb bursts. */
export const MEMPOOL_TRANSACTIONS_MAX = 50_000;
/** Byte bound so that large payloads cannot exhaust memory within the count bound. */
export const MEMPOOL_BYTES_MAX = 64 * 1024 * 1024;
/** A sender may queue nonces at most this far ahead of its account nonce. */
export const SENDER_NONCE_WINDOW = 1_000;
/**
 * The censorship backstop. It is long because under load every validator
 * proposing every overdue transaction multiplies the work of a backlog that
 * is already too large; a crashed validator is handled sooner, by liveness.
 */
export const FALLBACK_AFTER_MS = 10_000;
/** A replacement must pay at least 10% more, so fee-bump spam costs something. */
export const REPLACEMENT_FEE_BUMP_PERCENT = 10n;

interface Entry {
  readonly tx: Transaction;
  readonly bytes: Uint8Array;
  readonly hash: string;
  /** The sender's address, in hex: the account whose nonce orders its transactions. */
  readonly senderKey: string;
  readonly address: Uint8Array;
  readonly addedMs: number;
  proposed: boolean;
}

/** Each sender's transactions are proposed by one validator, chosen by the sender's key. */
export function senderAssignment(sender: Uint8Array, committeeSize: number): number {
  return ((sender[0] ?? 0) * 256 + (sender[1] ?? 0)) % committeeSize;
}

export interface MempoolOptions {
  readonly chainId: string;
  /** The next nonce of the sender's account (by address) in the executed state. */
  readonly nextNonce: (address: Uint8Array) => number;
  /** True if this node's validator proposes for the sender's transactions; always true on a full node. */
  readonly isAssigned: (sender: Uint8Array) => boolean;
  readonly nowMs: () => number;
  readonly fallbackAfterMs?: number;
  readonly maxTransactions?: number;
  readonly maxBytes?: number;
}

export class Mempool implements TransactionSource {
  private readonly bySender = new Map<string, Map<number, Entry>>();
  private readonly byHash = new Map<string, Entry>();
  private bytes = 0;
  private readonly maxTransactions: number;
  private readonly maxBytes: number;
  private readonly fallbackAfterMs: number;

  constructor(private readonly options: MempoolOptions) {
    this.maxTransactions = options.maxTransactions ?? MEMPOOL_TRANSACTIONS_MAX;
    this.maxBytes = options.maxBytes ?? MEMPOOL_BYTES_MAX;
    this.fallbackAfterMs = options.fallbackAfterMs ?? FALLBACK_AFTER_MS;
  }

  get size(): number {
    return this.byHash.size;
  }

  has(hash: string): boolean {
    return this.byHash.has(hash);
  }

  /** Admits an encoded transaction; returns its hash (hex). Throws MempoolError. */
  add(bytes: Uint8Array): string {
    let tx: Transaction;
    try {
      tx = decodeTransaction(bytes);
    } catch (error) {
      if (error instanceof CodecError) throw new MempoolError("MALFORMED", error.message, {});
      throw error;
    }
    return this.addDecoded(tx, bytes);
  }

  addDecoded(tx: Transaction, bytes: Uint8Array): string {
    const digest = transactionDigest(tx);
    const hash = toHex(digest);
    if (this.byHash.has(hash)) throw new MempoolError("DUPLICATE", "already in the mempool", { hash });
    if (tx.chainId !== this.options.chainId) {
      throw new MempoolError("WRONG_CHAIN", `chain id ${tx.chainId} is not ${this.options.chainId}`, {
        hash,
      });
    }
    const address = senderAddress(tx.sender);
    const next = this.options.nextNonce(address);
    if (tx.nonce < next) throw new MempoolError("STALE_NONCE", `nonce ${tx.nonce} < next ${next}`, { hash });
    if (tx.nonce >= next + SENDER_NONCE_WINDOW) {
      throw new MempoolError("NONCE_TOO_FAR", `nonce ${tx.nonce} is ${SENDER_NONCE_WINDOW}+ ahead`, { hash });
    }
    const senderKey = toHex(address);
    const queue = this.bySender.get(senderKey);
    const existing = queue?.get(tx.nonce);
    if (existing !== undefined) {
      if (existing.proposed) throw new MempoolError("ALREADY_PROPOSED", "nonce already proposed", { hash });
      if (tx.fee * 100n < existing.tx.fee * (100n + REPLACEMENT_FEE_BUMP_PERCENT)) {
        throw new MempoolError(
          "UNDERPRICED_REPLACEMENT",
          `replacement needs ${REPLACEMENT_FEE_BUMP_PERCENT}% more fee`,
          {
            hash,
          },
        );
      }
    }
    // Every check that costs no signature verification comes first: an
    // overloaded node refuses what it cannot keep without spending a verify on
    // it, so its throughput holds instead of falling as submissions pile up.
    const full = () =>
      this.byHash.size >= this.maxTransactions || this.bytes + bytes.byteLength > this.maxBytes;
    if (existing === undefined && full()) throw new MempoolError("FULL", "mempool is full", { hash });
    if (!verifyTransaction(tx))
      throw new MempoolError("BAD_SIGNATURE", "signature does not verify", { hash });
    if (existing !== undefined) this.remove(existing);
    if (full()) throw new MempoolError("FULL", "mempool is full", { hash });
    const entry: Entry = {
      tx,
      bytes,
      hash,
      senderKey,
      address,
      addedMs: this.options.nowMs(),
      proposed: false,
    };
    let senderQueue = this.bySender.get(senderKey);
    if (senderQueue === undefined) {
      senderQueue = new Map();
      this.bySender.set(senderKey, senderQueue);
    }
    senderQueue.set(tx.nonce, entry);
    this.byHash.set(hash, entry);
    this.bytes += bytes.byteLength;
    return hash;
  }

  /**
   * Transactions for our next block: per sender, the contiguous run of nonces
   * from its account nonce, skipping ones already proposed, taking senders in
   * turn so that one busy sender cannot starve the rest.
   */
  pull(maxBytes: number, maxCount: number): readonly Uint8Array[] {
    const now = this.options.nowMs();
    const runs: Entry[][] = [];
    for (const queue of this.bySender.values()) {
      const first = queue.values().next().value;
      if (first === undefined) continue;
      const assigned = this.options.isAssigned(first.tx.sender);
      const run: Entry[] = [];
      for (let nonce = this.options.nextNonce(first.address); ; nonce++) {
        const entry = queue.get(nonce);
        if (entry === undefined) break;
        if (entry.proposed) continue;
        if (!assigned && now - entry.addedMs < this.fallbackAfterMs) break;
        run.push(entry);
      }
      if (run.length > 0) runs.push(run);
    }
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (let depth = 0; out.length < maxCount; depth++) {
      let any = false;
      for (const run of runs) {
        const entry = run[depth];
        if (entry === undefined) continue;
        any = true;
        if (out.length >= maxCount || bytes + entry.bytes.byteLength > maxBytes) return out;
        entry.proposed = true;
        out.push(entry.bytes);
        bytes += entry.bytes.byteLength;
      }
      if (!any) break;
    }
    return out;
  }

  /** Our block's transactions were committed (they leave via `pruneExecuted`) or dropped (they may be proposed again). */
  notify(_block: BlockRef, transactions: readonly Uint8Array[], outcome: BlockOutcome): void {
    if (outcome !== "dropped") return;
    for (const bytes of transactions) {
      try {
        const entry = this.byHash.get(toHex(transactionDigest(decodeTransaction(bytes))));
        if (entry !== undefined) entry.proposed = false;
      } catch {
        // Our own blocks only hold transactions we admitted; nothing to undo for anything else.
      }
    }
  }

  /** After a commit executes: drop every transaction of these sender addresses whose nonce is now used. */
  pruneExecuted(senders: Iterable<Uint8Array>): void {
    for (const address of senders) {
      const queue = this.bySender.get(toHex(address));
      if (queue === undefined) continue;
      const next = this.options.nextNonce(address);
      for (const [nonce, entry] of queue) if (nonce < next) this.remove(entry);
    }
  }

  private remove(entry: Entry): void {
    const queue = this.bySender.get(entry.senderKey);
    queue?.delete(entry.tx.nonce);
    if (queue?.size === 0) this.bySender.delete(entry.senderKey);
    this.byHash.delete(entry.hash);
    this.bytes -= entry.bytes.byteLength;
  }
}
