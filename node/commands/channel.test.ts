import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Command } from "commander";
import { type ChannelRecord, channelsModule, decodeChannelRecord } from "../../channels/index.ts";
import { Bucket, bucketKey, createGenesis, Ledger, MemoryStore, openRocksStore } from "../../ledger/index.ts";
import {
  addressFromPublicKey,
  encodeTransaction,
  formatAddress,
  generateKeyPair,
  type KeyPair,
  signVoucher,
  toHex,
  transactionDigest,
  type Voucher,
} from "../../spec/index.ts";
import { writeKeyFile } from "../keyfile.ts";
import { loadKeyPair } from "../keystore.ts";
import { UsageError } from "../output.ts";
import { type ChannelCommandDeps, type ChannelNode, registerChannelCommands } from "./channel.ts";

const CHAIN_ID = "hyperspace-cli-test";
const PERIOD = 8;

function keysOf(i: number): KeyPair {
  const seed = new Uint8Array(32);
  seed[0] = i;
  seed[31] = 0xc1;
  return generateKeyPair(seed);
}

/** A node over a real ledger (channels module, in-memory store): each transaction executes in its own commit. */
async function ledgerNode(payer: KeyPair, payee: KeyPair) {
  const ledger = await Ledger.open({
    store: new MemoryStore(),
    genesis: createGenesis({
      chainId: CHAIN_ID,
      genesisTimeMs: 1_700_000_000_000,
      minFee: 1n,
      accounts: [payer, payee].map((k) => ({
        address: addressFromPublicKey(k.publicKey),
        balance: 100_000n,
      })),
    }),
    modules: [channelsModule],
  });
  const commit = async (transactions: Uint8Array[]) => {
    const index = ledger.lastAppliedIndex + 1;
    return ledger.applyCommit({
      index,
      timestampMs: 1_700_000_000_000 + index,
      feeRecipient: null,
      transactions,
    });
  };
  const channel = (id: Uint8Array): ChannelRecord | null => {
    const bytes = ledger.getStateValue(bucketKey(Bucket.channelsState, id));
    return bytes === null ? null : decodeChannelRecord(bytes);
  };
  const sent: { peer: string; bytes: Uint8Array }[] = [];
  const heldVouchers = new Map<string, Voucher>();
  const node: ChannelNode = {
    chainId: async () => CHAIN_ID,
    nonce: async (address) => ledger.getAccount(address).nonce,
    commitIndex: async () => ledger.lastAppliedIndex,
    getChannel: async (id) => channel(id),
    submit: async (tx) => {
      const result = await commit([encodeTransaction(tx)]);
      const receipt = result.receipts[0]!;
      return {
        txHash: toHex(transactionDigest(tx)),
        success: receipt.success,
        commitIndex: receipt.commitIndex,
        error: receipt.success ? null : receipt.errorCode,
      };
    },
    resolvePeer: async (peerId) =>
      peerId === "12D3KooWpayee" ? addressFromPublicKey(payee.publicKey) : null,
    listChannels: async (address) =>
      ledger
        .scanModuleValues(Bucket.channelsState)
        .map((e) => ({ channelId: e.key, record: decodeChannelRecord(e.value) }))
        .filter(
          ({ record }) => toHex(record.payer) === toHex(address) || toHex(record.payee) === toHex(address),
        ),
    sendChannelMessage: async (peer, bytes) => {
      sent.push({ peer, bytes });
      return true;
    },
    payeeVoucher: async (id) => heldVouchers.get(toHex(id)) ?? null,
  };
  return { ledger, node, sent, heldVouchers, commit, channel };
}

/** Runs one `hyperspace channel ...` command line; returns its parsed JSON output. */
async function run(deps: ChannelCommandDeps, args: string[]): Promise<Record<string, unknown>> {
  const program = new Command("hyperspace").exitOverride();
  registerChannelCommands(program, deps);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["channel", ...args, "--json", "--rpc", "http://test"], { from: "user" });
  } finally {
    process.stdout.write = write;
  }
  return JSON.parse(chunks.join("").trim().split("\n").at(-1)!);
}

describe("hyperspace channel", () => {
  it("opens, pays, lists, closes (payer and payee) and settles against a real ledger, with the wallet on RocksDB", async () => {
    const dir = await mkdtemp(join(tmpdir(), "channel-cli-"));
    try {
      const payer = keysOf(1);
      const payee = keysOf(2);
      writeKeyFile(join(dir, "payer.json"), payer);
      writeKeyFile(join(dir, "payee.json"), payee);
      const chain = await ledgerNode(payer, payee);
      const deps: ChannelCommandDeps = {
        node: () => chain.node,
        openWallet: async (path) => {
          const store = await openRocksStore(path);
          return { store, close: () => store.close() };
        },
        loadKeys: (path, passphraseFile) => loadKeyPair(path, passphraseFile),
      };
      const as = (who: "payer" | "payee") => [
        "--key",
        join(dir, `${who}.json`),
        "--data-dir",
        join(dir, who),
      ];

      const opened = await run(deps, [
        "open",
        "--to",
        "12D3KooWpayee",
        "--deposit",
        "1000",
        "--challenge-period",
        String(PERIOD),
        "--fee",
        "5",
        ...as("payer"),
      ]);
      const id = opened.channelId as string;
      assert.equal(opened.payee, formatAddress(addressFromPublicKey(payee.publicKey)));
      assert.equal(opened.deposit, "1000");
      assert.equal(opened.peer, "12D3KooWpayee");

      await run(deps, ["pay", id, "30", ...as("payer")]);
      const paid = await run(deps, ["pay", id, "12", ...as("payer")]);
      assert.equal(paid.cumulativeAmount, "42");
      assert.equal(paid.sequence, 2);
      assert.equal(paid.sent, true);
      assert.equal(chain.sent.length, 2);
      assert.equal(chain.sent[1]!.peer, "12D3KooWpayee");

      const listed = await run(deps, ["list", ...as("payer")]);
      const rows = listed.channels as Record<string, unknown>[];
      assert.equal(rows.length, 1);
      assert.deepEqual(
        [rows[0]!.role, rows[0]!.paid, rows[0]!.remaining, rows[0]!.status],
        ["payer", "42", "958", "open"],
      );
      const payeeList = await run(deps, ["list", ...as("payee")]);
      assert.equal(
        (payeeList.chainOnly as unknown[]).length,
        1,
        "the payee's wallet has no record; the chain has",
      );

      // The payer closes unilaterally with its newest voucher; settle must wait for the period.
      const closing = await run(deps, ["close", id, ...as("payer")]);
      assert.equal(closing.status, "closing");
      await assert.rejects(run(deps, ["settle", id, ...as("payer")]), /CHALLENGE_PERIOD_RUNNING/);
      for (let i = 0; i < PERIOD; i++) await chain.commit([]);
      const settled = await run(deps, ["settle", id, ...as("payer")]);
      assert.equal(settled.status, "closed");
      assert.equal(chain.ledger.getAccount(addressFromPublicKey(payee.publicKey)).balance, 100_000n + 42n);

      // A second channel: the payee closes with the voucher its node holds.
      const second = (
        await run(deps, [
          "open",
          "--to",
          formatAddress(addressFromPublicKey(payee.publicKey)),
          "--deposit",
          "500",
          "--challenge-period",
          String(PERIOD),
          ...as("payer"),
        ])
      ).channelId as string;
      const voucher = await run(deps, ["pay", second, "77", ...as("payer")]);
      assert.equal(voucher.sent, false, "no peer known for an address-only open");
      const channelId = Uint8Array.from(Buffer.from(second, "hex"));
      chain.heldVouchers.set(
        second,
        signVoucher({ chainId: CHAIN_ID, channelId, cumulativeAmount: 77n, sequence: 1 }, payer.secretKey),
      );
      const payeeBefore = chain.ledger.getAccount(addressFromPublicKey(payee.publicKey)).balance;
      const closed = await run(deps, ["close", second, "--fee", "5", ...as("payee")]);
      assert.equal(closed.status, "closed");
      assert.equal(chain.channel(channelId), null);
      assert.equal(
        chain.ledger.getAccount(addressFromPublicKey(payee.publicKey)).balance,
        payeeBefore + 77n - 5n,
      );

      // A third: a cooperative close approved by the payee.
      const third = (
        await run(deps, [
          "open",
          "--to",
          "12D3KooWpayee",
          "--deposit",
          "300",
          "--challenge-period",
          String(PERIOD),
          ...as("payer"),
        ])
      ).channelId as string;
      const approval = await run(deps, ["approve", third, "120", ...as("payee")]);
      const cooperative = await run(deps, [
        "close",
        third,
        "--payee-amount",
        "120",
        "--payee-public-key",
        approval.payeePublicKey as string,
        "--payee-signature",
        approval.payeeSignature as string,
        ...as("payer"),
      ]);
      assert.equal(cooperative.status, "closed");
      assert.equal(chain.channel(Uint8Array.from(Buffer.from(third, "hex"))), null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses bad input with a UsageError", async () => {
    const dir = await mkdtemp(join(tmpdir(), "channel-cli-"));
    try {
      const payer = keysOf(1);
      writeKeyFile(join(dir, "payer.json"), payer);
      const chain = await ledgerNode(payer, keysOf(2));
      const deps: ChannelCommandDeps = {
        node: () => chain.node,
        openWallet: async () => {
          const store = new MemoryStore();
          return { store, close: () => store.close() };
        },
        loadKeys: (path) => loadKeyPair(path),
      };
      const key = ["--key", join(dir, "payer.json")];
      const cases: string[][] = [
        ["open", "--to", "12D3KooWnobody", "--deposit", "5", ...key],
        ["open", "--to", "hs1notanaddress", "--deposit", "5", ...key],
        ["open", "--to", "12D3KooWpayee", "--deposit", "-5", ...key],
        ["open", "--to", "12D3KooWpayee", "--deposit", "0", ...key],
        ["pay", "abcd", "5", ...key],
        ["pay", "00".repeat(32), "x", ...key],
        ["close", "00".repeat(32), "--payee-amount", "5", ...key],
      ];
      for (const args of cases) await assert.rejects(run(deps, args), UsageError, args.join(" "));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
