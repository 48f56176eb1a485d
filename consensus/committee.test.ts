import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { authorityName, Committee } from "./committee.ts";
import { StakeAggregator } from "./stake_aggregator.ts";

describe("Committee", () => {
  it("has 2f+1 quorum and f+1 validity for uniform stake", () => {
    for (const [n, quorum, validity] of [
      [1, 1, 1],
      [4, 3, 2],
      [7, 5, 3],
      [10, 7, 4],
      [100, 67, 34],
    ] as const) {
      const committee = Committee.uniform(n);
      assert.equal(committee.quorumThreshold, quorum, `quorum for n=${n}`);
      assert.equal(committee.validityThreshold, validity, `validity for n=${n}`);
    }
  });

  it("weighs thresholds by stake", () => {
    const committee = Committee.fromStakes([5, 1, 1, 1]);
    assert.equal(committee.totalStake, 8);
    assert.equal(committee.faultyStakeMax, 2);
    assert.equal(committee.quorumThreshold, 6);
    const aggregator = new StakeAggregator(committee);
    assert.equal(aggregator.add(0), false);
    assert.equal(aggregator.add(1), true);
  });

  it("property: two quorums intersect in more than the faulty stake", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 20 }), (stakes) => {
        const c = Committee.fromStakes(stakes);
        // |Q1 ∩ Q2| >= 2q - T > f, so every two quorums share an honest authority.
        assert.ok(2 * c.quorumThreshold - c.totalStake > c.faultyStakeMax);
        assert.ok(c.validityThreshold > c.faultyStakeMax);
        assert.ok(c.quorumThreshold <= c.totalStake);
      }),
    );
  });

  it("counts an authority's stake once however often it is added", () => {
    const committee = Committee.uniform(4);
    const aggregator = new StakeAggregator(committee);
    for (let i = 0; i < 5; i++) aggregator.add(2);
    assert.equal(aggregator.stake, 1);
    assert.equal(aggregator.reached, false);
  });

  it("names authorities A..Z then [n]", () => {
    assert.equal(authorityName(0), "A");
    assert.equal(authorityName(25), "Z");
    assert.equal(authorityName(26), "[26]");
  });
});
