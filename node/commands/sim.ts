/**
 * `hyperspace sim`: the deterministic consensus simulator. Runs many seeds of
 * a committee (optionally with f Byzantine authorities of one behaviour)
 * over a virtual network and reports safety violations, liveness failures
 * and commit latencies in units of the one-way delay δ. Every failure prints
 * its seed and the exact command that replays it. `--profile wan` runs a
 * geo-distributed committee over measured inter-region latencies instead.
 */
import type { Command } from "commander";
import {
  BEHAVIOURS,
  type Behaviour,
  crashedValidatorLatency,
  deltaLatency,
  measureCoreCost,
  PAPER_WAN_LATENCY_MS,
  runSweep,
  runWan,
  type SweepSummary,
  type WanResult,
} from "../../consensus/index.ts";
import { printJson, UsageError } from "../output.ts";

interface SimFlags {
  validators?: string;
  byzantine?: string;
  behaviour?: string;
  seeds?: string;
  seed?: string;
  deltaMs: string;
  leaderTimeoutMs?: string;
  synchronous?: boolean;
  profile: string;
  cpuMsPerBlock?: string;
  durationMs: string;
  scaling?: boolean;
  latencyFigures?: boolean;
  json?: boolean;
}

function integer(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}`);
  }
  return parsed;
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new UsageError(`${name} must be a positive number`);
  return parsed;
}

/** The cost of one received block in the Core bench's setting: n = 10, 1,000 transactions of 100 bytes. */
function calibrateCpuMsPerBlock(): number {
  return measureCoreCost({ validators: 10, transactionsPerBlock: 1000, transactionBytes: 100, rounds: 8 })
    .msPerBlock;
}

function runWanProfile(flags: SimFlags): void {
  const validators = integer(flags.validators, "--validators", 4, 200, 50);
  const seeds = integer(flags.seeds, "--seeds", 1, 1000, 1);
  const firstSeed = integer(flags.seed, "--seed", 0, 2 ** 32 - 1, 1);
  const durationMs = positive(flags.durationMs, "--duration-ms")!;
  const cpuMsPerBlock = positive(flags.cpuMsPerBlock, "--cpu-ms-per-block") ?? calibrateCpuMsPerBlock();
  const leaderTimeoutMs = positive(flags.leaderTimeoutMs, "--leader-timeout-ms");
  const sizes =
    flags.scaling !== false ? [...new Set([10, validators, 100])].sort((a, b) => a - b) : [validators];
  const results: WanResult[] = sizes.map((n) =>
    runWan({
      validators: n,
      seeds,
      firstSeed,
      cpuMsPerBlock,
      durationMs,
      ...(leaderTimeoutMs !== undefined ? { leaderTimeoutMs } : {}),
    }),
  );
  const main = results.find((r) => r.validators === validators)!;
  if (flags.json === true) {
    printJson({
      profile: "wan",
      ...main,
      paperLatencyMs: PAPER_WAN_LATENCY_MS,
      scaling: results.map((r) => ({
        validators: r.validators,
        leaderCommitLatencyP50Ms: r.leaderCommitLatencyP50Ms,
        leaderCommitLatencyP99Ms: r.leaderCommitLatencyP99Ms,
        txCommitLatencyP50Ms: r.txCommitLatencyP50Ms,
      })),
    });
  } else {
    process.stdout.write(
      `wan profile: latency matrix of ${main.regions} regions (${main.source}); mean one-way ${main.meanOneWayMs.toFixed(1)} ms; ` +
        `CPU ${cpuMsPerBlock.toFixed(3)} ms per received block\n`,
    );
    for (const r of results) {
      process.stdout.write(
        `n=${r.validators}: leader commit latency p50 ${r.leaderCommitLatencyP50Ms.toFixed(0)} ms, p99 ${r.leaderCommitLatencyP99Ms.toFixed(0)} ms ` +
          `(Mysticeti paper: ~${PAPER_WAN_LATENCY_MS} ms); tx commit p50 ${r.txCommitLatencyP50Ms.toFixed(0)} ms; ` +
          `${r.commitsPerSecond.toFixed(1)} commits/s; safety violations ${r.safetyViolations}\n`,
      );
    }
  }
  if (results.some((r) => r.safetyViolations > 0)) process.exitCode = 1;
}

function replayCommand(
  flags: SimFlags,
  validators: number,
  byzantine: number,
  behaviour: string,
  seed: number,
): string {
  const parts = [`hyperspace sim --validators ${validators}`];
  if (behaviour !== "none") parts.push(`--byzantine ${byzantine} --behaviour ${behaviour}`);
  parts.push(`--delta-ms ${flags.deltaMs}`);
  if (flags.leaderTimeoutMs !== undefined) parts.push(`--leader-timeout-ms ${flags.leaderTimeoutMs}`);
  if (flags.synchronous === true) parts.push("--synchronous");
  parts.push(`--seed ${seed}`);
  return parts.join(" ");
}

function runLanProfile(flags: SimFlags): void {
  const validators = integer(flags.validators, "--validators", 1, 1024, 4);
  const behaviourName = flags.behaviour ?? "none";
  if (behaviourName !== "none" && !(BEHAVIOURS as readonly string[]).includes(behaviourName)) {
    throw new UsageError(`--behaviour must be one of ${BEHAVIOURS.join(", ")}`);
  }
  const faultBound = Math.floor((validators - 1) / 3);
  const byzantine = integer(
    flags.byzantine,
    "--byzantine",
    0,
    validators,
    behaviourName === "none" ? 0 : faultBound,
  );
  const behaviour = byzantine === 0 ? "none" : (behaviourName as Behaviour | "none");
  if (byzantine > 0 && behaviour === "none") throw new UsageError("--byzantine needs a --behaviour");
  const seedGiven = flags.seed !== undefined;
  const firstSeed = integer(flags.seed, "--seed", 0, 2 ** 32 - 1, 1);
  const seeds = integer(flags.seeds, "--seeds", 1, 10_000_000, seedGiven ? 1 : 100);
  const deltaMs = positive(flags.deltaMs, "--delta-ms")!;
  const leaderTimeoutMs = positive(flags.leaderTimeoutMs, "--leader-timeout-ms");
  const options = {
    validators,
    byzantine,
    behaviour,
    deltaMs,
    faultsBeforeGst: flags.synchronous !== true,
    ...(leaderTimeoutMs !== undefined ? { leaderTimeoutMs } : {}),
  };
  const started = performance.now();
  const summary: SweepSummary = runSweep(options, firstSeed, seeds);
  const wallMs = performance.now() - started;
  const failures = summary.failures.map((f) => ({
    ...f,
    replay: replayCommand(flags, validators, byzantine, behaviour, f.seed),
  }));
  const figures =
    flags.latencyFigures === true
      ? {
          uniformDelta: deltaLatency(validators, deltaMs),
          crashedValidator: validators >= 4 ? crashedValidatorLatency(validators, deltaMs) : null,
        }
      : undefined;
  if (flags.json === true) {
    printJson({
      profile: "lan",
      validators,
      byzantine,
      behaviour,
      faultBound,
      deltaMs,
      firstSeed,
      ...summary,
      failures,
      wallMs: Math.round(wallMs),
      latencyFigures: figures,
    });
  } else {
    const out = (line: string) => process.stdout.write(`${line}\n`);
    out(
      `sim: ${summary.seeds} seeds from ${firstSeed}, ${validators} validators, ` +
        `${behaviour === "none" ? "no faulty authorities" : `${byzantine} ${behaviour} (f = ${faultBound})`}, δ = ${deltaMs} ms, ` +
        `${flags.synchronous === true ? "synchronous network" : "loss and partitions before GST"}`,
    );
    out(
      `safety violations ${summary.safetyViolations}, liveness failures ${summary.livenessFailures}, commits ${summary.commits}`,
    );
    out(
      `leader commit latency p50 ${summary.leaderCommitLatencyP50Delta}δ (p99 ${summary.leaderCommitLatencyP99Delta}δ), ` +
        `tx commit latency p50 ${summary.txCommitLatencyP50Delta}δ (p99 ${summary.txCommitLatencyP99Delta}δ)`,
    );
    const rejected = Object.entries(summary.rejectedBlocks);
    if (rejected.length > 0)
      out(`rejected blocks: ${rejected.map(([code, n]) => `${code} ${n}`).join(", ")}`);
    if (figures !== undefined) {
      out(
        `uniform δ, no faults: leader commit latency p50 ${figures.uniformDelta.leaderCommitLatencyP50Delta.toFixed(2)}δ ` +
          `(Mysticeti: 3δ), tx p50 ${figures.uniformDelta.txCommitLatencyP50Delta.toFixed(2)}δ`,
      );
      const crashed = figures.crashedValidator;
      if (crashed !== null) {
        out(
          `one crashed validator: mean ${crashed.beforeSwap.meanDelta.toFixed(2)}δ (p50 ${crashed.beforeSwap.p50Delta.toFixed(2)}δ, ` +
            `p90 ${crashed.beforeSwap.p90Delta.toFixed(2)}δ) before the reputation swap, ` +
            `mean ${crashed.afterSwap.meanDelta.toFixed(2)}δ (p50 ${crashed.afterSwap.p50Delta.toFixed(2)}δ, ` +
            `p90 ${crashed.afterSwap.p90Delta.toFixed(2)}δ) after`,
        );
      }
    }
    for (const f of failures) out(`FAIL seed ${f.seed} (${f.kind}): ${f.detail}\n  replay: ${f.replay}`);
    out(`${(wallMs / summary.seeds).toFixed(2)} ms per seed`);
  }
  if (summary.safetyViolations + summary.livenessFailures > 0) process.exitCode = 1;
}

export function register(program: Command): void {
  program
    .command("sim")
    .description(
      "deterministic consensus simulator: whole committees on a virtual clock and network, with f Byzantine " +
        "authorities; checks safety and liveness over many seeds (each failure prints the command that replays it)",
    )
    .option("--validators <n>", "committee size (default 4; 50 with --profile wan)")
    .option("--byzantine <f>", "faulty authorities (default: f = floor((n-1)/3) when --behaviour is given)")
    .option("--behaviour <b>", `what the faulty authorities do: ${BEHAVIOURS.join("|")}`)
    .option("--seeds <k>", "number of seeds (default 100, or 1 with --seed)")
    .option("--seed <s>", "first seed; alone, replays exactly that seed")
    .option("--delta-ms <d>", "one-way network delay δ in ms", "50")
    .option("--leader-timeout-ms <t>", "leader timeout (default 4δ; 200 ms with --profile wan)")
    .option("--synchronous", "no message loss or partition before GST")
    .option(
      "--profile <p>",
      "lan (seed sweep in units of δ) or wan (measured inter-region latencies, in ms)",
      "lan",
    )
    .option(
      "--cpu-ms-per-block <ms>",
      "wan: CPU cost per received block (default: measured like the Core bench)",
    )
    .option("--duration-ms <ms>", "wan: virtual time simulated per seed", "3000")
    .option("--no-scaling", "wan: only the given size (by default n = 10 and n = 100 are reported too)")
    .option("--latency-figures", "lan: also report latency with uniform δ and with one crashed validator")
    .option("--json", "print one JSON object")
    .action((flags: SimFlags) => {
      if (flags.profile === "wan") runWanProfile(flags);
      else if (flags.profile === "lan") runLanProfile(flags);
      else throw new UsageError("--profile must be lan or wan");
    });
}
