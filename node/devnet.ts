import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { createGenesis, genesisToJson } from "../ledger/index.ts";
import { loadOrCreatePeerKey, peerIdOf } from "../net/index.ts";
import { addressFromPublicKey, formatAddress, generateKeyPair } from "../spec/index.ts";
import { writeKeyFile } from "./keyfile.ts";
import { writeKeystore } from "./keystore.ts";

/**
 * The local devnet: N validators on loopback, each its own OS process with
 * its own RocksDB directory, a shared genesis and a funded faucet account.
 *
 * DIR/
 *   devnet.json          validators (name, pid, rpc, dataDir, config), faucetKeyFile
 *   genesis.json
 *   faucet.key.json      plain key file of the faucet account
 *   v0/ … vN-1/          config.json, validator.key.json (encrypted), passphrase, peer.key, db/, node.log
 */
export interface DevnetValidator {
  name: string;
  pid: number | null;
  rpc: string;
  dataDir: string;
  config: string;
  peerId: string;
  p2p: string;
}

export interface DevnetManifest {
  chainId: string;
  genesisFile: string;
  faucetKeyFile: string;
  faucetAddress: string;
  validators: DevnetValidator[];
}

/** Each validator's stake: equal stakes, so any 3 of 4 form a quorum. */
export const DEVNET_VALIDATOR_STAKE = 1_000_000n;
/** The faucet's balance: 10^15 base units, plenty for load tests. */
export const DEVNET_FAUCET_BALANCE = 10n ** 15n;

export function manifestPath(dir: string): string {
  return join(dir, "devnet.json");
}

export function readManifest(dir: string): DevnetManifest | null {
  const path = manifestPath(dir);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as DevnetManifest) : null;
}

export function writeManifest(dir: string, manifest: DevnetManifest): void {
  writeFileSync(manifestPath(dir), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * Devnet ports come from below the kernels' ephemeral ranges (Linux
 * 32768-60999, macOS and Windows 49152-65535): a port the kernel hands out
 * for outgoing connections can be taken between choosing it and the node
 * binding it, or again before a restart, since the devnet keeps its ports.
 */
const DEVNET_PORT_MIN = 20_000;
const DEVNET_PORT_MAX = 32_767;
const DEVNET_PORT_ATTEMPTS = 1_000;
/**
 * The next port to probe. Ports are probed in turn from a random start, so
 * that processes choosing ports at the same time (tests run in parallel)
 * rarely probe the same ones.
 */
let nextPort = DEVNET_PORT_MIN + Math.floor(Math.random() * (DEVNET_PORT_MAX - DEVNET_PORT_MIN + 1));

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free TCP port on loopback, outside the ephemeral ranges; each call gives another. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < DEVNET_PORT_ATTEMPTS; attempt++) {
    const port = nextPort;
    nextPort = port >= DEVNET_PORT_MAX ? DEVNET_PORT_MIN : port + 1;
    if (await canListen(port)) return port;
  }
  throw new Error(
    `no free port in ${DEVNET_PORT_MIN}-${DEVNET_PORT_MAX} after ${DEVNET_PORT_ATTEMPTS} tries`,
  );
}

export interface InitDevnetOptions {
  readonly validators: number;
  readonly chainId?: string;
  /** Passed to each validator's config. */
  readonly leaderTimeoutMs?: number;
  /** scrypt cost of the keystores; tests lower it. */
  readonly scryptN?: number;
  /** More settings for every validator's config file. */
  readonly extraConfig?: Record<string, unknown>;
}

/** Creates keys, genesis and configs for a new devnet in `dir`. Starts nothing. */
export async function initDevnet(dirInput: string, options: InitDevnetOptions): Promise<DevnetManifest> {
  const dir = resolve(dirInput);
  mkdirSync(dir, { recursive: true });
  const chainId = options.chainId ?? "hyperspace-devnet";
  const faucet = generateKeyPair();
  const faucetKeyFile = join(dir, "faucet.key.json");
  writeKeyFile(faucetKeyFile, faucet, { force: true });

  const entries: (DevnetValidator & { publicKey: Uint8Array; rpcPort: number })[] = [];
  for (let i = 0; i < options.validators; i++) {
    const name = `v${i}`;
    const dataDir = join(dir, name);
    mkdirSync(dataDir, { recursive: true });
    const keys = generateKeyPair();
    const passphrase = randomBytes(24).toString("hex");
    writeFileSync(join(dataDir, "passphrase"), `${passphrase}\n`, { mode: 0o600 });
    await writeKeystore(join(dataDir, "validator.key.json"), keys, passphrase, options.scryptN);
    const peerId = peerIdOf(await loadOrCreatePeerKey(join(dataDir, "peer.key")));
    const p2pPort = await freePort();
    const rpcPort = await freePort();
    entries.push({
      name,
      pid: null,
      rpc: `http://127.0.0.1:${rpcPort}`,
      rpcPort,
      dataDir,
      config: join(dataDir, "config.json"),
      peerId,
      p2p: `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${peerId}`,
      publicKey: keys.publicKey,
    });
  }

  const genesis = createGenesis({
    chainId,
    genesisTimeMs: Date.now(),
    accounts: [{ address: addressFromPublicKey(faucet.publicKey), balance: DEVNET_FAUCET_BALANCE }],
    validators: entries.map((e) => ({
      publicKey: e.publicKey,
      stake: DEVNET_VALIDATOR_STAKE,
      name: e.name,
      peerId: e.peerId,
      multiaddrs: [e.p2p.replace(/\/p2p\/.*$/, "")],
    })),
  });
  const genesisFile = join(dir, "genesis.json");
  writeFileSync(genesisFile, `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`);

  for (const entry of entries) {
    const config = {
      dataDir: entry.dataDir,
      genesisFile,
      validator: true,
      validatorKeyFile: join(entry.dataDir, "validator.key.json"),
      passphraseFile: join(entry.dataDir, "passphrase"),
      listen: [entry.p2p.replace(/\/p2p\/.*$/, "")],
      bootstrap: entries.filter((other) => other !== entry).map((other) => other.p2p),
      rpcHost: "127.0.0.1",
      rpcPort: entry.rpcPort,
      // A devnet is driven by local load tests: allow them well past the public default.
      rpcRatePerSecond: 100_000,
      ...(options.leaderTimeoutMs !== undefined ? { leaderTimeoutMs: options.leaderTimeoutMs } : {}),
      ...options.extraConfig,
    };
    writeFileSync(entry.config, `${JSON.stringify(config, null, 2)}\n`);
  }

  const manifest: DevnetManifest = {
    chainId,
    genesisFile,
    faucetKeyFile,
    faucetAddress: formatAddress(addressFromPublicKey(faucet.publicKey)),
    validators: entries.map(({ name, pid, rpc, dataDir, config, peerId, p2p }) => ({
      name,
      pid,
      rpc,
      dataDir,
      config,
      peerId,
      p2p,
    })),
  };
  writeManifest(dir, manifest);
  return manifest;
}

const BIN = join(import.meta.dirname, "..", "bin", "hyperspace.js");

/**
 * V8's young generation for a validator: a node allocates short-lived
 * objects for every transaction it admits, relays and executes. Twice the
 * default semi-space (16 MB) gave 1-2% less CPU per transaction under load
 * in paired devnet runs; 64 MB gave 3% more in one.
 */
const VALIDATOR_NODE_FLAGS = ["--max-semi-space-size=32"];

/** Starts one validator process (`hyperspace node start --config …`), logging to <dataDir>/node.log. */
export function launchValidator(validator: DevnetValidator, extraArgs: readonly string[] = []): ChildProcess {
  const log = openSync(join(validator.dataDir, "node.log"), "a");
  const args = [...VALIDATOR_NODE_FLAGS, BIN, "node", "start", "--config", validator.config, ...extraArgs];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", log, log],
    env: { ...process.env },
  });
  validator.pid = child.pid ?? null;
  return child;
}
