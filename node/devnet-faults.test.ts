/**
 * A four-validator devnet where one committee member never starts (the
 * phantom), and a test peer holding the phantom's network identity sends the
 * running validators garbage, oversize frames and invalidly signed blocks,
 * and pushes them transactions.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildTransfer } from "../ledger/index.ts";
import {
  FRAME_BYTES_MAX,
  loadOrCreatePeerKey,
  type NetworkHost,
  Protocol,
  TransactionBatchTopic,
} from "../net/index.ts";
import { loopbackHost } from "../net/testing.ts";
import {
  addressFromPublicKey,
  decodeTransaction,
  encodeBlock,
  encodeTransaction,
  generateKeyPair,
  signBlock,
  toHex,
  transactionDigest,
} from "../spec/index.ts";
import type { CommitResult } from "./client.ts";
import { senderAssignment } from "./mempool.ts";
import { sleep, TestDevnet, until } from "./test-devnet.ts";

const RUNNING = ["v0", "v1", "v2"];

describe("devnet with a phantom validator and a faulty peer", { timeout: 300_000 }, () => {
  let devnet: TestDevnet;
  const attackers: NetworkHost[] = [];

  before(async () => {
    devnet = await TestDevnet.create(4);
    await devnet.startAll(RUNNING);
  });

  const scoreOf = async (peerId: string) => {
    const table = await devnet
      .client("v0")
      .call<{ peerId: string; score: number; refused: boolean }[]>("hs_peers");
    return table.find((p) => p.peerId === peerId) ?? { score: 0, refused: false };
  };

  after(async () => {
    for (const host of attackers) await host.stop().catch(() => {});
    await devnet?.close();
  });

  it("commits with three of four validators and no long stalls", async () => {
    const start = await devnet.commitIndex("v0");
    await devnet.waitForIndex(RUNNING, start + 60, 60_000);
    const head = await devnet.commitIndex("v0");
    const commits = (await Promise.all(
      Array.from({ length: 40 }, (_, i) => devnet.client("v0").getCommit(head - 39 + i)),
    )) as CommitResult[];
    const gaps = commits.slice(1).map((c, i) => c.timestampMs - (commits[i] as CommitResult).timestampMs);
    const longest = Math.max(...gaps);
    // A missing leader costs a leader timeout (200 ms) per slot it would have held; a stall is seconds.
    assert.ok(longest < 2_000, `longest gap between commits is ${longest} ms`);
  });

  it("admits transactions pushed by a committee member and penalises anyone else who pushes them", async () => {
    const target = devnet.validator("v0");
    const member = await loopbackHost(devnet.manifest.chainId, {
      privateKey: await loadOrCreatePeerKey(join(devnet.validator("v3").dataDir, "peer.key")),
      bootstrap: [target.p2p],
    });
    const outsider = await loopbackHost(devnet.manifest.chainId, { bootstrap: [target.p2p] });
    try {
      await until(
        "both peers to connect",
        () => member.peers().includes(target.peerId) && outsider.peers().includes(target.peerId),
      );
      // A sender that v0 proposes for, funded through the ordinary RPC path.
      let sender = generateKeyPair();
      while (senderAssignment(sender.publicKey, 4) !== 0) sender = generateKeyPair();
      const funding = await devnet.transferFromFaucet("v0", addressFromPublicKey(sender.publicKey), 1_000n);
      await devnet.client("v0").waitForReceipt(funding);
      const transfer = (nonce: number) =>
        encodeTransaction(
          buildTransfer({
            chainId: devnet.manifest.chainId,
            keys: sender,
            nonce,
            fee: 10n,
            to: addressFromPublicKey(generateKeyPair().publicKey),
            amount: 1n,
          }),
        );

      // From a non-member, even a valid transaction is refused and costs score.
      const refused = transfer(0);
      outsider.push(target.peerId, Protocol.TransactionPush, TransactionBatchTopic.encode([refused]));
      await until(
        "the outsider's push to cost score",
        async () => (await scoreOf(outsider.peerId)).score < 0,
      );
      assert.equal(
        await devnet.client("v0").getReceipt(toHex(transactionDigest(decodeTransaction(refused)))),
        null,
      );

      // From a member, it reaches v0's mempool and v0 proposes it.
      const pushed = transfer(0);
      member.push(target.peerId, Protocol.TransactionPush, TransactionBatchTopic.encode([pushed]));
      const receipt = await devnet
        .client("v1")
        .waitForReceipt(toHex(transactionDigest(decodeTransaction(pushed))));
      assert.equal(receipt.status, "success");
      assert.equal((await scoreOf(member.peerId)).score, 0);
    } finally {
      await member.stop();
      await outsider.stop();
    }
  });

  it("rejects garbage, oversize frames and invalid blocks from a peer, lowers its score, and keeps committing", async () => {
    const phantom = devnet.validator("v3");
    const target = devnet.validator("v0");
    const attacker = await loopbackHost(devnet.manifest.chainId, {
      privateKey: await loadOrCreatePeerKey(join(phantom.dataDir, "peer.key")),
      bootstrap: [target.p2p],
    });
    attackers.push(attacker);
    const outsider = await loopbackHost(devnet.manifest.chainId, { bootstrap: [target.p2p] });
    attackers.push(outsider);
    await until(
      "the attackers to connect",
      () => attacker.peers().includes(target.peerId) && outsider.peers().includes(target.peerId),
    );

    const before = await devnet.commitIndex("v0");

    attacker.push(target.peerId, Protocol.ConsensusPush, new Uint8Array([0x97, 0xc1, 0xff, 0x00]));
    await until(
      "garbage to cost the phantom's identity score",
      async () => (await scoreOf(attacker.peerId)).score < 0,
    );
    const afterGarbage = (await scoreOf(attacker.peerId)).score;

    const wrongKey = generateKeyPair();
    const forged = signBlock(
      { epoch: 0, round: 5, author: 3, timestampMs: Date.now(), ancestors: [], transactions: [] },
      wrongKey.secretKey,
    );
    attacker.push(target.peerId, Protocol.ConsensusPush, encodeBlock(forged));
    await until("an invalidly signed block to cost score", async () => {
      const entry = await scoreOf(attacker.peerId);
      return entry.score < afterGarbage || entry.refused;
    });

    outsider.push(target.peerId, Protocol.ConsensusPush, new Uint8Array(FRAME_BYTES_MAX + 1));
    await until(
      "an oversize frame from a non-member to cost score",
      async () => (await scoreOf(outsider.peerId)).score < 0,
    );

    await devnet.waitForIndex(RUNNING, before + 20, 60_000);
    await sleep(500);
    const roots = await Promise.all(
      RUNNING.map(async (n) => (await devnet.client(n).getCommit(before + 20))?.stateRoot),
    );
    assert.equal(new Set(roots).size, 1);
  });
});
