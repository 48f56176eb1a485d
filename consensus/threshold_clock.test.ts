import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Committee } from "./committee.ts";
import { ThresholdClock } from "./threshold_clock.ts";

describe("ThresholdClock", () => {
  it("advances once 2f+1 stake is seen at the current round", () => {
    const clock = new ThresholdClock(Committee.uniform(4));
    for (const author of [0, 1]) assert.equal(clock.add(0, author), false);
    assert.equal(clock.add(0, 2), true);
    assert.equal(clock.round, 1);
    assert.equal(clock.add(0, 3), false, "late blocks of an old round change nothing");
    clock.add(1, 0);
    clock.add(1, 0);
    clock.add(1, 1);
    assert.equal(clock.round, 1, "an author counts once");
    clock.add(1, 3);
    assert.equal(clock.round, 2);
  });

  it("jumps to the round of a block from the future", () => {
    const clock = new ThresholdClock(Committee.uniform(4));
    assert.equal(clock.add(7, 1), true);
    assert.equal(clock.round, 7);
    clock.add(7, 2);
    clock.add(7, 3);
    assert.equal(clock.round, 8);
  });

  it("weighs by stake", () => {
    const clock = new ThresholdClock(Committee.fromStakes([5, 1, 1, 1]));
    clock.add(0, 0);
    assert.equal(clock.round, 0);
    clock.add(0, 3);
    assert.equal(clock.round, 1);
  });
});
