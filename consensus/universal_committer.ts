/**
 * The pipelined committer: `waveLength` base committers with round offsets
 * 0..waveLength-1, so every round has a leader. `tryDecide` walks the leader
 * rounds from the highest one that can have a decision round down to the
 * last decided leader, applies the direct rule and then the indirect rule,
 * and returns the longest prefix of decided leaders above the last decided
 * one. It is idempotent: the same DAG and starting point give the same
 * answer, and resuming from any decided leader gives the rest of it.
 */

import { BaseCommitter } from "./base_committer.ts";
import type { Slot } from "./block_ref.ts";
import type { Committee } from "./committee.ts";
import type { DagState } from "./dag_state.ts";
import type { LeaderSchedule } from "./leader_schedule.ts";
import { type DecidedLeader, isDecided, type LeaderStatus } from "./leader_status.ts";

export interface UniversalCommitterOptions {
  /** Rounds per wave; Mysticeti uses 3 (leader, voting, decision). */
  readonly waveLength: number;
  /** One base committer per round offset (a leader every round), or a single one (a leader every wave). */
  readonly pipelined: boolean;
}

export const DEFAULT_COMMITTER_OPTIONS: UniversalCommitterOptions = { waveLength: 3, pipelined: true };

export class UniversalCommitter {
  readonly committers: readonly BaseCommitter[];

  constructor(
    committee: Committee,
    private readonly dag: DagState,
    schedule: LeaderSchedule,
    readonly options: UniversalCommitterOptions = DEFAULT_COMMITTER_OPTIONS,
  ) {
    const stages = options.pipelined ? options.waveLength : 1;
    const committers: BaseCommitter[] = [];
    for (let roundOffset = 0; roundOffset < stages; roundOffset++) {
      committers.push(
        new BaseCommitter(committee, dag, schedule, { waveLength: options.waveLength, roundOffset }),
      );
    }
    this.committers = committers;
  }

  /** The leader of `round`, or null when no committer has a leader there. */
  leaderOf(round: number): Slot | null {
    for (const committer of this.committers) {
      const slot = committer.electLeader(round);
      if (slot !== null) return slot;
    }
    return null;
  }

  /** Decided leaders after `lastDecided`, in round order, up to the first undecided one. */
  tryDecide(lastDecided: Slot): DecidedLeader[] {
    const highest = this.dag.highestAcceptedRound - (this.options.waveLength - 1);
    const leaders: LeaderStatus[] = [];
    for (let round = highest; round > lastDecided.round; round--) {
      for (let i = this.committers.length - 1; i >= 0; i--) {
        const committer = this.committers[i]!;
        const slot = committer.electLeader(round);
        if (slot === null) continue;
        let status = committer.tryDirectDecide(slot);
        if (!isDecided(status)) status = committer.tryIndirectDecide(slot, leaders);
        leaders.unshift(status);
      }
    }
    const decided: DecidedLeader[] = [];
    for (const status of leaders) {
      if (status.slot.round === 0) continue;
      if (!isDecided(status)) break;
      decided.push(status);
    }
    return decided;
  }

  /** Forgets cached results at or below `round`, once decided leaders there will never be asked for again. */
  prune(round: number): void {
    for (const committer of this.committers) committer.prune(round);
  }
}
