import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import {
  buildTransfer,
  COMMIT_TRANSACTIONS_MAX,
  decodeStateProof,
  encodeStateProof,
  type Genesis,
  Ledger,
  openRocksStore,
  parseGenesis,
  parseTxHash,
  type Receipt,
  TX_FEE_DEFAULT,
  verifyProof,
} from "../../ledger/index.ts";
import {
  addressFromPublicKey,
  decodeAccount,
  encodeTransaction,
  formatAddress,
  fromHex,
  parseAddress,
  toHex,
  transactionDigest,
} from "../../spec/index.ts";
import { databaseDir, resolveConfig } from "../config.ts";
import { readKeyFile } from "../keyfile.ts";
import { printJson, UsageError } from "../output.ts";
import { parseAmount } from "./genesis.ts";

/**
 * `hyperspace ledger ...`: drive a ledger data dir directly, for demos and
 * tests (a running node holds the store's lock; stop it first).
 *
 * Transaction files: one hex-encoded signed transaction per line; blank
 * lines and lines starting with "#" are ignored. `make-transfers` writes one.
 */

interface DataOptions {
  dataDir?: string;
  genesis?: string;
}

interface Paths {
  dataDir: string;
  genesisFile: string;
  ledgerDir: string;
}

export function resolvePaths(options: DataOptions): Paths {
  const config = resolveConfig({ flags: { dataDir: options.dataDir, genesisFile: options.genesis } });
  return {
    dataDir: config.dataDir,
    genesisFile: config.genesisFile,
    ledgerDir: databaseDir(config.dataDir),
  };
}

export function readGenesisFile(path: string): Genesis {
  if (!existsSync(path))
    throw new UsageError(`no genesis file at ${path} (write one with "hyperspace genesis")`);
  return parseGenesis(readFileSync(path, "utf8"));
}

/** Opens the ledger of a data dir (creating it from genesis on first use), runs `use`, and closes it. */
export async function withLedger<T>(
  options: DataOptions,
  use: (ledger: Ledger) => Promise<T> | T,
): Promise<T> {
  const paths = resolvePaths(options);
  const genesis = readGenesisFile(paths.genesisFile);
  const store = await openRocksStore(paths.ledgerDir);
  try {
    const ledger = await Ledger.open({ store, genesis });
    try {
      return await use(ledger);
    } finally {
      await ledger.close();
    }
  } finally {
    await store.close();
  }
}

/** Reads a transaction file: hex per line; returns each transaction's bytes and line number. */
export function readTransactionFile(path: string): { line: number; bytes: Uint8Array }[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const out: { line: number; bytes: Uint8Array }[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const bytes = fromHex(line);
    if (bytes === null) throw new UsageError(`${path}:${i + 1}: not hex`);
    out.push({ line: i + 1, bytes });
  });
  return out;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function integerFlag(text: string, flag: string, min = 0): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}`);
  return n;
}

function receiptJson(r: Receipt) {
  return {
    txHash: toHex(r.txHash),
    commitIndex: r.commitIndex,
    position: r.position,
    sender: formatAddress(r.sender),
    nonce: r.nonce,
    kind: r.kind,
    success: r.success,
    errorCode: r.errorCode,
    errorMessage: r.errorMessage,
    feePaid: r.feePaid,
    feeBurned: r.feeBurned,
    events: r.events.map((e) => ({ name: e.name, data: toHex(e.data) })),
  };
}

const dataOptions = (command: Command): Command =>
  command
    .option(
      "--data-dir <dir>",
      "data directory; the ledger lives in <dir>/ledger (default $HYPERSPACE_HOME or ~/.hyperspace)",
    )
    .option("--genesis <file>", "genesis file (default <data-dir>/genesis.json)");

export function register(program: Command): void {
  const ledger = program
    .command("ledger")
    .description("apply transactions to a ledger data dir and inspect its state");

  dataOptions(
    ledger
      .command("make-transfers")
      .description("write a file of signed transfers (one hex transaction per line) from one key")
      .requiredOption("--key <file>", "sender key file")
      .requiredOption(
        "--to <address>",
        "recipient hs1... address (repeatable: transfers cycle through them)",
        collect,
        [],
      )
      .option("--count <n>", "number of transfers", "1")
      .option("--amount <amount>", "amount of each transfer", "1")
      .option("--fee <amount>", "fee of each transfer", TX_FEE_DEFAULT.toString())
      .option("--nonce <n>", "first nonce (default: the sender's nonce in the data dir's ledger, or 0)")
      .option("--chain-id <id>", "chain id (default: the genesis file's)")
      .option("--out <file>", "file to write (default stdout)")
      .option(
        "--json",
        "print one JSON object: file, count, firstNonce, txHashes (and transactions without --out)",
      ),
  ).action(
    async (
      options: DataOptions & {
        key: string;
        to: string[];
        count: string;
        amount: string;
        fee: string;
        nonce?: string;
        chainId?: string;
        out?: string;
        json?: boolean;
      },
    ) => {
      const keys = readKeyFile(options.key);
      if (options.to.length === 0) throw new UsageError("give at least one --to address");
      const recipients = options.to.map((to) => parseAddress(to));
      const count = integerFlag(options.count, "--count", 1);
      const amount = parseAmount(options.amount, "--amount");
      const fee = parseAmount(options.fee, "--fee");
      const paths = resolvePaths(options);
      const chainId = options.chainId ?? readGenesisFile(paths.genesisFile).chainId;
      let nonce = 0;
      if (options.nonce !== undefined) nonce = integerFlag(options.nonce, "--nonce");
      else if (existsSync(paths.ledgerDir) && existsSync(paths.genesisFile)) {
        nonce = await withLedger(options, (l) => l.getAccount(addressFromPublicKey(keys.publicKey)).nonce);
      }
      const transactions = Array.from({ length: count }, (_, i) =>
        buildTransfer({
          chainId,
          keys,
          nonce: nonce + i,
          fee,
          to: recipients[i % recipients.length]!,
          amount,
        }),
      );
      const lines = transactions.map((tx) => toHex(encodeTransaction(tx)));
      if (options.out !== undefined) writeFileSync(options.out, `${lines.join("\n")}\n`);
      const txHashes = transactions.map((tx) => toHex(transactionDigest(tx)));
      if (options.json) {
        printJson({
          file: options.out ?? null,
          count,
          firstNonce: nonce,
          txHashes,
          ...(options.out === undefined ? { transactions: lines } : {}),
        });
      } else if (options.out === undefined) {
        process.stdout.write(`${lines.join("\n")}\n`);
      } else {
        process.stdout.write(
          `wrote ${count} transfers (nonces ${nonce}..${nonce + count - 1}) to ${options.out}\n`,
        );
      }
    },
  );

  dataOptions(
    ledger
      .command("apply")
      .description("apply a file of signed transactions as the next commit(s) of the data dir's ledger")
      .argument("<file>", "transaction file: one hex transaction per line")
      .option("--per-commit <n>", "transactions per commit (default: all in one commit)")
      .option(
        "--fee-recipient <address>",
        "address credited with the unburned share of fees (default: none, all burned)",
      )
      .option("--timestamp-ms <ms>", "commit timestamp (default now)")
      .option("--json", "print one JSON object with every commit's root, receipts and rejections"),
  ).action(
    async (
      file: string,
      options: DataOptions & {
        perCommit?: string;
        feeRecipient?: string;
        timestampMs?: string;
        json?: boolean;
      },
    ) => {
      const entries = readTransactionFile(file);
      const perCommit =
        options.perCommit === undefined
          ? Math.max(1, entries.length)
          : integerFlag(options.perCommit, "--per-commit", 1);
      if (perCommit > COMMIT_TRANSACTIONS_MAX)
        throw new UsageError(`--per-commit above ${COMMIT_TRANSACTIONS_MAX}`);
      const feeRecipient = options.feeRecipient === undefined ? null : parseAddress(options.feeRecipient);
      const timestampMs =
        options.timestampMs === undefined ? Date.now() : integerFlag(options.timestampMs, "--timestamp-ms");
      const commits = await withLedger(options, async (l) => {
        const out = [];
        for (let start = 0; start === 0 || start < entries.length; start += perCommit) {
          const chunk = entries.slice(start, start + perCommit);
          const result = await l.applyCommit({
            index: l.lastAppliedIndex + 1,
            timestampMs,
            feeRecipient,
            transactions: chunk.map((e) => e.bytes),
          });
          out.push({
            index: result.index,
            stateRoot: toHex(result.stateRoot),
            executed: result.receipts.length,
            failed: result.receipts.filter((r) => !r.success).length,
            receipts: result.receipts.map((r) => ({ ...receiptJson(r), line: chunk[r.position]!.line })),
            rejected: result.rejected.map((r) => ({
              line: chunk[r.position]!.line,
              reason: r.reason,
              txHash: r.txHash === null ? null : toHex(r.txHash),
            })),
          });
          if (entries.length === 0) break;
        }
        return out;
      });
      if (options.json) {
        printJson({ commits });
        return;
      }
      for (const c of commits) {
        process.stdout.write(
          `commit ${c.index}: ${c.executed} executed (${c.failed} failed), ${c.rejected.length} rejected, root ${c.stateRoot}\n`,
        );
        for (const r of c.receipts.filter((x) => !x.success))
          process.stdout.write(`  line ${r.line}: failed ${r.errorCode} (${r.errorMessage})\n`);
        for (const r of c.rejected) process.stdout.write(`  line ${r.line}: rejected ${r.reason}\n`);
      }
    },
  );

  dataOptions(
    ledger
      .command("show")
      .description("print an account (balance, nonce, stake) and its validator entry")
      .argument("<address>", "hs1... address")
      .option("--json", "print one JSON object"),
  ).action(async (text: string, options: DataOptions & { json?: boolean }) => {
    const address = parseAddress(text);
    const shown = await withLedger(options, (l) => {
      const validator = l.getValidator(address);
      return {
        address: formatAddress(address),
        account: l.getAccount(address),
        validator:
          validator === null
            ? null
            : { ...validator, publicKey: toHex(validator.publicKey), multiaddrs: [...validator.multiaddrs] },
        lastAppliedIndex: l.lastAppliedIndex,
        stateRoot: toHex(l.stateRoot),
      };
    });
    if (options.json) {
      printJson(shown);
      return;
    }
    const a = shown.account;
    process.stdout.write(
      `address    ${shown.address}\nbalance    ${a.balance}\nnonce      ${a.nonce}\nstake      ${a.stake}\n` +
        (shown.validator === null
          ? ""
          : `validator  ${shown.validator.name || "(unnamed)"} ${shown.validator.peerId}\n`) +
        `commit     ${shown.lastAppliedIndex}\nstate root ${shown.stateRoot}\n`,
    );
  });

  dataOptions(
    ledger
      .command("prove")
      .description("print a Merkle proof of an account (or of its absence) under the current state root")
      .argument("<address>", "hs1... address")
      .option("--json", "print one JSON object: stateRoot, proof (hex), account, verified"),
  ).action(async (text: string, options: DataOptions & { json?: boolean }) => {
    const address = parseAddress(text);
    const out = await withLedger(options, (l) => {
      const proof = l.prove(address);
      return {
        address: formatAddress(address),
        lastAppliedIndex: l.lastAppliedIndex,
        stateRoot: toHex(l.stateRoot),
        account: proof.value === null ? null : decodeAccount(proof.value),
        siblings: proof.siblings.length,
        proof: toHex(encodeStateProof(proof)),
        verified: verifyProof(l.stateRoot, proof),
      };
    });
    if (options.json) {
      printJson(out);
      return;
    }
    process.stdout.write(
      `state root ${out.stateRoot} (commit ${out.lastAppliedIndex})\n` +
        `${out.account === null ? "absent" : `account    balance ${out.account.balance}, nonce ${out.account.nonce}, stake ${out.account.stake}`}\n` +
        `proof      ${out.proof}\nverified   ${out.verified}\n`,
    );
  });

  ledger
    .command("verify-proof")
    .description(
      "check a proof printed by `ledger prove` against a state root; exits 1 if it does not verify",
    )
    .requiredOption("--root <hex>", "state root")
    .requiredOption("--proof <hex>", "encoded proof")
    .option("--json", "print one JSON object")
    .action((options: { root: string; proof: string; json?: boolean }) => {
      const root = fromHex(options.root);
      const bytes = fromHex(options.proof);
      if (root === null || root.byteLength !== 32) throw new UsageError("--root must be 32 bytes of hex");
      if (bytes === null) throw new UsageError("--proof must be hex");
      const proof = decodeStateProof(bytes);
      const verified = verifyProof(root, proof);
      const out = {
        verified,
        key: toHex(proof.key),
        present: proof.value !== null,
        value: proof.value === null ? null : toHex(proof.value),
      };
      if (options.json) printJson(out);
      else
        process.stdout.write(
          `${verified ? "valid" : "INVALID"} proof of ${out.present ? "inclusion" : "absence"}\n`,
        );
      if (!verified) process.exitCode = 1;
    });

  dataOptions(
    ledger
      .command("receipt")
      .description("print the receipt of a transaction by hash")
      .argument("<tx-hash>", "transaction hash (hex)")
      .option("--json", "print one JSON object (null when there is no receipt)"),
  ).action(async (text: string, options: DataOptions & { json?: boolean }) => {
    const txHash = parseTxHash(text);
    if (txHash === null) throw new UsageError("transaction hash must be 32 bytes of hex");
    const receipt = await withLedger(options, (l) => l.getReceipt(txHash));
    const out = receipt === null ? null : receiptJson(receipt);
    if (options.json) printJson(out);
    else if (out === null) process.stdout.write("no receipt\n");
    else
      process.stdout.write(
        `commit ${out.commitIndex} position ${out.position}: ${out.kind} ${out.success ? "ok" : `failed ${out.errorCode}`}, fee ${out.feePaid}\n`,
      );
    if (out === null) process.exitCode = 1;
  });

  dataOptions(
    ledger
      .command("info")
      .description("print the last applied commit, state root, value totals and validator set")
      .option("--json", "print one JSON object"),
  ).action(async (options: DataOptions & { json?: boolean }) => {
    const out = await withLedger(options, (l) => ({
      chainId: l.chainId,
      lastAppliedIndex: l.lastAppliedIndex,
      stateRoot: toHex(l.stateRoot),
      totals: l.totals(),
      validators: l.getValidators().map((v) => ({
        address: formatAddress(addressFromPublicKey(v.publicKey)),
        name: v.name,
        stake: v.stake,
      })),
    }));
    if (options.json) {
      printJson(out);
      return;
    }
    process.stdout.write(
      `chain id   ${out.chainId}\ncommit     ${out.lastAppliedIndex}\nstate root ${out.stateRoot}\n` +
        `supply     ${out.totals.supply} (burned ${out.totals.burned})\n` +
        out.validators.map((v) => `validator  ${v.address} ${v.name} stake ${v.stake}\n`).join(""),
    );
  });
}
