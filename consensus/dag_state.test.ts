import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DagState } from "./dag_state.ts";
import { verifiedGenesis } from "./genesis.ts";
import { parseDag } from "./test_dag.ts";
import { VerifiedBlock } from "./verified_block.ts";

function load(text: string) {
  const dag = parseDag(text);
  const state = new DagState(dag.committee, verifiedGenesis(dag.committee));
  const byName = (name: string) => state.get(new VerifiedBlock(dag.block(name)!).ref)!;
  for (const block of dag.blocks) state.accept(new VerifiedBlock(block));
  return { dag, state, byName };
}

describe("DagState", () => {
  it("indexes blocks by slot and round and resolves parents", () => {
    const { state, byName } = load("Round 0 : { 4 }, Round 1 : { * }, Round 2 : { A -> [-C1], B -> [*] }");
    assert.equal(state.highestAcceptedRound, 2);
    assert.equal(state.blocksAtRound(2).length, 2);
    assert.equal(state.blocksAtSlot(2, 0).length, 1);
    assert.deepEqual(
      byName("A2").parents.map((p) => p?.author),
      [0, 1, 3],
    );
    assert.equal(state.lastBlockOf(0).round, 2);
    assert.equal(state.lastBlockOf(2).round, 1);
    assert.equal(state.lastBlockBelow(0, 2)!.round, 1);
  });

  it("refuses a block whose ancestors are missing (an invariant, not an input error)", () => {
    const dag = parseDag("Round 0 : { 4 }, Round 1 : { * }, Round 2 : { * }");
    const state = new DagState(dag.committee, verifiedGenesis(dag.committee));
    const a2 = dag.block("A2")!;
    assert.equal(state.ancestorsPresent(new VerifiedBlock(a2)), false);
    assert.throws(() => state.accept(new VerifiedBlock(a2)), /missing ancestor/);
  });

  it("records equivocation evidence", () => {
    const { state } = load("Round 0 : { 4 }, Round 1 : { A -> [*], A' -> [-B0], B -> [*] }");
    assert.equal(state.blocksAtSlot(1, 0).length, 2);
    assert.equal(state.equivocations.length, 1);
    assert.equal(state.equivocations[0]!.author, 0);
  });

  it("collects the ancestors of a block at a lower round", () => {
    const { state, byName } = load(`
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { A -> [-D1], B -> [-D1], C -> [-D1], D -> [*] }
      Round 3 : { A -> [A2, B2] }`);
    const names = (blocks: VerifiedBlock[]) => blocks.map((b) => `${b.author}/${b.round}`).sort();
    assert.deepEqual(names(state.ancestorsAtRound(byName("A3"), 1)), ["0/1", "1/1", "2/1"]);
    assert.deepEqual(names(state.ancestorsAtRound(byName("A3"), 3)), ["0/3"]);
  });

  it("evicts blocks at or below the GC round and treats their references as present", () => {
    const dag = parseDag("Round 0 : { 4 }, Round 1 : { * }, Round 2 : { * }, Round 3 : { * }");
    const state = new DagState(dag.committee, verifiedGenesis(dag.committee));
    const blocks = dag.blocks.map((b) => new VerifiedBlock(b));
    for (const b of blocks.filter((b) => b.round <= 2)) state.accept(b);
    state.setGcRound(2);
    assert.equal(state.blocksAtRound(1).length, 0);
    assert.equal(state.blocksAtRound(2).length, 0);
    assert.equal(state.size, 4, "genesis stays");
    const a3 = blocks.find((b) => b.round === 3)!;
    assert.ok(state.ancestorsPresent(a3));
    state.accept(a3);
    assert.deepEqual(a3.parents, [undefined, undefined, undefined, undefined]);
    assert.throws(() => state.accept(blocks[0]!), /GC round/);
  });
});
