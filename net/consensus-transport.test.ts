import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { CommitRange, ConsensusService } from "../consensus/index.ts";
import {
  type Block,
  type BlockRef,
  blockRef,
  type Commit,
  encodeBlock,
  GENESIS_COMMIT_DIGEST,
  generateKeyPair,
  signBlock,
} from "../spec/index.ts";
import { type CommitteePeer, ConsensusTransport } from "./consensus-transport.ts";
import { Protocol } from "./constants.ts";
import type { NetworkHost } from "./host.ts";
import { loopbackHost } from "./testing.ts";

const CHAIN = "transport-test";
const keys = generateKeyPair();

function block(round: number, author: number, txs = 1): Block {
  return signBlock(
    {
      epoch: 0,
      round,
      author,
      timestampMs: 1_000 + round,
      ancestors: [],
      transactions: Array.from({ length: txs }, (_, i) => new Uint8Array([round, author, i])),
    },
    keys.secretKey,
  );
}

/** Records what the transport hands to consensus; serves a fixed set of blocks and commits. */
class RecordingService implements ConsensusService {
  readonly received: { peer: number; block: Block }[] = [];
  constructor(private readonly blocks: Block[]) {}
  handleBlock(peer: number, received: Block): void {
    this.received.push({ peer, block: received });
  }
  async handleFetchBlocks(_peer: number, refs: readonly BlockRef[]): Promise<Block[]> {
    return this.blocks.filter((b) => refs.some((r) => r.round === b.round && r.author === b.author));
  }
  async handleFetchLatestBlocks(_peer: number, authors: readonly number[]): Promise<Block[]> {
    return this.blocks.filter((b) => authors.includes(b.author)).slice(-1);
  }
  async handleFetchCommits(_peer: number, from: number, to: number): Promise<CommitRange> {
    const commits: Commit[] = [];
    for (let index = from; index <= Math.min(to, this.blocks.length); index++) {
      const leader = blockRef(this.blocks[index - 1] as Block);
      commits.push({
        index,
        previousDigest: GENESIS_COMMIT_DIGEST,
        leader,
        blocks: [leader],
        timestampMs: index,
      });
    }
    return { commits, blocks: this.blocks };
  }
}

const host = () => loopbackHost(CHAIN);

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("ConsensusTransport over loopback", () => {
  const hosts: NetworkHost[] = [];
  const services: RecordingService[] = [];
  const transports: ConsensusTransport[] = [];
  let outsider: NetworkHost;
  const stored = [block(1, 1), block(2, 1), block(3, 1)];

  before(async () => {
    for (let i = 0; i < 3; i++) hosts.push(await host());
    outsider = await host();
    const peers: CommitteePeer[] = hosts.map((h, authority) => ({
      authority,
      publicKey: keys.publicKey,
      peerId: h.peerId,
      addresses: h.multiaddrs(),
    }));
    for (let i = 0; i < 3; i++) {
      const service = new RecordingService(i === 1 ? stored : []);
      const transport = new ConsensusTransport(hosts[i] as NetworkHost, peers, i);
      await transport.start(service, peers);
      services.push(service);
      transports.push(transport);
    }
  });

  after(async () => {
    await Promise.all([...hosts, outsider].map((h) => h.stop()));
  });

  it("broadcasts a block to every other committee member, tagged with the sender's authority", async () => {
    const sent = block(5, 0, 3);
    transports[0]?.broadcastBlock(sent);
    await until(() => (services[1]?.received.length ?? 0) > 0 && (services[2]?.received.length ?? 0) > 0);
    for (const service of [services[1], services[2]]) {
      assert.equal(service?.received[0]?.peer, 0);
      assert.deepEqual(service?.received[0]?.block.transactions, sent.transactions);
    }
    assert.equal(services[0]?.received.length, 0);
  });

  it("fetches blocks, latest blocks and commits by request", async () => {
    const refs = stored.slice(0, 2).map((b) => blockRef(b));
    const fetched = await transports[0]?.fetchBlocks(1, refs);
    assert.deepEqual(
      fetched?.map((b) => b.round),
      [1, 2],
    );
    assert.deepEqual(
      (await transports[2]?.fetchLatestBlocks(1, [1]))?.map((b) => b.round),
      [3],
    );
    const range = await transports[0]?.fetchCommits(1, 2, 3);
    assert.deepEqual(
      range?.commits.map((c) => c.index),
      [2, 3],
    );
    assert.ok((range?.blocks.length ?? 0) >= 2);
  });

  it("penalises garbage frames and frames from outside the committee, and keeps serving", async () => {
    const target = hosts[2] as NetworkHost;
    await hosts[0]?.dial(target.multiaddrs()[0] ?? "");
    hosts[0]?.push(target.peerId, Protocol.ConsensusPush, new Uint8Array([0x93, 0xc1, 0xc1]));
    await until(() => target.scores.score(hosts[0]?.peerId ?? "") < 0);
    await outsider.addPeerAddresses(target.peerId, target.multiaddrs());
    outsider.push(target.peerId, Protocol.ConsensusPush, new Uint8Array([1]));
    await until(() => target.scores.score(outsider.peerId) < 0);
    const before = services[2]?.received.length ?? 0;
    transports[1]?.broadcastBlock(block(6, 1));
    await until(() => (services[2]?.received.length ?? 0) > before);
  });

  it("penalises a committee member that pushes a block of another author or with a bad signature", async () => {
    const target = hosts[2] as NetworkHost;
    const sender = (hosts[1] as NetworkHost).peerId;
    const before = services[2]?.received.length ?? 0;
    hosts[1]?.push(target.peerId, Protocol.ConsensusPush, encodeBlock(block(7, 0)));
    await until(() => target.scores.score(sender) < 0);
    const forged = { ...block(8, 1), signature: new Uint8Array(64).fill(7) };
    const scoreBefore = target.scores.score(sender);
    hosts[1]?.push(target.peerId, Protocol.ConsensusPush, encodeBlock(forged));
    await until(() => target.scores.score(sender) < scoreBefore);
    assert.equal(services[2]?.received.length, before, "neither block may reach consensus");
  });
});
