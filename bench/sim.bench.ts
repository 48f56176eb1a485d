/**
 * The deterministic simulator:
 * 1. a sweep of 10,000+ seeds: n in {4, 7, 10}, each Byzantine behaviour
 *    with f faulty authorities, loss and partitions before GST; safety
 *    violations and liveness failures against their bound, zero;
 * 2. leader commit latency with a uniform one-way delay δ and no faults,
 *    beside Mysticeti's bound of 3δ;
 * 3. with one crashed validator, before and after the reputation swap;
 * 4. the WAN profile (measured inter-region round trips, CPU cost per block
 *    from the Core bench measured here) for n = 10, 50 and 100, beside the
 *    paper's ~0.5 s.
 */
import {
  BEHAVIOURS,
  crashedValidatorLatency,
  deltaLatency,
  measureCoreCost,
  PAPER_WAN_LATENCY_MS,
  runSweepsInParallel,
  runWan,
  type SweepJob,
} from "../consensus/index.ts";

const SEEDS_MIN = 10_000;
const SIZES = [4, 7, 10] as const;
/** Both cores of the machine. */
const THREADS = 2;
const DELTA_MS = 50;
/** Virtual time per WAN run: about 20 rounds at n = 100. */
const WAN_DURATION_MS = 2_000;

export async function bench(): Promise<void> {
  const jobsCount = SIZES.length * BEHAVIOURS.length;
  const seedsPerJob = Math.ceil(SEEDS_MIN / jobsCount);
  const jobs: SweepJob[] = SIZES.flatMap((validators) =>
    BEHAVIOURS.map((behaviour) => ({
      options: {
        validators,
        byzantine: Math.floor((validators - 1) / 3),
        behaviour,
        deltaMs: DELTA_MS,
        faultsBeforeGst: true,
      },
      firstSeed: 1,
      seeds: seedsPerJob,
    })),
  );
  const started = performance.now();
  const results = await runSweepsInParallel(jobs, THREADS);
  const wallMs = performance.now() - started;
  let seeds = 0;
  let safety = 0;
  let liveness = 0;
  for (const { job, summary, wallMs: jobMs } of results) {
    seeds += summary.seeds;
    safety += summary.safetyViolations;
    liveness += summary.livenessFailures;
    console.log(
      `sim n=${job.options.validators} f=${job.options.byzantine} ${job.options.behaviour}: ${summary.seeds} seeds, ` +
        `safety violations ${summary.safetyViolations}, liveness failures ${summary.livenessFailures}, ` +
        `leader p50 ${summary.leaderCommitLatencyP50Delta}δ, tx p50 ${summary.txCommitLatencyP50Delta}δ, ` +
        `${(jobMs / summary.seeds).toFixed(2)} ms/seed`,
    );
    for (const failure of summary.failures.slice(0, 3)) {
      console.log(
        `  FAIL seed ${failure.seed} (${failure.kind}): ${failure.detail}; replay: hyperspace sim --validators ${job.options.validators} ` +
          `--byzantine ${job.options.byzantine} --behaviour ${job.options.behaviour} --delta-ms ${DELTA_MS} --seed ${failure.seed}`,
      );
    }
  }
  console.log(`sim safety violations = ${safety} (bound = 0) over ${seeds} seeds`);
  console.log(`sim liveness failures = ${liveness} (bound = 0) over ${seeds} seeds`);
  console.log(
    `sim seeds/s = ${((seeds * 1000) / wallMs).toFixed(0)} on ${THREADS} threads (${((wallMs * THREADS) / seeds).toFixed(2)} ms of one core per seed)`,
  );

  for (const validators of SIZES) {
    const latency = deltaLatency(validators, DELTA_MS);
    console.log(
      `sim leader commit latency, uniform δ, n=${validators} = ${latency.leaderCommitLatencyP50Delta.toFixed(2)} δ p50 ` +
        `(${(latency.leaderCommitLatencyP50Delta / 3).toFixed(3)} x bound = 3 δ, Mysticeti), mean ${latency.leaderCommitLatencyMeanDelta.toFixed(3)} δ; ` +
        `tx commit latency p50 ${latency.txCommitLatencyP50Delta.toFixed(2)} δ`,
    );
  }
  for (const validators of [4, 10]) {
    const crashed = crashedValidatorLatency(validators, DELTA_MS);
    console.log(
      `sim one crashed validator, n=${validators}: leader commit latency mean ${crashed.beforeSwap.meanDelta.toFixed(2)} δ ` +
        `(p50 ${crashed.beforeSwap.p50Delta.toFixed(2)}, p90 ${crashed.beforeSwap.p90Delta.toFixed(2)}) before the reputation swap, ` +
        `${crashed.afterSwap.meanDelta.toFixed(2)} δ (p50 ${crashed.afterSwap.p50Delta.toFixed(2)}, p90 ${crashed.afterSwap.p90Delta.toFixed(2)}) after ` +
        `(bound = 3 δ; leader timeout ${crashed.leaderTimeoutDelta} δ)`,
    );
  }

  const cpuMsPerBlock = measureCoreCost(
    { validators: 10, transactionsPerBlock: 1000, transactionBytes: 100, rounds: 10 },
    3,
  ).msPerBlock;
  for (const validators of [10, 50, 100]) {
    const wan = runWan({ validators, seeds: 1, firstSeed: 1, cpuMsPerBlock, durationMs: WAN_DURATION_MS });
    console.log(
      `sim wan n=${validators}: leader commit latency p50 = ${wan.leaderCommitLatencyP50Ms.toFixed(0)} ms, p99 ${wan.leaderCommitLatencyP99Ms.toFixed(0)} ms ` +
        `(${(wan.leaderCommitLatencyP50Ms / PAPER_WAN_LATENCY_MS).toFixed(2)} x paper = ~${PAPER_WAN_LATENCY_MS} ms); ` +
        `mean one-way ${wan.meanOneWayMs.toFixed(0)} ms over ${wan.regions} regions, CPU ${cpuMsPerBlock.toFixed(2)} ms/block`,
    );
  }
}
