/**
 * Many seeds of one configuration: counts safety violations and liveness
 * failures (each with its seed, which `hyperspace sim --seed S` replays) and
 * pools the latency samples of all seeds.
 */
import type { SeedResult, SimulationOptions } from "./simulation.ts";
import { simulate } from "./simulation.ts";
import { percentile, round } from "./stats.ts";

export interface SweepFailure {
  readonly seed: number;
  readonly kind: "safety" | "liveness";
  readonly detail: string;
}

export interface SweepSummary {
  readonly seeds: number;
  readonly safetyViolations: number;
  readonly livenessFailures: number;
  /** Commits summed over seeds (each seed counts its slowest honest authority). */
  readonly commits: number;
  readonly leaderCommitLatencyP50Delta: number;
  readonly leaderCommitLatencyP99Delta: number;
  readonly txCommitLatencyP50Delta: number;
  readonly txCommitLatencyP99Delta: number;
  readonly rejectedBlocks: Readonly<Record<string, number>>;
  readonly misjudgedBlocks: number;
  readonly events: number;
  readonly failures: readonly SweepFailure[];
}

/** A failure list longer than this is cut (the counts stay exact). */
export const SWEEP_FAILURES_LISTED_MAX = 100;

export class SweepAccumulator {
  private seeds = 0;
  private safety = 0;
  private liveness = 0;
  private commits = 0;
  private events = 0;
  private misjudged = 0;
  private readonly leader: number[] = [];
  private readonly tx: number[] = [];
  private readonly rejected: Record<string, number> = {};
  private readonly failures: SweepFailure[] = [];

  constructor(private readonly deltaMs: number) {}

  add(result: SeedResult): void {
    this.seeds++;
    this.commits += result.commits;
    this.events += result.events;
    this.misjudged += result.misjudged;
    for (const latency of result.leaderLatenciesMs) this.leader.push(latency / this.deltaMs);
    for (const latency of result.txLatenciesMs) this.tx.push(latency / this.deltaMs);
    for (const [code, count] of Object.entries(result.rejected))
      this.rejected[code] = (this.rejected[code] ?? 0) + count;
    if (result.safetyViolation !== null) {
      this.safety++;
      this.fail({ seed: result.seed, kind: "safety", detail: result.safetyViolation });
    }
    if (result.livenessFailure !== null) {
      this.liveness++;
      this.fail({ seed: result.seed, kind: "liveness", detail: result.livenessFailure });
    }
  }

  private fail(failure: SweepFailure): void {
    if (this.failures.length < SWEEP_FAILURES_LISTED_MAX) this.failures.push(failure);
  }

  summary(): SweepSummary {
    return {
      seeds: this.seeds,
      safetyViolations: this.safety,
      livenessFailures: this.liveness,
      commits: this.commits,
      leaderCommitLatencyP50Delta: round(percentile(this.leader, 50), 3),
      leaderCommitLatencyP99Delta: round(percentile(this.leader, 99), 3),
      txCommitLatencyP50Delta: round(percentile(this.tx, 50), 3),
      txCommitLatencyP99Delta: round(percentile(this.tx, 99), 3),
      rejectedBlocks: this.rejected,
      misjudgedBlocks: this.misjudged,
      events: this.events,
      failures: this.failures,
    };
  }
}

/** Runs seeds firstSeed, firstSeed + 1, …; `onSeed` sees each result (progress, early reports). */
export function runSweep(
  options: SimulationOptions,
  firstSeed: number,
  seeds: number,
  onSeed?: (result: SeedResult) => void,
): SweepSummary {
  const accumulator = new SweepAccumulator(options.latency?.meanOneWayMs ?? options.deltaMs);
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    const result = simulate(options, seed);
    accumulator.add(result);
    onSeed?.(result);
  }
  return accumulator.summary();
}
