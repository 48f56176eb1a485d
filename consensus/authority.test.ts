/**
 * Authorities running their real async loops over an in-process network,
 * with real timers and in-memory stores. Assertions are about what happens
 * (commits agree, no equivocation, catch-up), never about how fast.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Block, blockDigest, generateKeyPair, type KeyPair } from "../spec/index.ts";
import { Authority, type AuthorityOptions, type ConsensusLogger } from "./authority.ts";
import { Committee } from "./committee.ts";
import type { CommittedSubDag, ConsensusNetwork, ConsensusWriteBatch } from "./interface.ts";
import { InMemoryConsensusStore } from "./memory_store.ts";
import { ed25519Signer } from "./signature.ts";
import { systemClock, systemTimers } from "./system_time.ts";

const SIZE = 4;
const keys: KeyPair[] = Array.from({ length: SIZE }, (_, i) =>
  generateKeyPair(new Uint8Array(32).fill(i + 11)),
);
const committee = Committee.fromStakes(
  keys.map(() => 1),
  keys.map((k) => k.publicKey),
);

/**
 * A store that checks, at every write, what recovery relies on: our own
 * block's ancestors and a commit's blocks are stored by the time the write
 * that holds them completes. Counts writes and blocks written.
 */
class CheckedStore extends InMemoryConsensusStore {
  writes = 0;
  blocksWritten = 0;

  override async write(batch: ConsensusWriteBatch): Promise<void> {
    await super.write(batch);
    this.writes++;
    this.blocksWritten += batch.blocks.length;
    const needed = [
      ...(batch.ownLastBlock?.ancestors ?? []).filter((ref) => ref.round > 0),
      ...batch.commits.flatMap((c) => c.blocks),
    ];
    assert.ok(
      this.readBlocksSync(needed).every((b) => b !== null),
      "an own block's ancestors and a commit's blocks are stored with it",
    );
  }
}

class LocalNet {
  readonly authorities: (Authority | null)[] = keys.map(() => null);
  readonly stores = keys.map(() => new CheckedStore());
  readonly commits: CommittedSubDag[][] = keys.map(() => []);
  readonly broadcast: Block[][] = keys.map(() => []);
  readonly logs: string[][] = keys.map(() => []);
  readonly fatal: unknown[] = [];

  /** Peers serve fetched blocks only above their GC round, as if their stores were pruned. */
  pruned = false;

  constructor(readonly options: Partial<AuthorityOptions>) {}

  private peer(peer: number): Authority {
    const target = this.authorities[peer];
    if (target === null || target === undefined) throw new Error(`authority ${peer} is down`);
    return target;
  }

  network(i: number): ConsensusNetwork {
    return {
      broadcastBlock: (block) => {
        this.broadcast[i]!.push(block);
        for (let j = 0; j < SIZE; j++)
          if (j !== i) setImmediate(() => this.authorities[j]?.handleBlock(i, block));
      },
      fetchBlocks: async (peer, refs, rounds) => {
        const target = this.peer(peer);
        const kept = this.pruned ? refs.filter((r) => r.round > target.core.dag.gcRound) : refs;
        return target.handleFetchBlocks(i, kept, rounds);
      },
      fetchLatestBlocks: async (peer, authors) => this.peer(peer).handleFetchLatestBlocks(i, authors),
      fetchCommits: async (peer, from, to) => this.peer(peer).handleFetchCommits(i, from, to),
    };
  }

  async start(i: number): Promise<Authority> {
    const logs = this.logs[i]!;
    const log: ConsensusLogger = {
      info: (_fields, message) => logs.push(message),
      warn: (_fields, message) => logs.push(message),
    };
    const authority = await Authority.start({
      committee,
      ownIndex: i,
      signer: ed25519Signer(keys[i]!.secretKey),
      store: this.stores[i]!,
      network: this.network(i),
      clock: systemClock,
      timers: systemTimers,
      transactions: null,
      onCommit: (subDag) => {
        // The commit is persisted before it is handed on.
        assert.ok((this.stores[i]!.readLastCommitSync()?.index ?? 0) >= subDag.commit.index);
        this.commits[i]!.push(subDag);
      },
      onFatal: (error) => this.fatal.push(error),
      options: this.options,
      log,
    });
    this.authorities[i] = authority;
    return authority;
  }

  async stop(i: number): Promise<void> {
    const authority = this.authorities[i];
    this.authorities[i] = null;
    await authority?.stop();
  }

  async stopAll(): Promise<void> {
    for (let i = 0; i < SIZE; i++) await this.stop(i);
  }

  digests(i: number): string[] {
    return this.commits[i]!.map((c) => Buffer.from(c.digest).toString("hex"));
  }

  assertAgreement(): void {
    assert.deepEqual(this.fatal, []);
    const sequences = keys.map((_, i) => this.digests(i));
    const longest = sequences.reduce((a, b) => (b.length > a.length ? b : a));
    for (const [i, s] of sequences.entries())
      assert.deepEqual(s, longest.slice(0, s.length), `authority ${i} diverges`);
  }

  assertNoEquivocation(i: number): void {
    const byRound = new Map<number, string>();
    for (const block of this.broadcast[i]!) {
      const digest = Buffer.from(blockDigest(block)).toString("hex");
      const seen = byRound.get(block.round);
      assert.ok(
        seen === undefined || seen === digest,
        `authority ${i} signed two blocks at round ${block.round}`,
      );
      byRound.set(block.round, digest);
    }
  }
}

async function waitFor(condition: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMs) assert.fail(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const options: Partial<AuthorityOptions> = {
  core: {
    leaderSchedule: "round-robin",
    leaderTimeoutMs: 100,
    minRoundDelayMs: 5,
    rebroadcastIntervalMs: 200,
  },
  synchronizer: { requestTimeoutMs: 300 },
  ownBlockSyncRetryMs: 50,
};

describe("Authority", () => {
  it("four authorities commit the same sequence, persisting before handing commits on", async (t) => {
    const net = new LocalNet(options);
    t.after(() => net.stopAll());
    for (let i = 0; i < SIZE; i++) await net.start(i);
    await waitFor(() => net.commits.every((c) => c.length >= 20), "20 commits each");
    await net.stopAll();
    net.assertAgreement();
    for (let i = 0; i < SIZE; i++) net.assertNoEquivocation(i);
    // Peers' blocks ride along with our own block or a commit instead of taking a write each.
    for (const store of net.stores) assert.ok(store.writes < store.blocksWritten * 0.75);
  });

  it("restarts from its store without equivocating and catches up", async (t) => {
    const net = new LocalNet(options);
    t.after(() => net.stopAll());
    for (let i = 0; i < SIZE; i++) await net.start(i);
    await waitFor(() => net.commits[3]!.length >= 10, "commits before the crash");
    await net.stop(3);
    const lastRound = net.stores[3]!.readOwnLastBlockSync()!.round;
    const othersBefore = net.commits[0]!.length;
    await waitFor(() => net.commits[0]!.length >= othersBefore + 10, "the others go on without it");
    const restarted = await net.start(3);
    assert.ok(restarted.core.lastProposedRound >= lastRound);
    assert.equal(net.broadcast[3]!.at(-1)!.round >= lastRound, true, "re-broadcast its last block");
    await waitFor(() => restarted.core.lastProposedRound > lastRound + 10, "proposes again");
    await waitFor(() => net.commits[3]!.length >= net.commits[0]!.length - 5, "catches up on commits");
    await net.stopAll();
    net.assertAgreement();
    net.assertNoEquivocation(3);
  });

  it("after losing its disk, syncs its last block from peers and never re-signs a round", async (t) => {
    const net = new LocalNet(options);
    t.after(() => net.stopAll());
    for (let i = 0; i < SIZE; i++) await net.start(i);
    await waitFor(() => net.commits[2]!.length >= 10, "commits before the crash");
    await net.stop(2);
    // A machine that lost its disk takes longer to come back than the network takes to deliver its last block.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const lastRound = net.stores[2]!.readOwnLastBlockSync()!.round;
    net.stores[2]!.wipe();
    net.commits[2] = [];
    const restarted = await net.start(2);
    await waitFor(() => net.logs[2]!.includes("synced own last block from peers"), "own block sync");
    await waitFor(() => restarted.core.lastProposedRound > lastRound + 5, "proposes above its old round");
    await net.stopAll();
    net.assertNoEquivocation(2);
    net.assertAgreement();
  });

  it("a node far behind catches up through certified commits", async (t) => {
    const net = new LocalNet({
      ...options,
      core: { ...options.core, gcDepthRounds: 4 },
      commitSync: { lagRounds: 8, requestTimeoutMs: 500 },
    });
    t.after(() => net.stopAll());
    net.pruned = true;
    for (let i = 0; i < SIZE; i++) await net.start(i);
    await waitFor(() => net.commits[1]!.length >= 3, "commits before the crash");
    await net.stop(1);
    const before = net.commits[0]!.length;
    await waitFor(() => net.commits[0]!.length >= before + 40, "the others move far ahead");
    await net.start(1);
    await waitFor(() => net.logs[1]!.includes("synced commits"), "commit sync");
    await waitFor(() => net.commits[1]!.length >= net.commits[0]!.length - 5, "caught up");
    await net.stopAll();
    net.assertAgreement();
  });
});
