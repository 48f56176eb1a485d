/**
 * Turns a committed leader into a commit: the leader's causal history that
 * no earlier commit holds and that lies above this commit's GC round
 * (leader round - gcDepthRounds), sorted by (round, author, digest), so
 * every honest authority derives byte-identical commits. Commits are
 * chained by digest and their timestamps never decrease.
 */
import { type Commit, commitDigest, compareBytes, GENESIS_COMMIT_DIGEST } from "../spec/index.ts";
import type { CommittedSubDag } from "./interface.ts";
import type { VerifiedBlock } from "./verified_block.ts";

/** The tail of the commit chain that the next commit extends. */
export interface CommitChainTip {
  readonly index: number;
  readonly digest: Uint8Array;
  readonly timestampMs: number;
  readonly leaderRound: number;
}

export const GENESIS_CHAIN_TIP: CommitChainTip = {
  index: 0,
  digest: GENESIS_COMMIT_DIGEST,
  timestampMs: 0,
  leaderRound: 0,
};

export interface LinearizedCommit extends CommittedSubDag {
  readonly verifiedBlocks: readonly VerifiedBlock[];
}

export function compareBlocks(a: VerifiedBlock, b: VerifiedBlock): number {
  return a.round - b.round || a.author - b.author || compareBytes(a.digest, b.digest);
}

export class Linearizer {
  constructor(readonly gcDepthRounds: number) {}

  /** Commits `leader` after `tip`, marking the sub-DAG's blocks committed. */
  commit(leader: VerifiedBlock, tip: CommitChainTip): LinearizedCommit {
    const gcRound = Math.max(0, leader.round - this.gcDepthRounds);
    const blocks: VerifiedBlock[] = [leader];
    leader.committed = true;
    const stack: VerifiedBlock[] = [leader];
    while (stack.length > 0) {
      const block = stack.pop()!;
      for (const parent of block.parents) {
        if (parent === undefined || parent.committed || parent.round <= gcRound) continue;
        parent.committed = true;
        blocks.push(parent);
        stack.push(parent);
      }
    }
    blocks.sort(compareBlocks);
    const commit: Commit = {
      index: tip.index + 1,
      previousDigest: tip.digest,
      leader: leader.ref,
      blocks: blocks.map((b) => b.ref),
      timestampMs: Math.max(tip.timestampMs, leader.timestampMs),
    };
    return {
      commit,
      digest: commitDigest(commit),
      blocks: blocks.map((b) => b.block),
      verifiedBlocks: blocks,
    };
  }
}

export function chainTipOf(commit: Commit, digest: Uint8Array = commitDigest(commit)): CommitChainTip {
  return { index: commit.index, digest, timestampMs: commit.timestampMs, leaderRound: commit.leader.round };
}
