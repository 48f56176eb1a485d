/**
 * The contracts between the consensus engine and the rest of the node. The
 * engine's core is pure and synchronous; time, storage, the network and the
 * mempool come in through these interfaces. node/ implements the store on
 * RocksDB and net/ implements the network; memory_store.ts and the
 * simulator provide in-memory doubles.
 */
import type { Block, BlockRef, Commit } from "../spec/index.ts";

/** Wall-clock time in milliseconds. The simulator passes a virtual clock. */
export interface Clock {
  nowMs(): number;
}

export interface TimerHandle {
  cancel(): void;
}

/** One-shot timers, injected so that tests and the simulator control time. */
export interface Timers {
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

/** One committed leader and its linearised sub-DAG, in commit order. */
export interface CommittedSubDag {
  readonly commit: Commit;
  /** The commit's digest (spec `commitDigest`), the next commit's `previousDigest`. */
  readonly digest: Uint8Array;
  /** The sub-DAG's blocks in the commit's order; the leader is last. */
  readonly blocks: readonly Block[];
}

/**
 * What one step of the core asks the store to persist, atomically. The
 * authority loop awaits the write before it broadcasts `ownLastBlock` or
 * hands the commits on, so nothing sent or executed is ever lost in a crash.
 */
export interface ConsensusWriteBatch {
  /** Blocks accepted into the DAG (our own included). */
  readonly blocks: readonly Block[];
  /** Commits in index order, continuing the stored chain. */
  readonly commits: readonly Commit[];
  /** Our newest proposal, when this batch holds one. */
  readonly ownLastBlock: Block | null;
}

export interface ConsensusStore {
  write(batch: ConsensusWriteBatch): Promise<void>;
  /** Every stored block with round >= `minRound`, in any order. */
  readBlocksFromRound(minRound: number): Promise<Block[]>;
  /** The blocks with these references; null where not stored. */
  readBlocks(refs: readonly BlockRef[]): Promise<(Block | null)[]>;
  readOwnLastBlock(): Promise<Block | null>;
  readLastCommit(): Promise<Commit | null>;
  /** Commits with index in [fromIndex, toIndex], ascending; missing ones are left out. */
  readCommits(fromIndex: number, toIndex: number): Promise<Commit[]>;
}

/** Commits and their blocks, as one peer serves them to a node far behind. */
export interface CommitRange {
  readonly commits: readonly Commit[];
  readonly blocks: readonly Block[];
}

/**
 * The outgoing side of the consensus network, implemented by net/. Peers are
 * authority indices. Implementations bound message sizes and time out
 * requests; a failed request rejects its promise.
 */
export interface ConsensusNetwork {
  /** Sends our block to every other validator (best effort; the authority re-broadcasts when rounds stall). */
  broadcastBlock(block: Block): void;
  /**
   * Asks one peer for the blocks with these references. With
   * `highestAcceptedRounds` (ours, per authority) the peer may add those
   * blocks' ancestors above these rounds, so a node that fell behind catches
   * up in one round trip instead of one per round.
   */
  fetchBlocks(
    peer: number,
    refs: readonly BlockRef[],
    highestAcceptedRounds?: readonly number[],
  ): Promise<Block[]>;
  /** Asks one peer for the newest block it holds from each of these authors (used after losing the disk). */
  fetchLatestBlocks(peer: number, authors: readonly number[]): Promise<Block[]>;
  /** Asks one peer for commits with index in [fromIndex, toIndex] and the blocks they hold. */
  fetchCommits(peer: number, fromIndex: number, toIndex: number): Promise<CommitRange>;
}

/**
 * The incoming side, implemented by the authority: net/ calls these when a
 * peer sends a block or a request.
 */
export interface ConsensusService {
  /** A block a peer broadcast or we fetched; `encodedBytes` is its wire size when known. */
  handleBlock(peer: number, block: Block, encodedBytes?: number): void;
  handleFetchBlocks(
    peer: number,
    refs: readonly BlockRef[],
    highestAcceptedRounds?: readonly number[],
  ): Promise<Block[]>;
  handleFetchLatestBlocks(peer: number, authors: readonly number[]): Promise<Block[]>;
  handleFetchCommits(peer: number, fromIndex: number, toIndex: number): Promise<CommitRange>;
}

export type BlockOutcome = "committed" | "dropped";

/** The mempool, as seen by the proposer. */
export interface TransactionSource {
  /** Up to `maxCount` transactions totalling at most `maxBytes` bytes, for our next block. Synchronous: the core is. */
  pull(maxBytes: number, maxCount: number): readonly Uint8Array[];
  /**
   * Our block's transactions were committed, or dropped: the block fell below
   * the GC round without being committed, so the mempool may propose them again.
   */
  notify(block: BlockRef, transactions: readonly Uint8Array[], outcome: BlockOutcome): void;
}
