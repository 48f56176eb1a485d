import type { ConsensusStore, ConsensusWriteBatch } from "../consensus/index.ts";
import { Bucket, bucketKey, bucketPrefix, indexKey, type Store, WriteBatch } from "../ledger/index.ts";
import {
  type Block,
  type BlockRef,
  blockDigest,
  type Commit,
  decodeBlock,
  decodeCommit,
  encodeBlock,
  encodeCommit,
} from "../spec/index.ts";

/**
 * The consensus engine's storage on the node's one RocksDB store.
 *
 * Keys:
 * - consensusBlock: round (u64 BE) ‖ author (u16 BE) ‖ digest → Block, so a
 *   reference is a direct key and "every block from round r" is a key range;
 * - consensusLastProposal: singleton → our newest Block;
 * - consensusCommit: index (u64 BE) → Commit;
 * - consensusMeta "last-commit" → the newest commit's index.
 *
 * Blocks and commits are kept: they serve commit sync to peers that fell far
 * behind or start from genesis. (Pruning below a retention horizon, once
 * certified checkpoints are served, is future work; disk grows with the chain.)
 */
const LAST_COMMIT_KEY = bucketKey(Bucket.consensusMeta, new TextEncoder().encode("last-commit"));
const LAST_PROPOSAL_KEY = bucketKey(Bucket.consensusLastProposal, new Uint8Array(0));

function blockKey(round: number, author: number, digest: Uint8Array): Uint8Array {
  const key = new Uint8Array(8 + 2 + digest.byteLength);
  const view = new DataView(key.buffer);
  view.setBigUint64(0, BigInt(round));
  view.setUint16(8, author);
  key.set(digest, 10);
  return bucketKey(Bucket.consensusBlock, key);
}

function roundOfKey(key: Uint8Array): number {
  return Number(new DataView(key.buffer, key.byteOffset + 1, 8).getBigUint64(0));
}

/** Adds `commit` to `write` as the newest commit (also used to install a checkpoint's commit with its state). */
export function putCommit(write: WriteBatch, commit: Commit): void {
  write.put(bucketKey(Bucket.consensusCommit, indexKey(commit.index)), encodeCommit(commit));
  write.put(LAST_COMMIT_KEY, indexKey(commit.index));
}

export class RocksConsensusStore implements ConsensusStore {
  constructor(private readonly store: Store) {}

  async write(batch: ConsensusWriteBatch): Promise<void> {
    const write = new WriteBatch();
    for (const block of batch.blocks) {
      write.put(blockKey(block.round, block.author, blockDigest(block)), encodeBlock(block));
    }
    for (const commit of batch.commits) putCommit(write, commit);
    if (batch.ownLastBlock !== null) write.put(LAST_PROPOSAL_KEY, encodeBlock(batch.ownLastBlock));
    if (write.size > 0) await this.store.write(write);
  }

  async readBlocksFromRound(minRound: number): Promise<Block[]> {
    const out: Block[] = [];
    for await (const { key, value } of this.store.iterate(bucketPrefix(Bucket.consensusBlock))) {
      if (roundOfKey(key) >= minRound) out.push(decodeBlock(value));
    }
    return out;
  }

  async readBlocks(refs: readonly BlockRef[]): Promise<(Block | null)[]> {
    return Promise.all(
      refs.map(async (ref) => {
        const bytes = await this.store.get(blockKey(ref.round, ref.author, ref.digest));
        return bytes === null ? null : decodeBlock(bytes);
      }),
    );
  }

  async readOwnLastBlock(): Promise<Block | null> {
    const bytes = await this.store.get(LAST_PROPOSAL_KEY);
    return bytes === null ? null : decodeBlock(bytes);
  }

  async readLastCommit(): Promise<Commit | null> {
    const index = await this.store.get(LAST_COMMIT_KEY);
    if (index === null) return null;
    const bytes = await this.store.get(bucketKey(Bucket.consensusCommit, index));
    return bytes === null ? null : decodeCommit(bytes);
  }

  async readCommits(fromIndex: number, toIndex: number): Promise<Commit[]> {
    const out: Commit[] = [];
    for (let index = fromIndex; index <= toIndex; index++) {
      const bytes = await this.store.get(bucketKey(Bucket.consensusCommit, indexKey(index)));
      if (bytes !== null) out.push(decodeCommit(bytes));
    }
    return out;
  }
}
