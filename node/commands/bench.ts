import type { Command } from "commander";
import { loadKeyPair } from "../keystore.ts";
import { runLoad } from "../loadgen.ts";
import { printJson, UsageError } from "../output.ts";

export function register(program: Command): void {
  const bench = program.command("bench").description("measure a running network");
  bench
    .command("load")
    .description(
      "submit signed transfers at a fixed rate to the given RPC endpoints and report submitted and committed tx/s " +
        "and p50/p99 submit-to-final latency",
    )
    .requiredOption("--rpc <url...>", "node JSON-RPC URLs (transactions are spread over them)")
    .requiredOption("--key <file>", "funded key file that pays for the senders (e.g. the devnet faucet)")
    .option("--tps <n>", "target submission rate", "1000")
    .option("--duration <seconds>", "how long to submit", "60")
    .option(
      "--warmup <seconds>",
      "first offer the same load this long, not counted (a fresh node is slower while its JIT compiles)",
      "0",
    )
    .option("--senders <n>", "number of sender accounts")
    .option("--passphrase-file <file>", "passphrase of an encrypted keystore")
    .option(
      "--json",
      "print { submittedTps, committedTps, p50Ms, p99Ms, finalTransactions } as the last line",
    )
    .action(async (options) => {
      const tps = Number(options.tps);
      const durationS = Number(options.duration);
      const warmupS = Number(options.warmup);
      if (!(tps > 0) || !(durationS > 0))
        throw new UsageError("--tps and --duration must be positive numbers");
      if (!(warmupS >= 0)) throw new UsageError("--warmup must be a number of seconds, 0 or more");
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const load = {
        rpcs: options.rpc,
        tps,
        faucet: await loadKeyPair(options.key, options.passphraseFile),
        ...(options.senders !== undefined ? { senders: Number(options.senders) } : {}),
        log,
      };
      if (warmupS > 0) {
        const warm = await runLoad({ ...load, durationS: warmupS });
        log(
          `warm-up: ${warm.finalTransactions} final in ${warmupS} s, p50 ${warm.p50Ms.toFixed(0)} ms (not counted)`,
        );
      }
      const result = await runLoad({ ...load, durationS });
      if (options.json) return printJson(result);
      process.stdout.write(
        `submitted ${result.submitted} (${result.submittedTps.toFixed(0)} tx/s), refused ${result.refused}\n` +
          `final     ${result.finalTransactions} (${result.committedTps.toFixed(0)} tx/s committed)\n` +
          `latency   p50 ${result.p50Ms.toFixed(0)} ms, p99 ${result.p99Ms.toFixed(0)} ms (submit to final)\n`,
      );
    });
}
