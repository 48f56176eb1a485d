/**
 * The latency experiments reported by `hyperspace sim` and the sim bench.
 * - deltaLatency: uniform one-way delay δ, no faults. Mysticeti commits a
 *   leader 3δ after it is proposed (leader round, voting round, decision
 *   round, one message delay each).
 * - crashedValidatorLatency: one validator crashed from the start. Before
 *   the first reputation window closes its leader rounds are skipped and the
 *   next round waits for the leader timeout; afterwards it no longer leads.
 */
import { constantLatency } from "./latency.ts";
import { simulate } from "./simulation.ts";
import { mean, percentile } from "./stats.ts";

export interface DeltaLatency {
  readonly validators: number;
  readonly leaderCommitLatencyP50Delta: number;
  readonly leaderCommitLatencyMeanDelta: number;
  readonly leaderCommitLatencyP99Delta: number;
  readonly txCommitLatencyP50Delta: number;
  readonly samples: number;
}

export function deltaLatency(validators: number, deltaMs: number, rounds = 200): DeltaLatency {
  const result = simulate(
    {
      validators,
      byzantine: 0,
      behaviour: "none",
      deltaMs,
      latency: constantLatency(deltaMs),
      faultsBeforeGst: false,
      durationAfterGstMs: rounds * deltaMs,
    },
    1,
  );
  const leader = result.leaderLatenciesMs.map((l) => l / deltaMs);
  const tx = result.txLatenciesMs.map((l) => l / deltaMs);
  return {
    validators,
    leaderCommitLatencyP50Delta: percentile(leader, 50),
    leaderCommitLatencyMeanDelta: mean(leader),
    leaderCommitLatencyP99Delta: percentile(leader, 99),
    txCommitLatencyP50Delta: percentile(tx, 50),
    samples: leader.length,
  };
}

export interface LatencyWindow {
  readonly p50Delta: number;
  readonly meanDelta: number;
  readonly p90Delta: number;
  readonly samples: number;
}

export interface CrashedValidatorLatency {
  readonly validators: number;
  readonly commitsPerScheduleUpdate: number;
  /** Leaders committed before the first reputation window closed. */
  readonly beforeSwap: LatencyWindow;
  /** Leaders committed after it. */
  readonly afterSwap: LatencyWindow;
  readonly leaderTimeoutDelta: number;
}

function window(samples: readonly number[]): LatencyWindow {
  return {
    p50Delta: percentile(samples, 50),
    meanDelta: mean(samples),
    p90Delta: percentile(samples, 90),
    samples: samples.length,
  };
}

export function crashedValidatorLatency(
  validators: number,
  deltaMs: number,
  commitsPerScheduleUpdate = 50,
): CrashedValidatorLatency {
  const leaderTimeoutMs = 4 * deltaMs;
  const result = simulate(
    {
      validators,
      byzantine: 1,
      behaviour: "crash",
      crashAt: "start",
      deltaMs,
      latency: constantLatency(deltaMs),
      faultsBeforeGst: false,
      leaderTimeoutMs,
      commitsPerScheduleUpdate,
      durationAfterGstMs: 4 * commitsPerScheduleUpdate * 2 * deltaMs,
      recordSamples: true,
    },
    1,
  );
  const before = result.samples
    .filter((s) => s.commitIndex <= commitsPerScheduleUpdate)
    .map((s) => s.latencyMs / deltaMs);
  // A few commits of margin: leaders decided around the switch were proposed under the old schedule.
  const after = result.samples
    .filter((s) => s.commitIndex > commitsPerScheduleUpdate + 3)
    .map((s) => s.latencyMs / deltaMs);
  return {
    validators,
    commitsPerScheduleUpdate,
    beforeSwap: window(before),
    afterSwap: window(after),
    leaderTimeoutDelta: leaderTimeoutMs / deltaMs,
  };
}
