/**
 * The WAN profile: validators spread round-robin over the regions of a
 * measured inter-region round-trip matrix (wan_latency.json, source noted
 * there), each charged a CPU cost per received block (from the Core bench),
 * no faults. Reports leader commit latency in milliseconds.
 */
import { readFileSync } from "node:fs";
import { matrixLatency } from "./latency.ts";
import { simulate } from "./simulation.ts";
import { mean, percentile } from "./stats.ts";

interface LatencyMatrix {
  readonly source: string;
  readonly regions: readonly string[];
  readonly roundTripMs: readonly (readonly number[])[];
  readonly sameRegionRoundTripMs: number;
}

export function loadWanMatrix(): LatencyMatrix {
  return JSON.parse(readFileSync(new URL("./wan_latency.json", import.meta.url), "utf8")) as LatencyMatrix;
}

/** Mysticeti's reported WAN latency for comparison (Babel et al.: about half a second). */
export const PAPER_WAN_LATENCY_MS = 500;
/** Per-link jitter around the measured mean: ±10%. */
export const WAN_JITTER = 0.1;

export interface WanOptions {
  readonly validators: number;
  readonly seeds: number;
  readonly firstSeed: number;
  readonly cpuMsPerBlock: number;
  /** Virtual time to simulate per seed. */
  readonly durationMs: number;
  /** The node's defaults: 200 ms leader timeout, 50 ms between proposals. */
  readonly leaderTimeoutMs?: number;
  readonly minRoundDelayMs?: number;
}

export interface WanResult {
  readonly validators: number;
  readonly regions: number;
  readonly meanOneWayMs: number;
  readonly cpuMsPerBlock: number;
  readonly leaderCommitLatencyP50Ms: number;
  readonly leaderCommitLatencyP99Ms: number;
  readonly leaderCommitLatencyMeanMs: number;
  readonly txCommitLatencyP50Ms: number;
  readonly commitsPerSecond: number;
  readonly safetyViolations: number;
  readonly source: string;
}

export function runWan(options: WanOptions): WanResult {
  const matrix = loadWanMatrix();
  const regionOf = Array.from({ length: options.validators }, (_, i) => i % matrix.regions.length);
  const latency = matrixLatency(matrix.roundTripMs, regionOf, WAN_JITTER, matrix.sameRegionRoundTripMs);
  const leader: number[] = [];
  const tx: number[] = [];
  let commits = 0;
  let safety = 0;
  for (let seed = options.firstSeed; seed < options.firstSeed + options.seeds; seed++) {
    const result = simulate(
      {
        validators: options.validators,
        byzantine: 0,
        behaviour: "none",
        deltaMs: latency.meanOneWayMs,
        latency,
        faultsBeforeGst: false,
        leaderTimeoutMs: options.leaderTimeoutMs ?? 200,
        minRoundDelayMs: options.minRoundDelayMs ?? 50,
        cpuMsPerBlock: options.cpuMsPerBlock,
        durationAfterGstMs: options.durationMs,
        txIntervalMs: 100,
      },
      seed,
    );
    leader.push(...result.leaderLatenciesMs);
    tx.push(...result.txLatenciesMs);
    commits += result.commits;
    if (result.safetyViolation !== null) safety++;
  }
  return {
    validators: options.validators,
    regions: Math.min(matrix.regions.length, options.validators),
    meanOneWayMs: latency.meanOneWayMs,
    cpuMsPerBlock: options.cpuMsPerBlock,
    leaderCommitLatencyP50Ms: percentile(leader, 50),
    leaderCommitLatencyP99Ms: percentile(leader, 99),
    leaderCommitLatencyMeanMs: mean(leader),
    txCommitLatencyP50Ms: percentile(tx, 50),
    commitsPerSecond: (commits * 1000) / (options.durationMs * options.seeds),
    safetyViolations: safety,
    source: matrix.source,
  };
}
