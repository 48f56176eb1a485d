/**
 * Leader reputation. Each committed leader earns its author one point;
 * skipped leaders earn nothing, so an authority that has crashed, withholds
 * its leader blocks or sends them late scores zero. Every
 * `commitsPerScheduleUpdate` commits the scores become a swap table: the
 * lowest-scoring authorities (up to f stake, and only those scoring below
 * the best) stop leading and the highest-scoring ones (up to f stake) lead
 * in their rounds instead. Scores depend only on the commit sequence, so
 * every honest authority builds the same table at the same commit.
 */
import type { Committee } from "./committee.ts";
import { LeaderSwapTable } from "./leader_schedule.ts";

export class ReputationScores {
  private scores: number[];
  private counted = 0;

  constructor(
    private readonly committee: Committee,
    readonly commitsPerScheduleUpdate: number,
  ) {
    this.scores = new Array<number>(committee.size).fill(0);
  }

  /** How many more commits before the schedule changes (0: change it now). */
  get commitsUntilUpdate(): number {
    return this.commitsPerScheduleUpdate - this.counted;
  }

  record(leaderAuthor: number): void {
    this.scores[leaderAuthor]!++;
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
    if (score >= best || badStake + committee.stake(author) > committee.faultyStakeMax) break;
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
