import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { peerIdFromString } from "@libp2p/peer-id";
import { encodeTransaction, generateKeyPair, signTransaction, type Transaction } from "../spec/index.ts";
import { PEER_SCORE_DISCONNECT_THRESHOLD } from "./constants.ts";
import { NetError } from "./errors.ts";
import type { NetworkHost } from "./host.ts";
import { loadOrCreatePeerKey, peerIdOf } from "./identity.ts";
import { loopbackHost } from "./testing.ts";
import { TransactionBatchTopic, topicName } from "./topics.ts";

const CHAIN = "net-test";

const host = (bootstrap: string[] = []) => loopbackHost(CHAIN, { bootstrap });

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function transaction(nonce: number): Transaction {
  const keys = generateKeyPair();
  return signTransaction(
    { chainId: CHAIN, sender: keys.publicKey, nonce, fee: 1n, kind: "transfer", payload: new Uint8Array(4) },
    keys,
  );
}

describe("NetworkHost over loopback sockets", () => {
  let a: NetworkHost;
  let b: NetworkHost;
  let c: NetworkHost;

  before(async () => {
    b = await host();
    a = await host(b.multiaddrs());
    c = await host(b.multiaddrs());
    await until(() => a.peers().includes(b.peerId) && c.peers().includes(b.peerId));
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  it("answers requests, and returns a handler's error as a typed REMOTE_ERROR", async () => {
    await b.handleRequests("echo/1", async (request, peer) => {
      if (request[0] === 0xff) throw new Error("refused by handler");
      assert.equal(peer, a.peerId);
      return new Uint8Array([...request].reverse());
    });
    assert.deepEqual(
      await a.request(b.peerId, "echo/1", new Uint8Array([1, 2, 3])),
      new Uint8Array([3, 2, 1]),
    );
    await assert.rejects(
      a.request(b.peerId, "echo/1", new Uint8Array([0xff])),
      (error: unknown) =>
        error instanceof NetError && error.code === "REMOTE_ERROR" && /refused/.test(error.message),
    );
  });

  it("refuses an oversize request and lowers the sender's score", async () => {
    await b.handleRequests("small/1", async (request) => request, 16);
    const before = b.scores.score(a.peerId);
    await assert.rejects(a.request(b.peerId, "small/1", new Uint8Array(17)), NetError);
    await until(() => b.scores.score(a.peerId) < before);
  });

  it("times out a request that gets no answer", async () => {
    await b.handleRequests("slow/1", () => new Promise(() => {}));
    await assert.rejects(
      a.request(b.peerId, "slow/1", new Uint8Array(1), { timeoutMs: 300 }),
      (error: unknown) => error instanceof NetError && error.code === "TIMEOUT",
    );
  });

  it("delivers push frames in order over one long-lived stream", async () => {
    const received: number[] = [];
    await b.handlePush("frames/1", (frame, peer) => {
      assert.equal(peer, a.peerId);
      received.push(frame[0] ?? -1);
    });
    for (let i = 0; i < 100; i++) a.push(b.peerId, "frames/1", new Uint8Array([i, 0, 0]));
    await until(() => received.length === 100);
    assert.deepEqual(
      received,
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it("moves frames and responses many times the stream window (256 KiB) intact", async () => {
    // Far past the initial window, so the transfer depends on window updates arriving.
    const big = (length: number, seed: number) =>
      Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
    const response = big(6 * 1024 * 1024, 1);
    await b.handleRequests("big/1", async () => response);
    assert.deepEqual(await a.request(b.peerId, "big/1", new Uint8Array(1)), response);

    const received: Uint8Array[] = [];
    await b.handlePush("big-frames/1", (frame) => received.push(frame));
    const frames = [big(3 * 1024 * 1024, 2), big(100, 3), big(2 * 1024 * 1024, 4)];
    for (const frame of frames) a.push(b.peerId, "big-frames/1", frame);
    await until(() => received.length === frames.length);
    assert.deepEqual(received, frames);
  });

  it("ends a push stream whose length prefix runs past the longest allowed, and penalises its sender", async () => {
    await b.handlePush("prefix/1", () => {}, 1024);
    const before = b.scores.score(c.peerId);
    const raw = await c.libp2p.dialProtocol(peerIdFromString(b.peerId), b.protocolId("prefix/1"));
    // Every byte carries the continuation bit, so the varint length never ends.
    raw.send(new Uint8Array(64).fill(0x80));
    await until(() => b.scores.score(c.peerId) < before);
    raw.abort(new Error("done"));
  });

  it("drops an oversize push frame and penalises its sender", async () => {
    const received: Uint8Array[] = [];
    await b.handlePush("tiny/1", (frame) => received.push(frame), 8);
    const before = b.scores.score(c.peerId);
    c.push(b.peerId, "tiny/1", new Uint8Array(9));
    await until(() => b.scores.score(c.peerId) < before);
    assert.equal(received.length, 0);
  });

  it("gossips transaction batches and rejects garbage, penalising the publisher", async () => {
    const got: (readonly Uint8Array[])[] = [];
    for (const h of [a, b, c]) h.subscribe(TransactionBatchTopic, (batch) => h === c && got.push(batch));
    await until(
      () => a.libp2p.services.pubsub.getSubscribers(topicName(CHAIN, TransactionBatchTopic)).length > 0,
      15_000,
    );
    await until(
      () => c.libp2p.services.pubsub.getSubscribers(topicName(CHAIN, TransactionBatchTopic)).length > 0,
      15_000,
    );
    const batch = [encodeTransaction(transaction(1)), encodeTransaction(transaction(2))];
    await a.publish(TransactionBatchTopic, batch);
    await until(() => got.length === 1);
    assert.deepEqual(got[0], batch);

    const before = b.scores.score(a.peerId);
    await a.libp2p.services.pubsub.publish(
      topicName(CHAIN, TransactionBatchTopic),
      new Uint8Array([0xc1, 1, 2]),
    );
    await until(() => b.scores.score(a.peerId) < before);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(got.length, 1, "garbage must not reach the handler");
  });

  it("disconnects and refuses a peer whose score crosses the threshold", async () => {
    const d = await host(b.multiaddrs());
    try {
      await until(() => b.peers().includes(d.peerId));
      while (b.scores.score(d.peerId) > PEER_SCORE_DISCONNECT_THRESHOLD && !b.scores.isBanned(d.peerId)) {
        b.penalise(d.peerId, "InvalidSignature");
      }
      await until(() => !b.peers().includes(d.peerId));
      assert.equal(b.scores.isBanned(d.peerId), true);
      // The dial may complete the handshake before b's gater closes it; either way b keeps d out.
      await d.dial(b.multiaddrs()[0] ?? "").catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(b.peers().includes(d.peerId), false);
    } finally {
      await d.stop();
    }
  });
});

describe("peer identity", () => {
  it("persists the key with mode 0600 and keeps the peer id across loads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hs-net-"));
    try {
      const path = join(dir, "sub", "peer.key");
      const first = await loadOrCreatePeerKey(path);
      const second = await loadOrCreatePeerKey(path);
      assert.equal(peerIdOf(first), peerIdOf(second));
      assert.equal(statSync(path).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
