/**
 * Reading back what a restarted authority needs: the blocks above the GC
 * round of its last commit, the commits that mark them committed and that
 * rebuild the reputation windows, and its own last proposal. An empty store
 * means a fresh start or a lost disk: the authority then syncs its last
 * block from peers before proposing (authority.ts).
 */
import type { Block, Commit } from "../spec/index.ts";
import { type CoreOptions, type RecoveredState, recoveryCommitRange } from "./core.ts";
import type { ConsensusStore } from "./interface.ts";
import type { InMemoryConsensusStore } from "./memory_store.ts";

type RecoveryOptions = Pick<CoreOptions, "gcDepthRounds" | "commitsPerScheduleUpdate">;

function assemble(
  lastCommit: Commit | null,
  blocks: readonly Block[],
  commits: readonly Commit[],
  ownLastBlock: Block | null,
): RecoveredState | null {
  if (lastCommit === null && blocks.length === 0 && ownLastBlock === null) return null;
  return { blocks, commits, ownLastBlock };
}

function gcRoundOf(lastCommit: Commit | null, options: RecoveryOptions): number {
  return lastCommit === null ? 0 : Math.max(0, lastCommit.leader.round - options.gcDepthRounds);
}

export async function loadRecoveredState(
  store: ConsensusStore,
  options: RecoveryOptions,
): Promise<RecoveredState | null> {
  const lastCommit = await store.readLastCommit();
  const blocks = await store.readBlocksFromRound(gcRoundOf(lastCommit, options) + 1);
  let commits: Commit[] = [];
  if (lastCommit !== null) {
    const { fromIndex, toIndex } = recoveryCommitRange(lastCommit.index, options);
    commits = await store.readCommits(fromIndex, toIndex);
  }
  return assemble(lastCommit, blocks, commits, await store.readOwnLastBlock());
}

export function loadRecoveredStateSync(
  store: InMemoryConsensusStore,
  options: RecoveryOptions,
): RecoveredState | null {
  const lastCommit = store.readLastCommitSync();
  const blocks = store.readBlocksFromRoundSync(gcRoundOf(lastCommit, options) + 1);
  let commits: Commit[] = [];
  if (lastCommit !== null) {
    const { fromIndex, toIndex } = recoveryCommitRange(lastCommit.index, options);
    commits = store.readCommitsSync(fromIndex, toIndex);
  }
  return assemble(lastCommit, blocks, commits, store.readOwnLastBlockSync());
}
