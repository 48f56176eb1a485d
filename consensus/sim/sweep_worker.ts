/**
 * A worker thread that runs sweeps for parallel.ts: it receives one job at
 * a time and answers with its summary.
 */
import { parentPort } from "node:worker_threads";
import type { SimulationOptions } from "./simulation.ts";
import { runSweep } from "./sweep.ts";

export interface SweepJob {
  readonly options: SimulationOptions;
  readonly firstSeed: number;
  readonly seeds: number;
}

parentPort?.on("message", (job: SweepJob) => {
  const started = performance.now();
  const summary = runSweep(job.options, job.firstSeed, job.seeds);
  parentPort?.postMessage({ summary, wallMs: performance.now() - started });
});
