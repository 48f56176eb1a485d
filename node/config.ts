import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { HyperspaceError } from "../spec/index.ts";
import type { LogLevel } from "./logger.ts";

/**
 * Node configuration. Sources, lowest precedence first: the defaults below,
 * a JSON config file (`--config FILE`), environment variables
 * (HYPERSPACE_*), then command-line flags. Relative paths in a config file
 * are relative to the file's directory.
 */
export interface NodeConfig {
  /** Where the node keeps its RocksDB, keys and token. Default: $HYPERSPACE_HOME or ~/.hyperspace. */
  dataDir: string;
  /** The genesis file. Default: <dataDir>/genesis.json. */
  genesisFile: string;
  /** Vote and propose (needs validatorKeyFile), or follow commits as a full node. Default: false. */
  validator: boolean;
  /**
   * A full node with an empty data dir starts from the newest certified
   * checkpoint its peers serve (state downloaded and checked against the
   * certified root) instead of replaying from genesis; it then follows
   * commits as usual, and has no commits or receipts from before the
   * checkpoint. If no peer offers a certified checkpoint within 60 s (a
   * chain younger than its first checkpoint), it follows from genesis.
   * Ignored for validators and for a data dir that has state already.
   * Default: false.
   */
  stateSync: boolean;
  /** The validator's keystore. Default: <dataDir>/validator.key.json. */
  validatorKeyFile: string;
  /** File holding the keystore passphrase (HYPERSPACE_PASSPHRASE overrides). Default: none. */
  passphraseFile: string | null;
  /** libp2p listen addresses. Default: /ip4/0.0.0.0/tcp/7000. */
  listen: string[];
  /** Addresses announced to peers instead of the listen addresses. Default: none. */
  announce: string[];
  /** Bootstrap peers, /ip4/…/tcp/…/p2p/<peer id>. Default: none. */
  bootstrap: string[];
  /** JSON-RPC bind address. Default: 127.0.0.1, so only local clients reach it. */
  rpcHost: string;
  /** JSON-RPC port (also serves /metrics). Default: 8545. */
  rpcPort: number;
  /** Per-client RPC budget, requests per second. Default: 1000. */
  rpcRatePerSecond: number;
  /** Consensus leader timeout. Default: 200 ms. */
  leaderTimeoutMs: number;
  /** Minimum delay between our proposals. Default: 50 ms. */
  minRoundDelayMs: number;
  /** The shortest challenge period, in commits, this node accepts channels with as payee. Default: 600. */
  channelChallengePeriodMin: number;
  /** The most this node locks in payment-channel deposits to buy inference, in base units. Default: 1,000,000. */
  inferenceBudget: bigint;
  logLevel: LogLevel;
}

/** The node's RocksDB (ledger and consensus) lives in <dataDir>/db; the ledger CLI reads the same place. */
export function databaseDir(dataDir: string): string {
  return join(dataDir, "db");
}

export type ConfigErrorCode = "BAD_FILE" | "BAD_VALUE";

export class ConfigError extends HyperspaceError<ConfigErrorCode, { key?: string; source?: string }> {}

type Partial = { -readonly [K in keyof NodeConfig]?: NodeConfig[K] };

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function int(key: string, value: unknown, source: string): number {
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new ConfigError("BAD_VALUE", `${key} must be a non-negative integer (from ${source})`, {
      key,
      source,
    });
  }
  return n;
}

function bool(key: string, value: unknown, source: string): boolean {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new ConfigError("BAD_VALUE", `${key} must be true or false (from ${source})`, { key, source });
}

function strings(key: string, value: unknown, source: string): string[] {
  if (typeof value === "string") return list(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  throw new ConfigError("BAD_VALUE", `${key} must be a list of strings (from ${source})`, { key, source });
}

/** Parses one source's raw values (file JSON, env or flags) into typed settings. */
function parse(raw: Record<string, unknown>, source: string, baseDir: string): Partial {
  const out: Partial = {};
  const path = (v: unknown) => {
    if (typeof v !== "string" || v.length === 0)
      throw new ConfigError("BAD_VALUE", `path expected (from ${source})`, { source });
    return isAbsolute(v) ? v : resolve(baseDir, v);
  };
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    switch (key) {
      case "dataDir":
      case "genesisFile":
      case "validatorKeyFile":
        out[key] = path(value);
        break;
      case "passphraseFile":
        out.passphraseFile = value === null ? null : path(value);
        break;
      case "validator":
      case "stateSync":
        out[key] = bool(key, value, source);
        break;
      case "listen":
      case "announce":
      case "bootstrap":
        out[key] = strings(key, value, source);
        break;
      case "rpcHost":
        if (typeof value !== "string")
          throw new ConfigError("BAD_VALUE", `rpcHost must be a string (from ${source})`, { key, source });
        out.rpcHost = value;
        break;
      case "rpcPort":
      case "rpcRatePerSecond":
      case "leaderTimeoutMs":
      case "minRoundDelayMs":
      case "channelChallengePeriodMin":
        out[key] = int(key, value, source);
        break;
      case "inferenceBudget":
        if (!(typeof value === "string" || typeof value === "number") || !/^[0-9]+$/.test(String(value))) {
          throw new ConfigError("BAD_VALUE", `inferenceBudget must be a whole amount (from ${source})`, {
            key,
            source,
          });
        }
        out.inferenceBudget = BigInt(value);
        break;
      case "logLevel":
        if (!LOG_LEVELS.includes(value as LogLevel)) {
          throw new ConfigError("BAD_VALUE", `logLevel must be one of ${LOG_LEVELS.join(", ")}`, {
            key,
            source,
          });
        }
        out.logLevel = value as LogLevel;
        break;
      default:
        throw new ConfigError("BAD_VALUE", `unknown setting "${key}" (from ${source})`, { key, source });
    }
  }
  return out;
}

const ENV: Record<string, keyof NodeConfig> = {
  HYPERSPACE_HOME: "dataDir",
  HYPERSPACE_GENESIS: "genesisFile",
  HYPERSPACE_VALIDATOR: "validator",
  HYPERSPACE_STATE_SYNC: "stateSync",
  HYPERSPACE_VALIDATOR_KEY: "validatorKeyFile",
  HYPERSPACE_PASSPHRASE_FILE: "passphraseFile",
  HYPERSPACE_LISTEN: "listen",
  HYPERSPACE_ANNOUNCE: "announce",
  HYPERSPACE_BOOTSTRAP: "bootstrap",
  HYPERSPACE_RPC_HOST: "rpcHost",
  HYPERSPACE_RPC_PORT: "rpcPort",
  HYPERSPACE_LOG_LEVEL: "logLevel",
  HYPERSPACE_LEADER_TIMEOUT_MS: "leaderTimeoutMs",
  HYPERSPACE_MIN_ROUND_DELAY_MS: "minRoundDelayMs",
};

export function readConfigFile(path: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not a JSON object");
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError("BAD_FILE", `cannot read config ${path}: ${(error as Error).message}`, {
      source: path,
    });
  }
}

export function resolveConfig(sources: {
  file?: string | null;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, unknown>;
}): NodeConfig {
  const env = sources.env ?? process.env;
  const fromFile = sources.file
    ? parse(readConfigFile(sources.file), sources.file, dirname(resolve(sources.file)))
    : {};
  const envRaw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) if (env[name] !== undefined) envRaw[key] = env[name];
  const fromEnv = parse(envRaw, "environment", process.cwd());
  const fromFlags = parse(sources.flags ?? {}, "flags", process.cwd());
  const merged = { ...fromFile, ...fromEnv, ...fromFlags };
  const dataDir = merged.dataDir ?? join(homedir(), ".hyperspace");
  return {
    dataDir,
    genesisFile: merged.genesisFile ?? join(dataDir, "genesis.json"),
    validator: merged.validator ?? false,
    stateSync: merged.stateSync ?? false,
    validatorKeyFile: merged.validatorKeyFile ?? join(dataDir, "validator.key.json"),
    passphraseFile: merged.passphraseFile ?? null,
    listen: merged.listen ?? ["/ip4/0.0.0.0/tcp/7000"],
    announce: merged.announce ?? [],
    bootstrap: merged.bootstrap ?? [],
    rpcHost: merged.rpcHost ?? "127.0.0.1",
    rpcPort: merged.rpcPort ?? 8545,
    rpcRatePerSecond: merged.rpcRatePerSecond ?? 1_000,
    leaderTimeoutMs: merged.leaderTimeoutMs ?? 200,
    minRoundDelayMs: merged.minRoundDelayMs ?? 50,
    channelChallengePeriodMin: merged.channelChallengePeriodMin ?? 600,
    inferenceBudget: merged.inferenceBudget ?? 1_000_000n,
    logLevel: merged.logLevel ?? "info",
  };
}
