import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Committee } from "./committee.ts";
import { LeaderSchedule } from "./leader_schedule.ts";
import { buildSwapTable, ReputationScores } from "./leader_scoring.ts";

describe("LeaderSchedule", () => {
  it("round-robin: the leader of round r is authority r mod n", () => {
    const schedule = new LeaderSchedule(Committee.uniform(7), "round-robin");
    assert.deepEqual(
      [0, 1, 6, 7, 15].map((r) => schedule.elect(r)),
      [0, 1, 6, 0, 1],
    );
  });

  it("stake-weighted: deterministic, and each authority leads in proportion to its stake", () => {
    const committee = Committee.fromStakes([1, 2, 3, 4]);
    const a = new LeaderSchedule(committee);
    const b = new LeaderSchedule(committee);
    const counts = [0, 0, 0, 0];
    const rounds = 40_000;
    for (let round = 0; round < rounds; round++) {
      const leader = a.elect(round);
      assert.equal(leader, b.elect(round));
      counts[leader]!++;
    }
    for (let i = 0; i < 4; i++) {
      const expected = (rounds * (i + 1)) / 10;
      assert.ok(
        Math.abs(counts[i]! - expected) < expected * 0.05,
        `authority ${i}: ${counts[i]} vs ${expected}`,
      );
    }
  });

  it("swaps out an authority whose leaders were never committed", () => {
    const committee = Committee.uniform(4);
    const scores = new ReputationScores(committee, 12);
    // D (3) crashed: no commit holds a block of it.
    const ref = (author: number) => ({ round: 1, author, digest: new Uint8Array(32) });
    for (let index = 1; index <= 12; index++)
      scores.record({ index, blocks: [ref(0), ref(1), ref(1), ref(2)] });
    assert.equal(scores.commitsUntilUpdate, 0);
    const table = buildSwapTable(committee, scores.take());
    assert.deepEqual(table.bad, [3]);
    assert.deepEqual(table.good, [0]);
    const schedule = new LeaderSchedule(committee, "round-robin");
    schedule.setSwapTable(table);
    for (let round = 0; round < 100; round++) assert.notEqual(schedule.elect(round), 3);
    assert.equal(schedule.elect(5), 1, "good leaders keep their own rounds");
  });

  it("does not swap when every authority scores the same, or nearly", () => {
    assert.deepEqual(buildSwapTable(Committee.uniform(4), [3, 3, 3, 3]).bad, []);
    assert.deepEqual(buildSwapTable(Committee.uniform(4), [30, 29, 16, 30]).bad, []);
    assert.deepEqual(buildSwapTable(Committee.uniform(4), [30, 29, 14, 30]).bad, [2]);
  });

  it("counts an authority once per commit however many of its blocks the commit holds", () => {
    const scores = new ReputationScores(Committee.uniform(4), 2);
    const ref = (author: number) => ({ round: 1, author, digest: new Uint8Array(32) });
    scores.record({ index: 1, blocks: [ref(0), ref(0), ref(1)] });
    scores.record({ index: 2, blocks: [ref(0)] });
    assert.deepEqual(scores.take(), [2, 1, 0, 0]);
  });

  it("property: bad and good are disjoint, each at most f stake, and bad scores below the best", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 20 })), {
          minLength: 1,
          maxLength: 12,
        }),
        (entries) => {
          const committee = Committee.fromStakes(entries.map(([stake]) => stake));
          const scores = entries.map(([, score]) => score);
          const table = buildSwapTable(committee, scores);
          const stakeOf = (list: readonly number[]) => list.reduce((s, a) => s + committee.stake(a), 0);
          assert.ok(stakeOf(table.bad) <= committee.faultyStakeMax);
          assert.ok(table.bad.every((a) => !table.good.includes(a)));
          assert.ok(table.bad.every((a) => 2 * scores[a]! < Math.max(...scores)));
          if (table.bad.length > 0) {
            assert.ok(table.good.length > 0);
            assert.ok(table.good.length === 1 || stakeOf(table.good) <= committee.faultyStakeMax);
          }
        },
      ),
    );
  });
});
