import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesEqual, commitDigest, GENESIS_COMMIT_DIGEST } from "../spec/index.ts";
import { committerForDag } from "./conformance.ts";
import { chainTipOf, GENESIS_CHAIN_TIP, Linearizer } from "./linearizer.ts";
import { parseDag } from "./test_dag.ts";
import { VerifiedBlock } from "./verified_block.ts";

function setup(text: string) {
  const dag = parseDag(text);
  const { state } = committerForDag(dag);
  const get = (name: string) => state.get(new VerifiedBlock(dag.block(name)!).ref)!;
  const names = (refs: readonly { round: number; author: number; digest: Uint8Array }[]) =>
    refs.map((r) =>
      dag.nameOf(
        new VerifiedBlock(
          dag.blocks.find(
            (b) =>
              b.round === r.round &&
              b.author === r.author &&
              bytesEqual(new VerifiedBlock(b).digest, r.digest),
          )!,
        ).key,
      ),
    );
  return { dag, state, get, names };
}

describe("Linearizer", () => {
  it("commits the leader's uncommitted history in (round, author) order, leader last", () => {
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { A -> [*], B -> [*], C -> [-D1], D -> [*] }
      Round 3 : { * }`);
    const linearizer = new Linearizer(50);
    const first = linearizer.commit(t.get("C2"), GENESIS_CHAIN_TIP);
    assert.deepEqual(t.names(first.commit.blocks), ["A1", "B1", "C1", "C2"]);
    assert.equal(first.commit.index, 1);
    assert.ok(bytesEqual(first.commit.previousDigest, GENESIS_COMMIT_DIGEST));
    assert.ok(bytesEqual(first.digest, commitDigest(first.commit)));
    assert.equal(first.blocks.at(-1), t.get("C2").block);

    const second = linearizer.commit(t.get("D3"), chainTipOf(first.commit, first.digest));
    // Already committed blocks are left out; D1 comes in now.
    assert.deepEqual(t.names(second.commit.blocks), ["D1", "A2", "B2", "D2", "D3"]);
    assert.equal(second.commit.index, 2);
    assert.ok(bytesEqual(second.commit.previousDigest, first.digest));
    assert.ok(second.verifiedBlocks.every((b) => b.committed));
  });

  it("leaves out blocks at or below the commit's GC round", () => {
    const t = setup("Round 0 : { 4 }, Round 1 : { * }, Round 2 : { * }, Round 3 : { * }, Round 4 : { * }");
    const commit = new Linearizer(2).commit(t.get("A4"), GENESIS_CHAIN_TIP);
    assert.ok(commit.commit.blocks.every((b) => b.round > 2));
    assert.equal(commit.commit.blocks.length, 1 + 4);
  });

  it("never lets commit timestamps go backwards", () => {
    const t = setup("Round 0 : { 4 }, Round 1 : { * }");
    const tip = { ...GENESIS_CHAIN_TIP, timestampMs: 5_000 };
    assert.equal(new Linearizer(50).commit(t.get("A1"), tip).commit.timestampMs, 5_000);
  });
});
