import type { ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import type { Command } from "commander";
import { RpcClient } from "../client.ts";
import { initDevnet, launchValidator, readManifest, writeManifest } from "../devnet.ts";
import { printJson, UsageError } from "../output.ts";

/** How long to wait for every validator's RPC to answer before giving up. */
const STARTUP_TIMEOUT_MS = 60_000;
/** How long a validator gets to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 10_000;

async function waitForRpc(url: string, child: ChildProcess): Promise<void> {
  const client = new RpcClient(url);
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null)
      throw new UsageError(`validator at ${url} exited with code ${child.exitCode}; see its node.log`);
    try {
      await client.status();
      return;
    } catch {
      if (Date.now() > deadline)
        throw new UsageError(`validator at ${url} did not start within ${STARTUP_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export function register(program: Command): void {
  program
    .command("devnet")
    .description(
      "run a local devnet: N validators, each its own process with its own RocksDB, on loopback; " +
        "creates genesis, keys and a funded faucet on first run and resumes the same chain after that",
    )
    .option("--validators <n>", "number of validators (first run only)", "4")
    .option("--dir <dir>", "devnet directory", ".devnet")
    .option("--json", "print the devnet description as JSON once every validator answers")
    .action(async (options: { validators: string; dir: string; json?: boolean }) => {
      const dir = resolve(options.dir);
      const count = Number(options.validators);
      if (!Number.isSafeInteger(count) || count < 1 || count > 64)
        throw new UsageError("--validators must be 1 to 64");
      let manifest = readManifest(dir);
      const resumed = manifest !== null;
      if (manifest === null) manifest = await initDevnet(dir, { validators: count });
      const children = manifest.validators.map((v) => launchValidator(v));
      writeManifest(dir, manifest);

      let stopping = false;
      const stop = async (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`\nstopping ${children.length} validators (${signal})...\n`);
        await Promise.all(
          children.map(
            (child) =>
              new Promise<void>((done) => {
                if (child.exitCode !== null) return done();
                const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
                child.once("exit", () => {
                  clearTimeout(timer);
                  done();
                });
                child.kill("SIGTERM");
              }),
          ),
        );
        for (const v of manifest.validators) v.pid = null;
        writeManifest(dir, manifest);
        process.exit(0);
      };
      process.on("SIGINT", () => void stop("SIGINT"));
      process.on("SIGTERM", () => void stop("SIGTERM"));

      try {
        await Promise.all(manifest.validators.map((v, i) => waitForRpc(v.rpc, children[i] as ChildProcess)));
      } catch (error) {
        for (const child of children) child.kill("SIGTERM");
        throw error;
      }
      if (options.json) {
        printJson({ dir, resumed, ...manifest });
      } else {
        process.stdout.write(
          `devnet ${resumed ? "resumed" : "created"} in ${dir} (chain ${manifest.chainId})\n`,
        );
        for (const v of manifest.validators)
          process.stdout.write(`  ${v.name}  rpc ${v.rpc}  pid ${v.pid}  p2p ${v.p2p}\n`);
        process.stdout.write(`faucet ${manifest.faucetAddress}\n  key file ${manifest.faucetKeyFile}\n`);
        process.stdout.write(
          `try: hyperspace status --rpc ${manifest.validators[0]?.rpc}\nCtrl-C stops the devnet.\n`,
        );
      }
      for (const [i, child] of children.entries()) {
        child.once("exit", (code, signal) => {
          if (!stopping)
            process.stderr.write(
              `validator ${manifest.validators[i]?.name} exited (${code ?? signal}); restart it with: hyperspace node start --config ${manifest.validators[i]?.config}\n`,
            );
        });
      }
      await new Promise(() => {});
    });
}
