/**
 * Payment channels end to end on a four-validator devnet. The payee is a
 * full node (its own wallet key, so no validator rewards blur its balance);
 * the payer is this test process with its own libp2p host, RocksDB wallet and
 * the channels SDK over a validator's RPC. 10,000 micro-payments stream over
 * libp2p; the payer then closes with a stale voucher and the payee node's
 * watcher challenges on its own. A second channel with the same traffic is
 * closed by the payee.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  buildChannelClose,
  ChannelClient,
  ChannelEndpoint,
  ChannelStore,
  encodeChannelMessage,
  type SubmitOutcome,
} from "../channels/index.ts";
import { MemoryStore, openRocksStore, type RocksStore, TX_FEE_DEFAULT } from "../ledger/index.ts";
import { LibP2PChannelTransport, type NetworkHost } from "../net/index.ts";
import { loopbackHost } from "../net/testing.ts";
import {
  addressFromPublicKey,
  decodeVoucher,
  formatAddress,
  fromHex,
  generateKeyPair,
  type KeyPair,
  parseAddress,
  type Voucher,
} from "../spec/index.ts";
import { rpcChannelNode } from "./commands/channel.ts";
import { readKeyFile } from "./keyfile.ts";
import { sleep, TestDevnet, until } from "./test-devnet.ts";

const PAYMENTS = 10_000;
const DEPOSIT = 1_000_000n;
/** Long enough for the payee's full node (which polls for commits) to see the close and answer it. */
const CHALLENGE_PERIOD = 80;
const FEE = 10n;
const CONCURRENT_PAYMENTS = 64;

describe("payment channels on a devnet", { timeout: 600_000 }, () => {
  let devnet: TestDevnet;
  let payerHost: NetworkHost;
  let wallet: RocksStore;
  let payer: ChannelClient;
  let transport: LibP2PChannelTransport;
  let payerKeys: KeyPair;
  let payeeKeys: KeyPair;
  let payeePeer: string;
  const walletDir = mkdtempSync(join(tmpdir(), "hs-payer-wallet-"));

  const balance = async (keys: KeyPair) =>
    devnet.client("v0").getAccount(formatAddress(addressFromPublicKey(keys.publicKey)));

  before(async () => {
    devnet = await TestDevnet.create(4);
    await devnet.startAll(["v0", "v1", "v2", "v3"]);
    const payee = await devnet.addFullNode("payee", { channelChallengePeriodMin: 40 });
    await devnet.startAll(["payee"]);
    const walletInfo = await devnet
      .client("payee")
      .call<{ address: string; peerId: string; addresses: string[] }>("hs_getWallet");
    payeePeer = walletInfo.peerId;
    payeeKeys = readKeyFile(join(payee.dataDir, "wallet.key.json"));
    assert.equal(formatAddress(addressFromPublicKey(payeeKeys.publicKey)), walletInfo.address);

    payerKeys = generateKeyPair();
    for (const keys of [payerKeys, payeeKeys]) {
      const hash = await devnet.transferFromFaucet("v0", addressFromPublicKey(keys.publicKey), 10_000_000n);
      await devnet.client("v0").waitForReceipt(hash, 30_000);
    }
    await until(
      "the payee node to see its funding",
      async () => (await devnet.client("payee").getAccount(walletInfo.address)).balance > 0n,
    );

    payerHost = await loopbackHost(devnet.manifest.chainId);
    const payeeP2p = (await devnet.client("payee").call<{ peerId: string }>("hs_status")).peerId;
    assert.equal(payeeP2p, payeePeer);
    await payerHost.addPeerAddresses(payeePeer, walletInfo.addresses);
    transport = new LibP2PChannelTransport(payerHost);
    await transport.start();
    wallet = await openRocksStore(walletDir);
    const endpoint = new ChannelEndpoint(transport);
    endpoint.startTimer();
    payer = new ChannelClient({
      keys: payerKeys,
      chain: rpcChannelNode(devnet.client("v0")),
      store: new ChannelStore(wallet),
      endpoint,
      fee: FEE,
    });
  });

  after(async () => {
    await payerHost?.stop().catch(() => {});
    await wallet?.close().catch(() => {});
    rmSync(walletDir, { recursive: true, force: true });
    await devnet?.close();
  });

  /** Opens a channel to the payee node and streams PAYMENTS payments of 1 over libp2p; returns every 1,000th voucher. */
  async function openAndStream(): Promise<{
    channelId: Uint8Array;
    open: SubmitOutcome;
    checkpoints: Voucher[];
  }> {
    const payeeAddress = parseAddress(
      (await devnet.client("payee").call<{ address: string }>("hs_getWallet")).address,
    );
    const { channelId, outcome } = await payer.openChannel({
      payee: payeeAddress,
      deposit: DEPOSIT,
      challengePeriod: CHALLENGE_PERIOD,
      payeePeer,
    });
    assert.equal(outcome.success, true, outcome.error ?? "");
    await until(
      "the payee node to see the channel",
      async () =>
        (await devnet.client("payee").call("hs_getChannel", [Buffer.from(channelId).toString("hex")])) !==
        null,
    );

    const checkpoints: Voucher[] = [];
    for (let sent = 0; sent < PAYMENTS - 1; sent += CONCURRENT_PAYMENTS) {
      const batch = Array.from({ length: Math.min(CONCURRENT_PAYMENTS, PAYMENTS - 1 - sent) }, () =>
        payer.pay(channelId, 1n),
      );
      for (const voucher of await Promise.all(batch)) {
        if (voucher.cumulativeAmount % 1_000n === 0n) checkpoints.push(voucher);
      }
    }
    const latest = await payer.pay(channelId, 1n);
    await until(
      "the payee node to hold the last payment",
      async () => {
        // Delivery is best effort: re-send the newest voucher until the payee holds it, as a wallet does.
        await transport.send(payeePeer, encodeChannelMessage({ type: "voucher", voucher: latest }));
        const held = await devnet
          .client("payee")
          .call<{ voucher: string | null }>("hs_getChannelVoucher", [Buffer.from(channelId).toString("hex")]);
        return (
          held.voucher !== null &&
          decodeVoucher(fromHex(held.voucher) as Uint8Array).cumulativeAmount === latest.cumulativeAmount
        );
      },
      60_000,
      200,
    );
    return { channelId, open: outcome, checkpoints };
  }

  it("streams 10,000 payments; a stale close is challenged by the payee's watcher; four transactions in all", async () => {
    const payerBefore = await balance(payerKeys);
    const payeeBefore = await balance(payeeKeys);
    const { channelId, checkpoints } = await openAndStream();
    const stale = checkpoints[4] as Voucher;
    assert.equal(stale.cumulativeAmount, 5_000n);

    // The payer cheats: a unilateral close with an old voucher.
    const chainId = devnet.manifest.chainId;
    const close = await rpcChannelNode(devnet.client("v0")).submit(
      buildChannelClose({
        chainId,
        keys: payerKeys,
        nonce: payerBefore.nonce + 1,
        fee: FEE,
        channelId,
        voucher: stale,
      }),
    );
    assert.equal(close.success, true, close.error ?? "");

    const id = Buffer.from(channelId).toString("hex");
    await until(
      "the payee's watcher to challenge and settle",
      async () => (await devnet.client("v0").call("hs_getChannel", [id])) === null,
      120_000,
      250,
    );
    await sleep(500);

    const payerAfter = await balance(payerKeys);
    const payeeAfter = await balance(payeeKeys);
    // Payer: open and close, nothing else. Payee: challenge and settle, nothing else.
    assert.equal(payerAfter.nonce - payerBefore.nonce, 2, "payer: open and close");
    assert.equal(payeeAfter.nonce - payeeBefore.nonce, 2, "payee: challenge and settle");
    assert.equal(payerAfter.balance, payerBefore.balance - BigInt(PAYMENTS) - 2n * FEE);
    // The payee node's own transactions (challenge, settle) pay the default fee.
    assert.equal(payeeAfter.balance, payeeBefore.balance + BigInt(PAYMENTS) - 2n * TX_FEE_DEFAULT);
  });

  it("a second channel with the same traffic, closed by the payee, takes two transactions", async () => {
    const payerBefore = await balance(payerKeys);
    const payeeBefore = await balance(payeeKeys);
    const { channelId } = await openAndStream();
    const held = await devnet
      .client("payee")
      .call<{ voucher: string }>("hs_getChannelVoucher", [Buffer.from(channelId).toString("hex")]);
    const payee = new ChannelClient({
      keys: payeeKeys,
      chain: rpcChannelNode(devnet.client("v0")),
      store: new ChannelStore(new MemoryStore()),
      fee: FEE,
    });
    const outcome = await payee.close(channelId, {
      voucher: decodeVoucher(fromHex(held.voucher) as Uint8Array),
    });
    assert.equal(outcome.success, true, outcome.error ?? "");
    await until(
      "the channel to be settled",
      async () =>
        (await devnet.client("v0").call("hs_getChannel", [Buffer.from(channelId).toString("hex")])) === null,
    );
    const payerAfter = await balance(payerKeys);
    const payeeAfter = await balance(payeeKeys);
    assert.equal(payerAfter.nonce - payerBefore.nonce, 1, "payer: open only");
    assert.equal(payeeAfter.nonce - payeeBefore.nonce, 1, "payee: close only");
    assert.equal(payerAfter.balance, payerBefore.balance - BigInt(PAYMENTS) - FEE);
    assert.equal(payeeAfter.balance, payeeBefore.balance + BigInt(PAYMENTS) - FEE);
  });
});
