/**
 * An in-memory ConsensusStore for tests and the simulator. Writes apply
 * atomically (a batch is applied whole, synchronously); `wipe` models a lost
 * disk. The synchronous readers let the simulator recover without awaiting.
 */
import { assert, type Block, type BlockRef, type Commit } from "../spec/index.ts";
import { blockKey, refKey } from "./block_ref.ts";
import type { ConsensusStore, ConsensusWriteBatch } from "./interface.ts";

export class InMemoryConsensusStore implements ConsensusStore {
  private readonly blocks = new Map<string, Block>();
  private commits: Commit[] = [];
  private ownLast: Block | null = null;

  writeSync(batch: ConsensusWriteBatch): void {
    let previous = this.commits.at(-1)?.index ?? 0;
    for (const commit of batch.commits) {
      assert(commit.index === previous + 1, "commits must be written in index order");
      previous = commit.index;
    }
    for (const block of batch.blocks) {
      this.blocks.set(blockKey(block), block);
    }
    for (const commit of batch.commits) this.commits.push(commit);
    if (batch.ownLastBlock !== null) {
      assert(
        this.ownLast === null || batch.ownLastBlock.round > this.ownLast.round,
        "own blocks must rise in round",
      );
      this.ownLast = batch.ownLastBlock;
    }
  }

  /** Forgets everything, as after a disk loss. */
  wipe(): void {
    this.blocks.clear();
    this.commits = [];
    this.ownLast = null;
  }

  get blockCount(): number {
    return this.blocks.size;
  }

  readBlocksFromRoundSync(minRound: number): Block[] {
    return [...this.blocks.values()].filter((b) => b.round >= minRound);
  }

  readBlocksSync(refs: readonly BlockRef[]): (Block | null)[] {
    return refs.map((ref) => this.blocks.get(refKey(ref)) ?? null);
  }

  readOwnLastBlockSync(): Block | null {
    return this.ownLast;
  }

  readLastCommitSync(): Commit | null {
    return this.commits.at(-1) ?? null;
  }

  readCommitsSync(fromIndex: number, toIndex: number): Commit[] {
    return this.commits.slice(Math.max(0, fromIndex - 1), Math.max(0, toIndex));
  }

  async write(batch: ConsensusWriteBatch): Promise<void> {
    this.writeSync(batch);
  }

  async readBlocksFromRound(minRound: number): Promise<Block[]> {
    return this.readBlocksFromRoundSync(minRound);
  }

  async readBlocks(refs: readonly BlockRef[]): Promise<(Block | null)[]> {
    return this.readBlocksSync(refs);
  }

  async readOwnLastBlock(): Promise<Block | null> {
    return this.readOwnLastBlockSync();
  }

  async readLastCommit(): Promise<Commit | null> {
    return this.readLastCommitSync();
  }

  async readCommits(fromIndex: number, toIndex: number): Promise<Commit[]> {
    return this.readCommitsSync(fromIndex, toIndex);
  }
}
