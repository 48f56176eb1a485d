/** The deterministic simulator's public API (re-exported by consensus/index.ts). */
export { BEHAVIOURS, type Behaviour, CORRUPTIONS } from "./byzantine.ts";
export {
  buildSignedDag,
  type CoreCost,
  type CoreCostOptions,
  measureCoreCost,
  timeBound,
  timeCore,
} from "./core_cost.ts";
export {
  type CrashedValidatorLatency,
  crashedValidatorLatency,
  type DeltaLatency,
  deltaLatency,
  type LatencyWindow,
} from "./experiments.ts";
export { constantLatency, jitterLatency, type LatencyModel, matrixLatency } from "./latency.ts";
export { runSweepsInParallel, type SweepJobResult } from "./parallel.ts";
export { Rng, testSeed } from "./rng.ts";
export {
  LIVENESS_COMMITS_MIN,
  type SeedResult,
  Simulation,
  type SimulationOptions,
  STOP_COMMITS_AFTER_GST,
  simulate,
} from "./simulation.ts";
export { median, percentile } from "./stats.ts";
export { runSweep, SweepAccumulator, type SweepFailure, type SweepSummary } from "./sweep.ts";
export type { SweepJob } from "./sweep_worker.ts";
export { loadWanMatrix, PAPER_WAN_LATENCY_MS, runWan, type WanOptions, type WanResult } from "./wan.ts";
