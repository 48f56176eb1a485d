import type { Command } from "commander";
import { resolveConfig } from "../config.ts";
import { createLogger } from "../logger.ts";
import { HyperspaceNode } from "../node.ts";
import { printJson } from "../output.ts";

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  const node = program.command("node").description("run a hyperspace node");
  node
    .command("start")
    .description(
      "start a node: a full node by default, a validator with --validator. Settings come from the config " +
        "file, then HYPERSPACE_* environment variables, then flags",
    )
    .option("--config <file>", "JSON config file (see README for the keys)")
    .option("--bootstrap <multiaddr...>", "bootstrap peers, /ip4/…/tcp/…/p2p/<peer id> (repeatable)")
    .option("--validator", "vote and propose with the validator key (validatorKeyFile)")
    .option("--data-dir <dir>", "data directory (default ~/.hyperspace)")
    .option("--genesis <file>", "genesis file (default <data-dir>/genesis.json)")
    .option("--listen <multiaddr>", "libp2p listen address (repeatable)", collect)
    .option("--rpc-host <host>", "JSON-RPC bind address (default 127.0.0.1)")
    .option("--rpc-port <port>", "JSON-RPC port (default 8545)")
    .option("--log-level <level>", "debug, info, warn, error or silent")
    .option("--json", "print one JSON line with the node's endpoints once it has started")
    .action(async (options) => {
      const config = resolveConfig({
        file: options.config ?? null,
        flags: {
          bootstrap: options.bootstrap,
          validator: options.validator === true ? true : undefined,
          dataDir: options.dataDir,
          genesisFile: options.genesis,
          listen: options.listen,
          rpcHost: options.rpcHost,
          rpcPort: options.rpcPort,
          logLevel: options.logLevel,
        },
      });
      const log = createLogger(config.logLevel);
      const started = await HyperspaceNode.start(config, log);
      if (options.json) {
        printJson({
          rpc: started.rpcUrl,
          peerId: started.host.peerId,
          p2p: started.host.multiaddrs(),
          validator: started.isValidator,
          chainId: started.genesis.chainId,
        });
      }
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info("stopping", { signal });
        void started.stop().then(() => process.exit(0));
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
      await new Promise(() => {});
    });
}
