/**
 * Several cores wired together in one process with a manual clock: every
 * output is persisted to the core's in-memory store before its blocks are
 * delivered to the others, as the authority loop does.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Block, bytesEqual, generateKeyPair, type KeyPair } from "../spec/index.ts";
import { refKey } from "./block_ref.ts";
import { BlockVerifier } from "./block_verifier.ts";
import { Committee } from "./committee.ts";
import { Core, type CoreOptions } from "./core.ts";
import type { CommittedSubDag, TransactionSource } from "./interface.ts";
import { InMemoryConsensusStore } from "./memory_store.ts";
import { loadRecoveredStateSync } from "./recovery.ts";
import { ed25519Signer } from "./signature.ts";

const keys: KeyPair[] = Array.from({ length: 4 }, (_, i) => generateKeyPair(new Uint8Array(32).fill(i + 1)));

class Mempool implements TransactionSource {
  pending: Uint8Array[] = [];
  committed: Uint8Array[] = [];
  dropped: Uint8Array[] = [];
  pull(_maxBytes: number, maxCount: number): Uint8Array[] {
    return this.pending.splice(0, maxCount);
  }
  notify(_block: unknown, transactions: readonly Uint8Array[], outcome: "committed" | "dropped"): void {
    (outcome === "committed" ? this.committed : this.dropped).push(...transactions);
  }
}

class Network {
  nowMs = 0;
  readonly committee = Committee.fromStakes(
    [1, 1, 1, 1],
    keys.map((k) => k.publicKey),
  );
  readonly verifier = new BlockVerifier(this.committee);
  readonly stores = keys.map(() => new InMemoryConsensusStore());
  readonly mempools = keys.map(() => new Mempool());
  readonly commits: CommittedSubDag[][] = keys.map(() => []);
  readonly sent: Block[][] = keys.map(() => []);
  readonly cores: (Core | null)[] = keys.map(() => null);
  private queue: { to: number; block: Block }[] = [];
  private readonly fetched = new Set<string>();

  constructor(
    readonly options: Partial<CoreOptions>,
    readonly down = new Set<number>(),
  ) {
    keys.forEach((_, i) => {
      if (!down.has(i)) this.start(i);
    });
  }

  start(i: number, awaitOwnBlockSync = false): Core {
    const recovered = loadRecoveredStateSync(this.stores[i]!, {
      gcDepthRounds: 50,
      commitsPerScheduleUpdate: 300,
      ...this.options,
    });
    const core = new Core({
      committee: this.committee,
      ownIndex: i,
      signer: ed25519Signer(keys[i]!.secretKey),
      clock: { nowMs: () => this.nowMs },
      transactions: this.mempools[i]!,
      verifier: this.verifier,
      options: this.options,
      ...(recovered !== null ? { recovered } : {}),
      awaitOwnBlockSync,
    });
    this.cores[i] = core;
    this.flush(i);
    return core;
  }

  flush(i: number): void {
    const core = this.cores[i]!;
    const out = core.takeOutput();
    this.stores[i]!.writeSync({
      blocks: out.blocks,
      commits: out.commits.map((c) => c.commit),
      ownLastBlock: out.ownLastBlock,
    });
    this.commits[i]!.push(...out.commits);
    for (const block of out.broadcast) {
      this.sent[i]!.push(block);
      for (let to = 0; to < keys.length; to++) if (to !== i) this.queue.push({ to, block });
    }
  }

  deliver(): void {
    while (this.queue.length > 0) {
      while (this.queue.length > 0) {
        const { to, block } = this.queue.shift()!;
        const core = this.cores[to];
        if (core === null || core === undefined) continue;
        core.addBlocks([this.verifier.verify(block)], block.author);
        this.flush(to);
      }
      // A stand-in for the synchronizer: fetch missing ancestors from the peers' stores.
      this.cores.forEach((core, i) => {
        if (core === null) return;
        for (const { ref, peers } of core.missingBlocks()) {
          const key = `${i}/${refKey(ref)}`;
          if (this.fetched.has(key)) continue;
          this.fetched.add(key);
          const found = peers.map((p) => this.stores[p]!.readBlocksSync([ref])[0]).find((b) => b != null);
          if (found != null) this.queue.push({ to: i, block: found });
        }
      });
    }
  }

  /** Advances time to the earliest wake-up (at most `maxMs` ahead), ticks every core and delivers everything. */
  step(maxMs = 1_000): void {
    const live = this.cores.filter((c): c is Core => c !== null);
    const wake = Math.min(...live.map((c) => c.nextWakeupMs()));
    this.nowMs = Math.max(this.nowMs + 1, Math.min(wake, this.nowMs + maxMs));
    this.cores.forEach((core, i) => {
      if (core === null) return;
      core.tick();
      this.flush(i);
    });
    this.deliver();
  }

  run(steps: number): void {
    this.deliver();
    for (let i = 0; i < steps; i++) this.step();
  }

  crash(i: number): void {
    this.cores[i] = null;
  }

  sequence(i: number): string[] {
    return this.commits[i]!.map((c) => Buffer.from(c.digest).toString("hex"));
  }
}

const fast: Partial<CoreOptions> = {
  leaderSchedule: "round-robin",
  minRoundDelayMs: 10,
  leaderTimeoutMs: 100,
};

function assertPrefixConsistent(net: Network): void {
  const sequences = keys.map((_, i) => net.sequence(i));
  const longest = sequences.reduce((a, b) => (b.length > a.length ? b : a));
  for (const [i, s] of sequences.entries())
    assert.deepEqual(s, longest.slice(0, s.length), `authority ${i} diverges`);
}

describe("Core", () => {
  it("four cores propose, commit every round and agree on the sequence", () => {
    const net = new Network(fast);
    net.run(40);
    for (let i = 0; i < 4; i++)
      assert.ok(net.commits[i]!.length >= 30, `authority ${i}: ${net.commits[i]!.length} commits`);
    assertPrefixConsistent(net);
    const first = net.commits[0]![0]!.commit;
    assert.equal(first.index, 1);
    assert.equal(first.leader.round, 1);
    assert.equal(first.leader.author, 1, "round-robin: B leads round 1");
  });

  it("waits for the leader, and proposes without it after the leader timeout", () => {
    const net = new Network(fast, new Set([2]));
    net.run(60);
    const proposals = net.sent[0]!;
    assert.ok(proposals.length > 10);
    // C (2) leads rounds 2, 6, 10, …: the round after each starts only once the timeout passed.
    const afterC = proposals.filter((b) => b.round % 4 === 3);
    const beforeC = proposals.filter((b) => b.round % 4 === 2);
    for (const late of afterC) {
      const prior = beforeC.find((b) => b.round === late.round - 1);
      if (prior !== undefined) assert.ok(late.timestampMs - prior.timestampMs >= 100, `round ${late.round}`);
    }
    assert.ok(net.commits[0]!.length > 10);
    assertPrefixConsistent(net);
  });

  it("includes mempool transactions and reports them committed", () => {
    const net = new Network(fast);
    const tx = Uint8Array.of(1, 2, 3);
    net.mempools[1]!.pending.push(tx);
    net.run(10);
    assert.deepEqual(net.mempools[1]!.committed, [tx]);
    const committed = net.commits[0]!.flatMap((c) => c.blocks).flatMap((b) => b.transactions);
    assert.ok(committed.some((t) => bytesEqual(t, tx)));
  });

  it("recovers after a restart without equivocating and re-sends its last block", () => {
    const net = new Network(fast);
    net.run(20);
    const before = net.cores[3]!;
    const lastRound = before.lastProposedRound;
    const commitsBefore = before.lastCommitIndex;
    net.crash(3);
    net.run(5);
    const sentBefore = net.sent[3]!.length;
    const restarted = net.start(3);
    assert.ok(restarted.lastProposedRound >= lastRound, "recovers its last proposal");
    assert.equal(restarted.lastCommitIndex, commitsBefore, "recovers its commit index");
    assert.equal(net.sent[3]![sentBefore]!.round, lastRound, "re-broadcasts its last block first");
    net.run(20);
    const rounds = net.sent[3]!.filter((b) => b.round > 0).map((b) => b.round);
    const distinct = new Map<number, string>();
    for (const block of net.sent[3]!) {
      const digest = Buffer.from(net.verifier.verify(block).digest).toString("hex");
      const seen = distinct.get(block.round);
      assert.ok(seen === undefined || seen === digest, `equivocated at round ${block.round}`);
      distinct.set(block.round, digest);
    }
    assert.ok(Math.max(...rounds) > lastRound + 5, "keeps proposing after the restart");
    assertPrefixConsistent(net);
    assert.ok(net.commits[3]!.length > commitsBefore);
  });

  it("after losing its disk, proposes only above the round its peers report", () => {
    const net = new Network(fast);
    net.run(15);
    const lastRound = net.cores[1]!.lastProposedRound;
    net.crash(1);
    net.stores[1]!.wipe();
    const sentBefore = net.sent[1]!.length;
    const core = net.start(1, true);
    net.run(3);
    assert.equal(net.sent[1]!.length, sentBefore, "no proposal before the sync");
    // Its own last block came back through the peers' references, and it builds on it.
    assert.equal(core.lastProposedRound, lastRound);
    core.setLastKnownProposedRound(lastRound);
    net.flush(1);
    net.run(10);
    const after = net.sent[1]!.filter((b) => b.round > 0 && b.round <= lastRound);
    const byRound = new Map<number, number>();
    for (const b of after) byRound.set(b.round, (byRound.get(b.round) ?? 0) + 1);
    assert.ok(
      [...byRound.values()].every((count) => count === 1),
      "one block per round",
    );
    assert.ok(core.lastProposedRound > lastRound);
  });

  it("stops electing a crashed authority once the reputation window closes", () => {
    const net = new Network({ ...fast, commitsPerScheduleUpdate: 12 }, new Set([3]));
    net.run(120);
    const leaders = net.commits[0]!.map((c) => c.commit.leader);
    assert.ok(leaders.length > 30);
    assert.ok(
      leaders.every((l) => l.author !== 3),
      "a crashed authority is never committed",
    );
    // After the first window every round has a live leader: no more skipped rounds.
    const afterSwap = leaders.slice(13).map((l) => l.round);
    for (let i = 1; i < afterSwap.length; i++)
      assert.equal(afterSwap[i], afterSwap[i - 1]! + 1, `gap after round ${afterSwap[i - 1]}`);
    const schedule = net.cores[0]!.schedule;
    assert.deepEqual(schedule.swapTable.bad, [3]);
    assertPrefixConsistent(net);
  });

  it("reports blocks of its own that fell below the GC round uncommitted as dropped", () => {
    const net = new Network({ ...fast, gcDepthRounds: 3 });
    // Authority 0's blocks reach nobody for a while: they are never referenced, so never committed.
    const tx = Uint8Array.of(9);
    net.mempools[0]!.pending.push(tx);
    const original = net.flush.bind(net);
    let isolate = true;
    net.flush = (i: number) => {
      if (i === 0 && isolate) {
        const out = net.cores[0]!.takeOutput();
        net.stores[0]!.writeSync({
          blocks: out.blocks,
          commits: out.commits.map((c) => c.commit),
          ownLastBlock: out.ownLastBlock,
        });
        net.commits[0]!.push(...out.commits);
        return;
      }
      original(i);
    };
    net.run(30);
    isolate = false;
    net.run(30);
    assert.deepEqual(net.mempools[0]!.dropped, [tx]);
    assert.deepEqual(net.mempools[0]!.committed, []);
  });
});
