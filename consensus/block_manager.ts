/**
 * Holds back blocks whose ancestors we do not have yet. A verified block is
 * accepted into the DAG once every ancestor above the GC round is there;
 * until then it waits ("suspended") and its missing ancestors are reported
 * to the synchronizer, with the peers likely to have them. Accepting a block
 * may release the blocks waiting on it, in causal order.
 *
 * Bounds: at most `suspendedPerAuthorityMax` waiting blocks per author (a
 * Byzantine author cannot fill memory with blocks on made-up ancestors);
 * a block past the bound is dropped and fetched again later if a child
 * needs it. Waiting blocks at or below the GC round are dropped.
 */
import type { BlockRef } from "../spec/index.ts";
import { refKey } from "./block_ref.ts";
import type { BlockVerifier } from "./block_verifier.ts";
import type { DagState } from "./dag_state.ts";
import { BlockError } from "./errors.ts";
import type { VerifiedBlock } from "./verified_block.ts";

/**
 * 512 waiting blocks per author: an honest author makes one block a round,
 * so this covers a peer that is 512 rounds ahead (far past any GC depth we
 * use) while capping a Byzantine author at 512 × n blocks in all.
 */
export const SUSPENDED_BLOCKS_PER_AUTHORITY_MAX = 512;

/** A block we need, and the peers most likely to hold it, best first. */
export interface MissingBlock {
  readonly ref: BlockRef;
  readonly peers: readonly number[];
}

export interface AddBlocksResult {
  /** Newly accepted blocks, each after its ancestors. */
  readonly accepted: VerifiedBlock[];
  /** Blocks rejected on acceptance (their timestamps); their waiting children stay until GC. */
  readonly rejected: BlockError[];
}

interface Waiting {
  readonly block: VerifiedBlock;
  missing: number;
}

export class BlockManager {
  private readonly waiting = new Map<string, Waiting>();
  /** children.get(k): the waiting blocks that lack the block with key k. */
  private readonly children = new Map<string, Waiting[]>();
  /** Blocks neither in the DAG nor waiting, that some waiting block lacks. */
  private readonly missing = new Map<string, { ref: BlockRef; peers: number[] }>();
  private readonly waitingPerAuthor: Int32Array;

  constructor(
    private readonly dag: DagState,
    private readonly verifier: BlockVerifier | null,
    private readonly suspendedPerAuthorityMax = SUSPENDED_BLOCKS_PER_AUTHORITY_MAX,
  ) {
    this.waitingPerAuthor = new Int32Array(dag.committee.size);
  }

  get missingCount(): number {
    return this.missing.size;
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Whether we hold the block, in the DAG or waiting. */
  has(ref: BlockRef): boolean {
    return this.dag.get(ref) !== undefined || this.waiting.has(refKey(ref));
  }

  getWaiting(ref: BlockRef): VerifiedBlock | undefined {
    return this.waiting.get(refKey(ref))?.block;
  }

  /** Blocks some waiting block needs and that nobody has sent us. */
  missingBlocks(): MissingBlock[] {
    return [...this.missing.values()];
  }

  /** Adds verified blocks (from `peer`, when known). */
  addBlocks(blocks: readonly VerifiedBlock[], peer?: number): AddBlocksResult {
    const accepted: VerifiedBlock[] = [];
    const rejected: BlockError[] = [];
    const ready: Waiting[] = [];
    const gcRound = this.dag.gcRound;
    for (const block of blocks) {
      if (block.round <= gcRound || this.waiting.has(block.key) || this.dag.get(block.ref) !== undefined) {
        this.missing.delete(block.key);
        continue;
      }
      const entry: Waiting = { block, missing: 0 };
      const lacking: BlockRef[] = [];
      for (const ancestor of block.ancestors) {
        if (ancestor.round <= gcRound || this.dag.get(ancestor) !== undefined) continue;
        lacking.push(ancestor);
      }
      if (lacking.length === 0) {
        this.missing.delete(block.key);
        ready.push(entry);
        continue;
      }
      if (this.waitingPerAuthor[block.author]! >= this.suspendedPerAuthorityMax) continue;
      this.missing.delete(block.key);
      entry.missing = lacking.length;
      this.waiting.set(block.key, entry);
      this.waitingPerAuthor[block.author]!++;
      for (const ancestor of lacking) {
        const key = refKey(ancestor);
        const list = this.children.get(key);
        if (list === undefined) this.children.set(key, [entry]);
        else list.push(entry);
        if (this.waiting.has(key)) continue;
        // Who surely holds it: the author of the block that references it (it proposed with it),
        // then the peer that sent us that block, then the missing block's own author.
        const known = this.missing.get(key);
        const peers = known?.peers ?? [];
        for (const candidate of [block.author, peer, ancestor.author]) {
          if (candidate !== undefined && !peers.includes(candidate)) peers.push(candidate);
        }
        if (known === undefined) this.missing.set(key, { ref: ancestor, peers });
      }
    }
    this.acceptReady(ready, accepted, rejected);
    return { accepted, rejected };
  }

  private acceptReady(ready: Waiting[], accepted: VerifiedBlock[], rejected: BlockError[]): void {
    while (ready.length > 0) {
      const { block } = ready.pop()!;
      if (this.dag.get(block.ref) !== undefined) continue;
      if (this.verifier !== null) {
        try {
          this.verifier.verifyAncestorTimestamps(
            block,
            block.ancestors.map((a) => this.dag.get(a)),
          );
        } catch (error) {
          if (!(error instanceof BlockError)) throw error;
          rejected.push(error);
          continue;
        }
      }
      this.dag.accept(block);
      this.missing.delete(block.key);
      accepted.push(block);
      const waiters = this.children.get(block.key);
      if (waiters === undefined) continue;
      this.children.delete(block.key);
      for (const child of waiters) {
        if (--child.missing === 0 && this.waiting.delete(child.block.key)) {
          this.waitingPerAuthor[child.block.author]!--;
          ready.push(child);
        }
      }
    }
  }

  /**
   * Call after the DAG's GC round rose: ancestors at or below it count as
   * present, so some waiting blocks become ready; waiting blocks at or below
   * it are dropped.
   */
  onGcRoundAdvanced(): AddBlocksResult {
    const gcRound = this.dag.gcRound;
    const accepted: VerifiedBlock[] = [];
    const rejected: BlockError[] = [];
    const ready: Waiting[] = [];
    for (const [key, entry] of this.waiting) {
      if (entry.block.round > gcRound) continue;
      this.waiting.delete(key);
      this.waitingPerAuthor[entry.block.author]!--;
    }
    for (const [key, { ref }] of this.missing) if (ref.round <= gcRound) this.missing.delete(key);
    for (const [key, waiters] of this.children) {
      const round = Number(key.slice(0, key.indexOf("/")));
      if (round > gcRound) continue;
      this.children.delete(key);
      for (const child of waiters) {
        if (--child.missing === 0 && this.waiting.delete(child.block.key)) {
          this.waitingPerAuthor[child.block.author]!--;
          ready.push(child);
        }
      }
    }
    this.acceptReady(ready, accepted, rejected);
    return { accepted, rejected };
  }
}
