/**
 * A devnet driven by tests: real validator processes on loopback, each with
 * its own RocksDB, started, killed and restarted by the test. Used by the
 * multi-process tests in node/*.test.ts; not part of the node itself.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTransfer } from "../ledger/index.ts";
import {
  addressFromPublicKey,
  encodeTransaction,
  formatAddress,
  generateKeyPair,
  type KeyPair,
  toHex,
  transactionDigest,
} from "../spec/index.ts";
import { RpcClient } from "./client.ts";
import {
  type DevnetManifest,
  type DevnetValidator,
  freePort,
  initDevnet,
  launchValidator,
} from "./devnet.ts";
import { readKeyFile } from "./keyfile.ts";

export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class TestDevnet {
  readonly children = new Map<string, ChildProcess>();
  private faucetNonce = 0;

  private constructor(
    readonly dir: string,
    readonly manifest: DevnetManifest,
    readonly faucet: KeyPair,
  ) {}

  /** Creates a devnet (keys, genesis, configs) in a temporary directory; starts nothing. */
  static async create(
    validators: number,
    options: { leaderTimeoutMs?: number; extraConfig?: Record<string, unknown> } = {},
  ): Promise<TestDevnet> {
    const dir = mkdtempSync(join(tmpdir(), "hs-devnet-"));
    // A low scrypt cost keeps start-up fast; the keystore format is the same.
    const manifest = await initDevnet(dir, { validators, scryptN: 2 ** 10, ...options });
    return new TestDevnet(dir, manifest, readKeyFile(manifest.faucetKeyFile));
  }

  get validators(): readonly DevnetValidator[] {
    return this.manifest.validators;
  }

  client(name: string): RpcClient {
    const v = this.validator(name);
    return new RpcClient(v.rpc, readFileSync(join(v.dataDir, "rpc.token"), "utf8").trim());
  }

  validator(name: string): DevnetValidator {
    const v = this.manifest.validators.find((x) => x.name === name);
    if (v === undefined) throw new Error(`no validator ${name}`);
    return v;
  }

  start(name: string): void {
    this.children.set(name, launchValidator(this.validator(name)));
  }

  async startAll(names = this.manifest.validators.map((v) => v.name)): Promise<void> {
    for (const name of names) this.start(name);
    await Promise.all(
      names.map((name) =>
        until(`${name} to serve RPC`, () => this.client(name).status(), 60_000).catch((error) => {
          throw new Error(`${(error as Error).message}\n${this.diagnosis(name)}`);
        }),
      ),
    );
  }

  /** A validator's process state and the end of its log, for a test that failed waiting on it. */
  diagnosis(name: string): string {
    const child = this.children.get(name);
    const state =
      child === undefined ? "not started" : `exit code ${child.exitCode}, signal ${child.signalCode}`;
    let log = "";
    try {
      log = readFileSync(join(this.validator(name).dataDir, "node.log"), "utf8");
    } catch {
      log = "(no log)";
    }
    return `${name}: ${state}; last log lines:\n${log.trimEnd().split("\n").slice(-15).join("\n")}`;
  }

  /** SIGKILL: no chance to flush or close anything. */
  kill(name: string): void {
    this.children.get(name)?.kill("SIGKILL");
    this.children.delete(name);
  }

  async stop(name: string): Promise<void> {
    const child = this.children.get(name);
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
    this.children.delete(name);
  }

  async commitIndex(name: string): Promise<number> {
    return (await this.client(name).status()).commitIndex;
  }

  /** Waits until every named node has executed at least `index`. */
  async waitForIndex(names: readonly string[], index: number, timeoutMs = 60_000): Promise<void> {
    await Promise.all(
      names.map((name) =>
        until(
          `${name} to reach commit ${index}`,
          async () => (await this.commitIndex(name)) >= index,
          timeoutMs,
        ),
      ),
    );
  }

  /** Signs a transfer from the faucet (next nonce) and submits it through `via`; returns its hash. */
  async transferFromFaucet(via: string, to: Uint8Array, amount: bigint): Promise<string> {
    const tx = buildTransfer({
      chainId: this.manifest.chainId,
      keys: this.faucet,
      nonce: this.faucetNonce++,
      fee: 10n,
      to,
      amount,
    });
    const hash = await this.client(via).submitTransaction(encodeTransaction(tx));
    if (hash !== toHex(transactionDigest(tx))) throw new Error("node returned another hash");
    return hash;
  }

  faucetAddress(): string {
    return formatAddress(addressFromPublicKey(this.faucet.publicKey));
  }

  /** Writes a config for an extra full node (not in the committee) and returns its name and RPC URL. */
  async addFullNode(name: string, extraConfig: Record<string, unknown> = {}): Promise<DevnetValidator> {
    const dataDir = join(this.dir, name);
    mkdirSync(dataDir, { recursive: true });
    const rpcPort = await freePort();
    const p2pPort = await freePort();
    const config = join(this.dir, `${name}.config.json`);
    writeFileSync(
      config,
      JSON.stringify({
        dataDir,
        genesisFile: this.manifest.genesisFile,
        validator: false,
        listen: [`/ip4/127.0.0.1/tcp/${p2pPort}`],
        bootstrap: this.manifest.validators.map((v) => v.p2p),
        rpcHost: "127.0.0.1",
        rpcPort,
        ...extraConfig,
      }),
    );
    const entry: DevnetValidator = {
      name,
      pid: null,
      rpc: `http://127.0.0.1:${rpcPort}`,
      dataDir,
      config,
      peerId: "",
      p2p: "",
    };
    this.manifest.validators.push(entry);
    return entry;
  }

  async close(): Promise<void> {
    for (const child of this.children.values()) child.kill("SIGKILL");
    await sleep(200);
    if (process.env.HYPERSPACE_KEEP_DEVNET === undefined) rmSync(this.dir, { recursive: true, force: true });
    else process.stderr.write(`devnet kept in ${this.dir}\n`);
  }
}

export function randomAddress(): Uint8Array {
  return addressFromPublicKey(generateKeyPair().publicKey);
}
