import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { loadOrCreatePeerKey, peerIdOf } from "../../net/index.ts";
import { addressFromPublicKey, formatAddress, generateKeyPair, toHex } from "../../spec/index.ts";
import { resolveConfig } from "../config.ts";
import { writeKeystore } from "../keystore.ts";
import { createLogger } from "../logger.ts";
import { HyperspaceNode } from "../node.ts";
import { printJson, UsageError } from "../output.ts";

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  const node = program.command("node").description("set up and run a hyperspace node");
  node
    .command("init")
    .description(
      "create a validator's keys in its data directory: an encrypted validator keystore, a libp2p peer key, and " +
        "validator.json (public key, peer id, addresses) to hand to whoever writes the genesis",
    )
    .option("--data-dir <dir>", "data directory (default ~/.hyperspace)")
    .option("--name <name>", "validator name shown in genesis", "validator")
    .option("--announce <multiaddr...>", "addresses peers dial, e.g. /ip4/203.0.113.7/tcp/7000")
    .option("--passphrase-file <file>", "file holding the keystore passphrase (or set HYPERSPACE_PASSPHRASE)")
    .option("--json", "print validator.json")
    .action(async (options) => {
      const config = resolveConfig({ flags: { dataDir: options.dataDir } });
      const passphrase =
        process.env.HYPERSPACE_PASSPHRASE ??
        (options.passphraseFile ? readFileSync(options.passphraseFile, "utf8").trim() : undefined);
      if (passphrase === undefined || passphrase.length < 8) {
        throw new UsageError(
          "give a passphrase of 8+ characters with --passphrase-file or HYPERSPACE_PASSPHRASE",
        );
      }
      if (existsSync(config.validatorKeyFile))
        throw new UsageError(`${config.validatorKeyFile} exists; refusing to replace a key`);
      const keys = generateKeyPair();
      await writeKeystore(config.validatorKeyFile, keys, passphrase);
      const peerId = peerIdOf(await loadOrCreatePeerKey(join(config.dataDir, "peer.key")));
      const info = {
        name: options.name,
        address: formatAddress(addressFromPublicKey(keys.publicKey)),
        publicKey: toHex(keys.publicKey),
        peerId,
        multiaddrs: options.announce ?? [],
      };
      writeFileSync(join(config.dataDir, "validator.json"), `${JSON.stringify(info, null, 2)}\n`);
      if (options.json) return printJson(info);
      process.stdout.write(
        `validator ${info.address}\npeer id   ${peerId}\nkeystore  ${config.validatorKeyFile}\n` +
          `info      ${join(config.dataDir, "validator.json")} (send it to the genesis author)\n`,
      );
    });
  node
    .command("start")
    .description(
      "start a node: a full node by default, a validator with --validator. Settings come from the config " +
        "file, then HYPERSPACE_* environment variables, then flags",
    )
    .option("--config <file>", "JSON config file (see README for the keys)")
    .option("--bootstrap <multiaddr...>", "bootstrap peers, /ip4/…/tcp/…/p2p/<peer id> (repeatable)")
    .option("--validator", "vote and propose with the validator key (validatorKeyFile)")
    .option("--state-sync", "full node with an empty data dir: start from the newest certified checkpoint")
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
          stateSync: options.stateSync === true ? true : undefined,
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
