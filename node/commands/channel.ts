/**
 * `hyperspace channel`: open, list, pay, close and settle payment channels
 * from the command line. The commands are a wallet: the payer's records
 * (every voucher it signed) live in a RocksDB of their own, <data dir>/wallet,
 * and the chain is reached over a node's JSON-RPC.
 *
 * RPC methods used, beyond hs_status, hs_getAccount, hs_submitTransaction and
 * hs_getReceipt:
 *   hs_getChannel [channelIdHex]            -> ChannelRecordJson | null
 *   hs_listChannels [address]               -> ChannelRecordJson[] (payer or payee is the address)
 *   hs_resolvePeer [peerId]                 -> { address } | null (the account a libp2p peer id serves)
 *   hs_sendChannelMessage [peerId, hex]     -> { sent: boolean } (the node pushes a channel message to a peer)
 *   hs_getChannelVoucher [channelIdHex]     -> { voucher: hex | null } (the best voucher the node holds as payee)
 */
import { join } from "node:path";
import type { Command } from "commander";
import {
  type ChannelBalance,
  type ChannelChain,
  ChannelClient,
  ChannelError,
  type ChannelRecord,
  ChannelStore,
  type CooperativeCloseApproval,
  channelRecordToJson,
  encodeChannelMessage,
  PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT,
  parseChannelRecordJson,
  type SubmitOutcome,
} from "../../channels/index.ts";
import { openRocksStore, type Store } from "../../ledger/index.ts";
import {
  addressFromPublicKey,
  CodecError,
  DIGEST_BYTES,
  decodeVoucher,
  encodeTransaction,
  encodeVoucher,
  formatAddress,
  fromHex,
  type KeyPair,
  PUBLIC_KEY_BYTES,
  parseAddress,
  SIGNATURE_BYTES,
  toHex,
  transactionDigest,
  type Voucher,
} from "../../spec/index.ts";
import type { RpcClient } from "../client.ts";
import { resolveConfig } from "../config.ts";
import { loadKeyPair } from "../keystore.ts";
import { printJson, UsageError } from "../output.ts";
import { DEFAULT_RPC, client as rpcClient } from "./chain.ts";
import { parseAmount } from "./genesis.ts";

/** What the channel commands need from a node: the SDK's chain interface plus a few channel methods. */
export interface ChannelNode extends ChannelChain {
  /** The account address a libp2p peer id serves (hs_resolvePeer), or null. */
  resolvePeer(peerId: string): Promise<Uint8Array | null>;
  /** Open channels whose payer or payee is `address` (hs_listChannels). */
  listChannels(address: Uint8Array): Promise<{ channelId: Uint8Array; record: ChannelRecord }[]>;
  /** Asks the node to push a channel protocol message to a peer (hs_sendChannelMessage). */
  sendChannelMessage(peer: string, message: Uint8Array): Promise<boolean>;
  /** The best voucher the node holds as payee of a channel (hs_getChannelVoucher). */
  payeeVoucher(channelId: Uint8Array): Promise<Voucher | null>;
}

/** The ChannelNode over a node's JSON-RPC client. */
export function rpcChannelNode(rpc: RpcClient): ChannelNode {
  const parseRecord = (json: unknown) => parseChannelRecordJson(json);
  return {
    chainId: async () => {
      const status = await rpc.status();
      if (!status.chainId) throw new UsageError(`${rpc.url} did not report its chain id`);
      return status.chainId;
    },
    nonce: async (address) => (await rpc.getAccount(formatAddress(address))).nonce,
    commitIndex: async () => (await rpc.status()).commitIndex,
    getChannel: async (channelId) => {
      const json = await rpc.call<unknown>("hs_getChannel", [toHex(channelId)]);
      return json === null ? null : parseRecord(json).record;
    },
    submit: async (tx): Promise<SubmitOutcome> => {
      const hash = await rpc.submitTransaction(encodeTransaction(tx));
      if (hash !== toHex(transactionDigest(tx)))
        throw new Error("the node returned a different transaction hash");
      const receipt = await rpc.waitForReceipt(hash);
      return {
        txHash: hash,
        success: receipt.status === "success",
        commitIndex: receipt.commitIndex,
        error: receipt.status === "success" ? null : (receipt.error ?? receipt.status),
      };
    },
    resolvePeer: async (peerId) => {
      const result = await rpc.call<{ address: string } | null>("hs_resolvePeer", [peerId]);
      return result === null ? null : parseAddress(result.address);
    },
    listChannels: async (address) => {
      const list = await rpc.call<unknown[]>("hs_listChannels", [formatAddress(address)]);
      return list.map(parseRecord);
    },
    sendChannelMessage: async (peer, message) =>
      (await rpc.call<{ sent: boolean }>("hs_sendChannelMessage", [peer, toHex(message)])).sent,
    payeeVoucher: async (channelId) => {
      const result = await rpc.call<{ voucher: string | null }>("hs_getChannelVoucher", [toHex(channelId)]);
      if (result.voucher === null) return null;
      const bytes = fromHex(result.voucher);
      if (bytes === null) throw new UsageError("the node returned a voucher that is not hex");
      return decodeVoucher(bytes);
    },
  };
}

/** The parts the commands are built from; tests give their own. */
export interface ChannelCommandDeps {
  node(rpcUrl: string): ChannelNode;
  openWallet(dir: string): Promise<{ store: Store; close(): Promise<void> }>;
  loadKeys(path: string, passphraseFile?: string): Promise<KeyPair>;
}

const defaultDeps: ChannelCommandDeps = {
  node: (url) => rpcChannelNode(rpcClient(url)),
  openWallet: async (dir) => {
    const store = await openRocksStore(dir);
    return { store, close: () => store.close() };
  },
  loadKeys: (path, passphraseFile) => loadKeyPair(path, passphraseFile),
};

interface CommonFlags {
  rpc: string;
  key: string;
  passphraseFile?: string;
  dataDir?: string;
  fee?: string;
  json?: boolean;
}

function parseChannelId(text: string): Uint8Array {
  const bytes = fromHex(text);
  if (bytes === null || bytes.byteLength !== DIGEST_BYTES) {
    throw new UsageError(`channel id must be ${DIGEST_BYTES} bytes of hex, got ${JSON.stringify(text)}`);
  }
  return bytes;
}

function parseHex(text: string, bytes: number, what: string): Uint8Array {
  const parsed = fromHex(text);
  if (parsed === null || parsed.byteLength !== bytes)
    throw new UsageError(`${what} must be ${bytes} bytes of hex`);
  return parsed;
}

function parseInteger(text: string, what: string, min: number, max: number): number {
  if (
    !/^\d+$/.test(text) ||
    !Number.isSafeInteger(Number(text)) ||
    Number(text) < min ||
    Number(text) > max
  ) {
    throw new UsageError(`${what} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** The wallet's directory: <data dir>/wallet (data dir: --data-dir, $HYPERSPACE_HOME or ~/.hyperspace). */
function walletDir(dataDir: string | undefined): string {
  return join(resolveConfig({ flags: dataDir === undefined ? {} : { dataDir } }).dataDir, "wallet");
}

/** Runs `use` with a ChannelClient for the key, over the node and the wallet; closes the wallet after. */
async function withClient<T>(
  deps: ChannelCommandDeps,
  flags: CommonFlags,
  use: (client: ChannelClient, node: ChannelNode, keys: KeyPair) => Promise<T>,
): Promise<T> {
  const keys = await deps.loadKeys(flags.key, flags.passphraseFile);
  const node = deps.node(flags.rpc);
  const wallet = await deps.openWallet(walletDir(flags.dataDir));
  try {
    const client = new ChannelClient({
      keys,
      chain: node,
      store: new ChannelStore(wallet.store),
      ...(flags.fee === undefined ? {} : { fee: parseAmount(flags.fee, "--fee") }),
    });
    return await use(client, node, keys);
  } finally {
    await wallet.close();
  }
}

function balanceJson(balance: ChannelBalance): Record<string, unknown> {
  return {
    channelId: toHex(balance.channelId),
    role: balance.role,
    counterparty: formatAddress(balance.counterparty),
    peer: balance.peer,
    deposit: balance.deposit,
    paid: balance.paid,
    remaining: balance.remaining,
    sequence: balance.sequence,
    status: balance.status,
    closing: balance.closing,
    onChain: balance.onChain,
  };
}

function print(flags: { json?: boolean }, json: unknown, lines: [string, unknown][]): void {
  if (flags.json) {
    printJson(json);
    return;
  }
  const width = Math.max(...lines.map(([label]) => label.length));
  for (const [label, value] of lines) process.stdout.write(`${label.padEnd(width)}  ${String(value)}\n`);
}

function outcomeLines(outcome: SubmitOutcome): [string, unknown][] {
  return [
    ["tx", outcome.txHash],
    ["commit", outcome.commitIndex],
  ];
}

function common(command: Command, needsKey = true): Command {
  command
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--passphrase-file <file>", "passphrase of an encrypted keystore (or set HYPERSPACE_PASSPHRASE)")
    .option(
      "--data-dir <dir>",
      "data directory; the wallet lives in <dir>/wallet (default $HYPERSPACE_HOME or ~/.hyperspace)",
    )
    .option("--json", "print one JSON value");
  if (needsKey)
    command.requiredOption("--key <file>", "key file of this wallet's account (plain or encrypted keystore)");
  return command;
}

export function register(program: Command): void {
  registerChannelCommands(program, defaultDeps);
}

export function registerChannelCommands(program: Command, deps: ChannelCommandDeps): void {
  const channel = program
    .command("channel")
    .description(
      "payment channels: open one, pay through it off chain, close it (two transactions when nobody cheats)",
    );

  common(
    channel
      .command("open")
      .description("open a channel to a payee, locking a deposit (one transaction)")
      .requiredOption("--to <peer-or-address>", "the payee: an hs1... address or a libp2p peer id")
      .requiredOption("--deposit <amount>", "deposit in base units")
      .option(
        "--challenge-period <commits>",
        "commits the payee has to answer a unilateral close",
        String(PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT),
      )
      .option("--peer <peerId>", "the payee's peer id, where vouchers go (when --to is an address)")
      .option("--fee <amount>", "transaction fee in base units"),
  ).action(
    async (flags: CommonFlags & { to: string; deposit: string; challengePeriod: string; peer?: string }) => {
      const deposit = parseAmount(flags.deposit, "--deposit");
      if (deposit === 0n) throw new UsageError("--deposit must be positive");
      const challengePeriod = parseInteger(
        flags.challengePeriod,
        "--challenge-period",
        1,
        Number.MAX_SAFE_INTEGER,
      );
      await withClient(deps, flags, async (client, node) => {
        let payee: Uint8Array;
        let peer = flags.peer ?? "";
        if (flags.to.startsWith("hs1")) {
          try {
            payee = parseAddress(flags.to);
          } catch (error) {
            throw new UsageError(`--to: ${(error as Error).message}`);
          }
        } else {
          const resolved = await node.resolvePeer(flags.to);
          if (resolved === null) throw new UsageError(`--to: the node knows no account for peer ${flags.to}`);
          payee = resolved;
          peer = flags.to;
        }
        const { channelId, outcome } = await client.openChannel({
          payee,
          deposit,
          challengePeriod,
          payeePeer: peer,
        });
        print(
          flags,
          {
            channelId: toHex(channelId),
            payer: formatAddress(client.address),
            payee: formatAddress(payee),
            peer,
            deposit,
            challengePeriod,
            txHash: outcome.txHash,
            commitIndex: outcome.commitIndex,
          },
          [
            ["channel", toHex(channelId)],
            ["payee", formatAddress(payee)],
            ["deposit", deposit],
            ["challenge", `${challengePeriod} commits`],
            ...outcomeLines(outcome),
          ],
        );
      });
    },
  );

  common(
    channel
      .command("list")
      .description("list this account's channels: the wallet's records and the node's view of each"),
  ).action(async (flags: CommonFlags) => {
    await withClient(deps, flags, async (client, node, keys) => {
      const balances = await client.list();
      const known = new Set(balances.map((b) => toHex(b.channelId)));
      // Channels the wallet has no record of (this key is payee on a node that serves for it).
      let onChain: { channelId: Uint8Array; record: ChannelRecord }[] = [];
      let listError: string | null = null;
      try {
        onChain = await node.listChannels(addressFromPublicKey(keys.publicKey));
      } catch (error) {
        listError = (error as Error).message;
      }
      const extra = onChain
        .filter(({ channelId }) => !known.has(toHex(channelId)))
        .map(({ channelId, record }) => ({
          ...channelRecordToJson(channelId, record),
          role: roleOf(record, keys),
        }));
      const rows = balances.map(balanceJson);
      if (flags.json)
        return printJson({ channels: rows, chainOnly: extra, ...(listError ? { listError } : {}) });
      if (rows.length === 0 && extra.length === 0) process.stdout.write("no channels\n");
      for (const b of balances) {
        process.stdout.write(
          `${toHex(b.channelId)}  ${b.role.padEnd(5)}  ${b.status.padEnd(7)}  deposit ${b.deposit}  paid ${b.paid}  remaining ${b.remaining}  ${b.role === "payer" ? "to" : "from"} ${formatAddress(b.counterparty)}\n`,
        );
      }
      for (const e of extra) {
        process.stdout.write(
          `${e.channelId}  ${e.role.padEnd(5)}  ${e.closing ? "closing" : "open   "}  deposit ${e.deposit}  (no wallet record)\n`,
        );
      }
      if (listError) process.stderr.write(`note: hs_listChannels failed: ${listError}\n`);
    });
  });

  common(
    channel
      .command("pay")
      .description(
        "sign the next cumulative voucher (stored in the wallet first) and send it to the payee through the node",
      )
      .argument("<channel>", "channel id (hex)")
      .argument("<amount>", "amount to add, in base units"),
  ).action(async (channelText: string, amountText: string, flags: CommonFlags) => {
    const channelId = parseChannelId(channelText);
    const amount = parseAmount(amountText, "amount");
    if (amount === 0n) throw new UsageError("amount must be positive");
    await withClient(deps, flags, async (client, node) => {
      const voucher = await client.pay(channelId, amount);
      const peer = (await client.payerChannel(channelId))?.record.payeePeer ?? "";
      let sent = false;
      let sendError: string | null = peer === "" ? "the payee's peer is unknown" : null;
      if (peer !== "") {
        try {
          sent = await node.sendChannelMessage(peer, encodeChannelMessage({ type: "voucher", voucher }));
        } catch (error) {
          sendError = (error as Error).message;
        }
      }
      print(
        flags,
        {
          channelId: toHex(channelId),
          cumulativeAmount: voucher.cumulativeAmount,
          sequence: voucher.sequence,
          voucher: encodeVoucher(voucher),
          sent,
          ...(sendError === null ? {} : { sendError }),
        },
        [
          ["channel", toHex(channelId)],
          ["paid", `${voucher.cumulativeAmount} in total (voucher ${voucher.sequence})`],
          ["voucher", toHex(encodeVoucher(voucher))],
          ["sent", sent ? `to ${peer}` : `no (${sendError}); hand the voucher to the payee`],
        ],
      );
    });
  });

  common(
    channel
      .command("close")
      .description(
        "close a channel: as payee, settle at once with the best voucher; as payer, close cooperatively with the payee's approval, or else start the challenge period",
      )
      .argument("<channel>", "channel id (hex)")
      .option("--payee-amount <amount>", "cooperative close: what the payee gets")
      .option("--payee-public-key <hex>", "cooperative close: the payee's public key")
      .option(
        "--payee-signature <hex>",
        "cooperative close: the payee's signature (hyperspace channel approve)",
      )
      .option("--fee <amount>", "transaction fee in base units"),
  ).action(
    async (
      channelText: string,
      flags: CommonFlags & { payeeAmount?: string; payeePublicKey?: string; payeeSignature?: string },
    ) => {
      const channelId = parseChannelId(channelText);
      const cooperativeFlags = [flags.payeeAmount, flags.payeePublicKey, flags.payeeSignature];
      let cooperative: CooperativeCloseApproval | undefined;
      if (cooperativeFlags.some((f) => f !== undefined)) {
        if (cooperativeFlags.some((f) => f === undefined)) {
          throw new UsageError(
            "a cooperative close needs --payee-amount, --payee-public-key and --payee-signature",
          );
        }
        cooperative = {
          payeeAmount: parseAmount(flags.payeeAmount!, "--payee-amount"),
          payeePublicKey: parseHex(flags.payeePublicKey!, PUBLIC_KEY_BYTES, "--payee-public-key"),
          payeeSignature: parseHex(flags.payeeSignature!, SIGNATURE_BYTES, "--payee-signature"),
        };
      }
      await withClient(deps, flags, async (client, node, keys) => {
        const record = await node.getChannel(channelId);
        const asPayee = record !== null && roleOf(record, keys) === "payee";
        let voucher: Voucher | null = null;
        if (asPayee && (await client.payeeChannel(channelId)) === null) {
          try {
            voucher = await node.payeeVoucher(channelId);
          } catch (error) {
            if (!(error instanceof CodecError)) throw error;
            throw new UsageError(`the node's voucher does not decode: ${error.message}`);
          }
        }
        const outcome = await client.close(channelId, {
          ...(cooperative === undefined ? {} : { cooperative }),
          ...(voucher === null ? {} : { voucher }),
        });
        // A payee with no wallet record has nothing left to read once the channel is paid out.
        const after = await client.balance(channelId).catch((error: unknown) => {
          if (error instanceof ChannelError && error.code === "UNKNOWN_CHANNEL")
            return { status: "closed", closing: null };
          throw error;
        });
        print(
          flags,
          {
            channelId: toHex(channelId),
            status: after.status,
            closing: after.closing,
            txHash: outcome.txHash,
            commitIndex: outcome.commitIndex,
          },
          [
            ["channel", toHex(channelId)],
            [
              "status",
              after.closing ? `closing (settle after commit ${after.closing.deadlineCommit})` : after.status,
            ],
            ...outcomeLines(outcome),
          ],
        );
      });
    },
  );

  common(
    channel
      .command("settle")
      .description("pay out a channel whose challenge period has ended")
      .argument("<channel>", "channel id (hex)")
      .option("--fee <amount>", "transaction fee in base units"),
  ).action(async (channelText: string, flags: CommonFlags) => {
    const channelId = parseChannelId(channelText);
    await withClient(deps, flags, async (client) => {
      const outcome = await client.settle(channelId);
      print(
        flags,
        {
          channelId: toHex(channelId),
          status: "closed",
          txHash: outcome.txHash,
          commitIndex: outcome.commitIndex,
        },
        [["channel", toHex(channelId)], ["status", "closed"], ...outcomeLines(outcome)],
      );
    });
  });

  common(
    channel
      .command("approve")
      .description("as payee, sign a cooperative close paying you <amount> (give the output to the payer)")
      .argument("<channel>", "channel id (hex)")
      .argument("<amount>", "what the payee gets, in base units"),
  ).action(async (channelText: string, amountText: string, flags: CommonFlags) => {
    const channelId = parseChannelId(channelText);
    const amount = parseAmount(amountText, "amount");
    await withClient(deps, flags, async (client) => {
      const approval = await client.approveCooperativeClose(channelId, amount);
      print(
        flags,
        {
          channelId: toHex(channelId),
          payeeAmount: approval.payeeAmount,
          payeePublicKey: approval.payeePublicKey,
          payeeSignature: approval.payeeSignature,
        },
        [
          ["channel", toHex(channelId)],
          ["payee-amount", approval.payeeAmount],
          ["payee-public-key", toHex(approval.payeePublicKey)],
          ["payee-signature", toHex(approval.payeeSignature)],
        ],
      );
    });
  });
}

function roleOf(record: ChannelRecord, keys: KeyPair): "payer" | "payee" {
  return toHex(record.payer) === toHex(addressFromPublicKey(keys.publicKey)) ? "payer" : "payee";
}
