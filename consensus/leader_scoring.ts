/**
 * Leader reputation, from committed leaders only. Each committed leader's
 * sub-DAG gives one point to every authority with a block in it (the
 * leader's author included); skipped leaders give nothing. An authority that
 * has crashed, or whose blocks never make it into commits, scores zero;
 * once it is back, its blocks are committed again and its score recovers.
 *
 * Every `commitsPerScheduleUpdate` commits the scores become a swap table:
 * the lowest-scoring authorities, up to f stake and only those below half
 * the best score (clear evidence, not bad luck), stop leading; the best
 * ones (up to f stake) lead in their rounds instead. Scores depend only on
 * the commit sequence, so every honest authority builds the same table at
 * the same commit, and a restarted one rebuilds it from its stored commits.
 */
import type { Commit } from "../spec/index.ts";
import type { Committee } from "./committee.ts";
import { LeaderSwapTable } from "./leader_schedule.ts";

export class ReputationScores {
  private scores: number[];
  private counted = 0;
  private readonly seen: Int32Array;

  constructor(
    private readonly committee: Committee,
    readonly commitsPerScheduleUpdate: number,
  ) {
    this.scores = new Array<number>(committee.size).fill(0);
    this.seen = new Int32Array(committee.size);
  }

  /** How many more commits before the schedule changes (0: change it now). */
  get commitsUntilUpdate(): number {
    return this.commitsPerScheduleUpdate - this.counted;
  }

  /** Scores one commit: a point for each authority with a block in it. */
  record(commit: Pick<Commit, "index" | "blocks">): void {
    for (const ref of commit.blocks) {
      if (!this.committee.isAuthority(ref.author) || this.seen[ref.author] === commit.index) continue;
      this.seen[ref.author] = commit.index;
      this.scores[ref.author]!++;
    }
    this.counted++;
  }

  /** Returns this window's scores and starts a new window. */
  take(): number[] {
    const scores = this.scores;
    this.scores = new Array<number>(this.committee.size).fill(0);
    this.counted = 0;
    return scores;
  }
}

export function buildSwapTable(committee: Committee, scores: readonly number[]): LeaderSwapTable {
  const best = Math.max(...scores);
  const ascending = scores
    .map((score, author) => ({ score, author }))
    .sort((a, b) => a.score - b.score || a.author - b.author);
  const bad: number[] = [];
  let badStake = 0;
  for (const { score, author } of ascending) {
    if (2 * score >= best || badStake + committee.stake(author) > committee.faultyStakeMax) break;
    bad.push(author);
    badStake += committee.stake(author);
  }
  if (bad.length === 0) return new LeaderSwapTable([], [], scores);
  const badSet = new Set(bad);
  const descending = scores
    .map((score, author) => ({ score, author }))
    .sort((a, b) => b.score - a.score || a.author - b.author);
  const good: number[] = [];
  let goodStake = 0;
  for (const { author } of descending) {
    if (badSet.has(author)) continue;
    if (good.length > 0 && goodStake + committee.stake(author) > committee.faultyStakeMax) break;
    good.push(author);
    goodStake += committee.stake(author);
  }
  return new LeaderSwapTable(good, bad, scores);
}
