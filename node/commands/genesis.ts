import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, extname } from "node:path";
import type { Command } from "commander";
import {
  createGenesis,
  formatGenesis,
  type GenesisAccount,
  genesisDigest,
  genesisStateRoot,
  genesisSupply,
  MIN_FEE_DEFAULT,
  MIN_VALIDATOR_STAKE_DEFAULT,
} from "../../ledger/index.ts";
import { addressFromPublicKey, formatAddress, fromHex, parseAddress, toHex } from "../../spec/index.ts";
import { resolveConfig } from "../config.ts";
import { readPublicKeyFile } from "../keyfile.ts";
import { printJson, UsageError } from "../output.ts";

/** Default chain id of a genesis made by the CLI. */
const CHAIN_ID_DEFAULT = "hyperspace-devnet";

/** Parses a decimal u64 amount from the command line. */
export function parseAmount(text: string, what: string): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || BigInt(text) > (1n << 64n) - 1n) {
    throw new UsageError(`${what}: "${text}" is not a whole amount in [0, 2^64)`);
  }
  return BigInt(text);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** An --account value: ADDR=AMOUNT, where ADDR is an "hs1..." address or a key file. */
function parseAccountFlag(text: string): GenesisAccount {
  const at = text.lastIndexOf("=");
  if (at <= 0) throw new UsageError(`--account ${text}: expected ADDRESS=AMOUNT`);
  const who = text.slice(0, at);
  const balance = parseAmount(text.slice(at + 1), `--account ${who}`);
  const address =
    who.startsWith("hs1") || !existsSync(who) ? parseAddress(who) : readPublicKeyFile(who).address;
  return { address, balance };
}

interface GenesisOptions {
  out?: string;
  dataDir?: string;
  chainId: string;
  genesisTimeMs?: string;
  account: string[];
  validatorKey: string[];
  validatorInfo: string[];
  validatorStake?: string;
  validatorBalance: string;
  minValidatorStake: string;
  minFee: string;
  force?: boolean;
  json?: boolean;
}

/**
 * `hyperspace genesis`: writes a genesis file from flags. Validators come
 * from key files (plain or encrypted; only the public key is read) and are
 * named after the file; each gets --validator-stake locked and
 * --validator-balance spendable. --account adds (or raises) balances.
 */
export function register(program: Command): void {
  program
    .command("genesis")
    .description("write a genesis file (chain id, genesis time, balances, validator set)")
    .option("--out <file>", "genesis file to write (default <data-dir>/genesis.json)")
    .option("--data-dir <dir>", "data directory (default $HYPERSPACE_HOME or ~/.hyperspace)")
    .option("--chain-id <id>", "chain id", CHAIN_ID_DEFAULT)
    .option("--genesis-time-ms <ms>", "genesis time in Unix milliseconds (default now)")
    .option(
      "--account <addr=amount>",
      "initial balance; ADDR is hs1... or a key file (repeatable)",
      collect,
      [],
    )
    .option("--validator-key <file>", "key file of a genesis validator (repeatable)", collect, [])
    .option(
      "--validator-info <file>",
      "validator.json written by `hyperspace node init` (public key, peer id, addresses; repeatable)",
      collect,
      [],
    )
    .option("--validator-stake <amount>", "stake of each validator (default the minimum validator stake)")
    .option("--validator-balance <amount>", "spendable balance of each validator", "0")
    .option(
      "--min-validator-stake <amount>",
      "minimum validator stake",
      MIN_VALIDATOR_STAKE_DEFAULT.toString(),
    )
    .option("--min-fee <amount>", "minimum transaction fee", MIN_FEE_DEFAULT.toString())
    .option("--force", "replace an existing genesis file")
    .option("--json", "print one JSON object: file, chainId, digest, stateRoot, supply")
    .action((options: GenesisOptions) => {
      const config = resolveConfig({ flags: { dataDir: options.dataDir } });
      const out = options.out ?? config.genesisFile;
      if (existsSync(out) && !options.force)
        throw new UsageError(`${out} exists; pass --force to replace it`);
      const minValidatorStake = parseAmount(options.minValidatorStake, "--min-validator-stake");
      const stake =
        options.validatorStake === undefined
          ? minValidatorStake
          : parseAmount(options.validatorStake, "--validator-stake");
      const validatorBalance = parseAmount(options.validatorBalance, "--validator-balance");
      let genesisTimeMs = Date.now();
      if (options.genesisTimeMs !== undefined) {
        genesisTimeMs = Number(options.genesisTimeMs);
        if (!Number.isSafeInteger(genesisTimeMs) || genesisTimeMs < 0)
          throw new UsageError("--genesis-time-ms must be a non-negative integer");
      }

      const balances = new Map<string, GenesisAccount>();
      const addBalance = (account: GenesisAccount) => {
        const key = toHex(account.address);
        const balance = (balances.get(key)?.balance ?? 0n) + account.balance;
        balances.set(key, { address: account.address, balance });
      };
      const validators: {
        publicKey: Uint8Array;
        stake: bigint;
        name: string;
        peerId?: string;
        multiaddrs?: string[];
      }[] = options.validatorKey.map((file) => {
        const info = readPublicKeyFile(file);
        if (validatorBalance > 0n) addBalance({ address: info.address, balance: validatorBalance });
        return { publicKey: info.publicKey, stake, name: basename(file, extname(file)) };
      });
      for (const file of options.validatorInfo) {
        const info = readValidatorInfo(file);
        if (validatorBalance > 0n)
          addBalance({ address: addressFromPublicKey(info.publicKey), balance: validatorBalance });
        validators.push({ ...info, stake });
      }
      for (const flag of options.account) addBalance(parseAccountFlag(flag));

      const genesis = createGenesis({
        chainId: options.chainId,
        genesisTimeMs,
        minValidatorStake,
        minFee: parseAmount(options.minFee, "--min-fee"),
        accounts: [...balances.values()],
        validators,
      });
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, formatGenesis(genesis));
      const summary = {
        file: out,
        chainId: genesis.chainId,
        genesisTimeMs: genesis.genesisTimeMs,
        digest: toHex(genesisDigest(genesis)),
        stateRoot: toHex(genesisStateRoot(genesis)),
        supply: genesisSupply(genesis),
        accounts: genesis.accounts.length,
        validators: genesis.validators.map((v) => ({
          name: v.name,
          address: formatAddress(addressFromPublicKey(v.publicKey)),
          stake: v.stake,
        })),
      };
      if (options.json) {
        printJson(summary);
        return;
      }
      process.stdout.write(
        `wrote ${out}\nchain id   ${genesis.chainId}\naccounts   ${genesis.accounts.length}\n` +
          `validators ${genesis.validators.map((v) => v.name || "?").join(", ") || "(none)"}\n` +
          `supply     ${summary.supply}\nstate root ${summary.stateRoot}\n`,
      );
    });
}

/** The public half of `hyperspace node init`: what genesis needs to know about a validator. */
function readValidatorInfo(file: string): {
  publicKey: Uint8Array;
  name: string;
  peerId: string;
  multiaddrs: string[];
} {
  let json: { publicKey?: unknown; name?: unknown; peerId?: unknown; multiaddrs?: unknown };
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const publicKey = typeof json.publicKey === "string" ? fromHex(json.publicKey) : null;
  if (publicKey === null || publicKey.byteLength !== 32)
    throw new UsageError(`${file}: publicKey must be 32 bytes of hex`);
  if (typeof json.peerId !== "string") throw new UsageError(`${file}: peerId missing`);
  const multiaddrs = Array.isArray(json.multiaddrs)
    ? json.multiaddrs.filter((m): m is string => typeof m === "string")
    : [];
  return {
    publicKey,
    name: typeof json.name === "string" ? json.name : basename(file, extname(file)),
    peerId: json.peerId,
    multiaddrs,
  };
}
