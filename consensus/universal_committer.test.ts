/**
 * Randomised delivery: the same DAG, delivered in 100 random orders and
 * batch sizes with the committer run after every batch, must yield the
 * commit sequence that one call on the whole DAG yields. Replay a failure
 * with CONSENSUS_TEST_SEED=<seed>.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Block } from "../spec/index.ts";
import { BlockManager } from "./block_manager.ts";
import type { Slot } from "./block_ref.ts";
import { Committee } from "./committee.ts";
import { DagState } from "./dag_state.ts";
import { verifiedGenesis } from "./genesis.ts";
import { LeaderSchedule, type LeaderScheduleKind } from "./leader_schedule.ts";
import type { DecidedLeader } from "./leader_status.ts";
import { randomDag } from "./random_dag.ts";
import { Rng, testSeed } from "./sim/rng.ts";
import { UniversalCommitter } from "./universal_committer.ts";
import { VerifiedBlock } from "./verified_block.ts";

function describeDecision(d: DecidedLeader): string {
  return d.kind === "commit" ? `commit ${d.block.key}` : `skip ${d.slot.round}/${d.slot.author}`;
}

function commitSequence(
  committee: Committee,
  kind: LeaderScheduleKind,
  batches: readonly (readonly Block[])[],
): string[] {
  const dag = new DagState(committee, verifiedGenesis(committee));
  const manager = new BlockManager(dag, null);
  const schedule = new LeaderSchedule(committee, kind);
  const committer = new UniversalCommitter(committee, dag, schedule);
  let lastDecided: Slot = { round: 0, author: schedule.elect(0) };
  const sequence: string[] = [];
  for (const batch of batches) {
    manager.addBlocks(batch.map((b) => new VerifiedBlock(b)));
    const decided = committer.tryDecide(lastDecided);
    if (decided.length === 0) continue;
    sequence.push(...decided.map(describeDecision));
    lastDecided = decided.at(-1)!.slot;
    committer.prune(lastDecided.round);
  }
  return sequence;
}

describe("universal committer under random delivery orders", () => {
  const seed = testSeed("CONSENSUS_TEST_SEED");
  it(`commits the same sequence in 100 random orders (seed ${seed})`, (t) => {
    t.diagnostic(`replay with CONSENSUS_TEST_SEED=${seed}`);
    const rng = new Rng(seed);
    const size = rng.int(4, 7);
    const committee = Committee.fromStakes(Array.from({ length: size }, () => rng.int(1, 3)));
    const kind: LeaderScheduleKind = rng.chance(0.5) ? "round-robin" : "stake-weighted";
    // The equivocator is Byzantine, and the commit rules agree across orders only while Byzantine
    // stake is at most f: with random stakes, authority 0 can hold more, so the least-staked equivocates.
    const equivocator = committee.authorities
      .map((_, author) => author)
      .reduce((a, b) => (committee.stake(b) < committee.stake(a) ? b : a));
    assert.ok(committee.stake(equivocator) <= committee.faultyStakeMax);
    // A random DAG can leave a chain of leaders undecided (each with votes short of certificates
    // and blame short of a quorum, its anchor undecided too), and then decides little: draw another.
    let blocks: Block[] = [];
    let reference: string[] = [];
    for (let attempt = 1; reference.length < 5; attempt++) {
      assert.ok(attempt <= 10, `seed ${seed}: none of 10 random DAGs decided 5 leaders`);
      blocks = randomDag(committee, rng, { rounds: 30, equivocators: [equivocator] });
      reference = commitSequence(committee, kind, [blocks]);
    }
    for (let order = 0; order < 100; order++) {
      const shuffled = rng.shuffle([...blocks]);
      const batches: Block[][] = [];
      for (let i = 0; i < shuffled.length; ) {
        const size = rng.int(1, 12);
        batches.push(shuffled.slice(i, i + size));
        i += size;
      }
      const sequence = commitSequence(committee, kind, batches);
      // Every order ends with the whole DAG, so it must decide exactly the reference sequence.
      assert.deepEqual(sequence, reference, `seed ${seed}, order ${order}`);
    }
  });

  it("property: any prefix of the creation order commits a prefix of the full sequence", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 1, max: 100 }),
        (dagSeed, cutPercent) => {
          const rng = new Rng(dagSeed);
          const committee = Committee.uniform(rng.int(4, 7));
          const blocks = randomDag(committee, rng, { rounds: 15, equivocators: [1] });
          const full = commitSequence(committee, "round-robin", [blocks]);
          const cut = Math.floor((blocks.length * cutPercent) / 100);
          const partial = commitSequence(committee, "round-robin", [blocks.slice(0, cut)]);
          assert.deepEqual(partial, full.slice(0, partial.length), `dag seed ${dagSeed}, cut ${cut}`);
        },
      ),
      { numRuns: 60 },
    );
  });
});
