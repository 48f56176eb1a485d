import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BlockManager } from "./block_manager.ts";
import { refKey } from "./block_ref.ts";
import { BlockVerifier } from "./block_verifier.ts";
import { DagState } from "./dag_state.ts";
import { verifiedGenesis } from "./genesis.ts";
import { parseDag } from "./test_dag.ts";
import { VerifiedBlock } from "./verified_block.ts";

const text = "Round 0 : { 4 }, Round 1 : { * }, Round 2 : { * }, Round 3 : { * }";

function setup(suspendedMax?: number) {
  const dag = parseDag(text);
  const state = new DagState(dag.committee, verifiedGenesis(dag.committee));
  const manager = new BlockManager(state, new BlockVerifier(dag.committee), suspendedMax);
  const block = (name: string) => new VerifiedBlock(dag.block(name)!);
  return { dag, state, manager, block };
}

describe("BlockManager", () => {
  it("holds a block back until its ancestors arrive, then accepts in causal order", () => {
    const { manager, block, state, dag } = setup();
    const first = manager.addBlocks([block("A2")], 3);
    assert.equal(first.accepted.length, 0);
    assert.equal(manager.waitingCount, 1);
    const missing = manager.missingBlocks();
    assert.equal(missing.length, 4);
    const a1 = missing.find((m) => m.ref.author === 0)!;
    assert.deepEqual(
      a1.peers,
      [0, 3],
      "the child's author, then the peer that sent it (A1's own author is A too)",
    );
    const b1 = missing.find((m) => m.ref.author === 1)!;
    assert.deepEqual(b1.peers, [0, 3, 1], "the child's author first, the missing block's author last");
    const rest = manager.addBlocks(["A1", "B1", "C1", "D1"].map(block));
    assert.equal(rest.accepted.length, 5);
    assert.equal(dag.nameOf(rest.accepted.at(-1)!.key), "A2", "the child comes after its ancestors");
    assert.equal(manager.waitingCount, 0);
    assert.equal(manager.missingBlocks().length, 0);
    assert.equal(state.highestAcceptedRound, 2);
  });

  it("ignores duplicates", () => {
    const { manager, block } = setup();
    assert.equal(manager.addBlocks([block("A1")]).accepted.length, 1);
    assert.equal(manager.addBlocks([block("A1")]).accepted.length, 0);
  });

  it("rejects a block earlier than its ancestors, with a typed error", () => {
    const { manager, block, dag } = setup();
    manager.addBlocks(["A1", "B1", "C1", "D1"].map(block));
    const a2 = dag.block("A2")!;
    const early = new VerifiedBlock({ ...a2, timestampMs: 10 });
    const result = manager.addBlocks([early]);
    assert.equal(result.accepted.length, 0);
    assert.equal(result.rejected[0]!.code, "TIMESTAMP_BEFORE_ANCESTOR");
  });

  it("bounds the waiting blocks per author", () => {
    const { manager, block } = setup(1);
    manager.addBlocks([block("A2")]);
    manager.addBlocks([block("A3")]);
    assert.equal(manager.waitingCount, 1);
  });

  it("releases waiting blocks whose missing ancestors fall below a new GC round", () => {
    const { manager, block, state } = setup();
    manager.addBlocks(["A1", "B1", "C1"].map(block));
    // Every round-2 block references D1, which never arrives.
    manager.addBlocks(["A2", "B2", "C2"].map(block));
    assert.equal(manager.waitingCount, 3);
    assert.ok(manager.missingBlocks().some((m) => refKey(m.ref) === block("D1").key));
    state.setGcRound(1);
    const released = manager.onGcRoundAdvanced();
    assert.equal(released.accepted.length, 3);
    assert.equal(manager.missingBlocks().length, 0);
  });
});
