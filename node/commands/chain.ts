import type { Command } from "commander";
import { buildTransfer } from "../../ledger/index.ts";
import {
  addressFromPublicKey,
  encodeTransaction,
  formatAddress,
  parseAddress,
  toHex,
  transactionDigest,
} from "../../spec/index.ts";
import { RpcClient } from "../client.ts";
import { loadKeyPair } from "../keystore.ts";
import { printJson, toJson, UsageError } from "../output.ts";
import { parseAmount } from "./genesis.ts";

/** Where the CLI finds a node unless told otherwise. */
export const DEFAULT_RPC = process.env.HYPERSPACE_RPC ?? "http://127.0.0.1:8545";

export function client(url: string | undefined): RpcClient {
  return new RpcClient(url ?? DEFAULT_RPC, process.env.HYPERSPACE_RPC_TOKEN);
}

function address(text: string): string {
  try {
    return formatAddress(parseAddress(text));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function register(program: Command): void {
  program
    .command("status")
    .description("show a node's commit index, state root, round, peers and sync state")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print the hs_status result as JSON")
    .action(async (options: { rpc: string; json?: boolean }) => {
      const status = await client(options.rpc).status();
      if (options.json) return printJson(status);
      for (const [key, value] of Object.entries(status)) process.stdout.write(`${key.padEnd(15)} ${value}\n`);
    });

  program
    .command("account")
    .description("show an account's balance, nonce and stake (optionally with a Merkle proof)")
    .argument("<address>", "hs1... address")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--proof", "include a proof against the current state root")
    .option("--json", "print JSON")
    .action(async (text: string, options: { rpc: string; proof?: boolean; json?: boolean }) => {
      const account = await client(options.rpc).getAccount(address(text), { proof: options.proof ?? false });
      if (options.json) return printJson({ address: address(text), ...account });
      process.stdout.write(
        `address  ${address(text)}\nbalance  ${account.balance}\nnonce    ${account.nonce}\n`,
      );
      if (account.stake !== undefined) process.stdout.write(`stake    ${account.stake}\n`);
      if (account.proof !== undefined) process.stdout.write(`proof    ${toJson(account.proof)}\n`);
    });

  const tx = program.command("tx").description("build, sign and submit transactions");
  tx.command("transfer")
    .description(
      "sign a transfer with a key file and submit it; with --wait, return once it is final and print the receipt",
    )
    .requiredOption("--key <file>", "sender key file (plain or encrypted keystore)")
    .requiredOption("--to <address>", "recipient hs1... address")
    .requiredOption("--amount <amount>", "amount in base units")
    .option("--fee <amount>", "fee in base units", "10")
    .option("--nonce <n>", "nonce (default: the account's next nonce from the node)")
    .option("--passphrase-file <file>", "passphrase of an encrypted keystore (or set HYPERSPACE_PASSPHRASE)")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--wait", "wait until the transaction is final and print its receipt")
    .option("--json", "print JSON")
    .action(async (options) => {
      const rpc = client(options.rpc);
      const keys = await loadKeyPair(options.key, options.passphraseFile);
      const sender = formatAddress(addressFromPublicKey(keys.publicKey));
      const status = await rpc.status();
      const nonce =
        options.nonce !== undefined ? Number(options.nonce) : (await rpc.getAccount(sender)).nonce;
      if (!Number.isSafeInteger(nonce) || nonce < 0)
        throw new UsageError("--nonce must be a non-negative integer");
      const transaction = buildTransfer({
        chainId: status.chainId ?? "",
        keys,
        nonce,
        fee: parseAmount(options.fee, "--fee"),
        to: parseAddress(address(options.to)),
        amount: parseAmount(options.amount, "--amount"),
      });
      const hash = await rpc.submitTransaction(encodeTransaction(transaction));
      if (hash !== toHex(transactionDigest(transaction)))
        throw new Error("node returned a different transaction hash");
      if (!options.wait) {
        if (options.json) return printJson({ hash, sender, nonce });
        process.stdout.write(`submitted ${hash}\n`);
        return;
      }
      const receipt = await rpc.waitForReceipt(hash);
      if (options.json) return printJson(receipt);
      process.stdout.write(
        `final ${hash}\nstatus  ${receipt.status}\ncommit  ${receipt.commitIndex}\nfee     ${receipt.fee}\n` +
          (receipt.error ? `error   ${receipt.error}\n` : ""),
      );
      if (receipt.status !== "success") process.exitCode = 1;
    });
}
