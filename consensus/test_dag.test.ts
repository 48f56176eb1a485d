import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { blockDigest } from "../spec/index.ts";
import { refKey } from "./block_ref.ts";
import { DagParseError } from "./errors.ts";
import { parseDag } from "./test_dag.ts";

function ancestorNames(dag: ReturnType<typeof parseDag>, name: string): string[] {
  const block = dag.block(name);
  assert.ok(block, `block ${name}`);
  return block.ancestors.map((ref) => dag.nameOf(refKey(ref)) ?? "?");
}

describe("parseDag", () => {
  it("builds genesis and fully connected rounds", () => {
    const dag = parseDag("DAG { Round 0 : { 4 }, Round 1 : { * }, Round 2 : { * }, }");
    assert.equal(dag.genesis.length, 4);
    assert.equal(dag.blocks.length, 8);
    assert.deepEqual(ancestorNames(dag, "C2"), ["C1", "A1", "B1", "D1"]);
  });

  it("puts the own previous block first, then * in authority order, then named blocks", () => {
    const dag = parseDag(`
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { A -> [*], B -> [*], C -> [*] }
      Round 3 : {
        A -> [-B2],
        B -> [C2, A1],
        D -> [A2, B2, C2],
      }`);
    assert.deepEqual(ancestorNames(dag, "A3"), ["A2", "C2"]);
    assert.deepEqual(ancestorNames(dag, "B3"), ["B2", "C2", "A1"]);
    // D has no round-2 block: its own previous block is D1.
    assert.deepEqual(ancestorNames(dag, "D3"), ["D1", "A2", "B2", "C2"]);
    assert.equal(dag.block("D2"), undefined);
  });

  it("defines equivocating blocks with primes and lets later lists pick one", () => {
    const dag = parseDag(`
      Round 0 : { 4 }
      Round 1 : { A -> [*], B -> [*], C -> [*], C' -> [*], C'' -> [-D0], D -> [*] }
      Round 2 : { A -> [*], B -> [-C1, C1''], C -> [C1', A1], D -> [*] }
    `);
    const c = dag.block("C1")!;
    const c1 = dag.block("C1'")!;
    const c2 = dag.block("C1''")!;
    assert.notDeepEqual(blockDigest(c), blockDigest(c1), "same ancestors, distinct digests");
    assert.deepEqual(ancestorNames(dag, "C1''"), ["C0", "A0", "B0"]);
    assert.deepEqual(ancestorNames(dag, "A2"), ["A1", "B1", "C1", "D1"]);
    assert.deepEqual(ancestorNames(dag, "B2"), ["B1", "A1", "D1", "C1''"]);
    // C2's own previous block is the variant its list names.
    assert.deepEqual(ancestorNames(dag, "C2"), ["C1'", "A1"]);
    assert.ok(c2);
  });

  it("accepts several exclusions and mixes them with named blocks", () => {
    const dag = parseDag("Round 0 : { 4 }, Round 1 : { * }, Round 2 : { A -> [-C1, -D1, D0] }");
    assert.deepEqual(ancestorNames(dag, "A2"), ["A1", "B1", "D0"]);
  });

  it("rejects malformed text with typed errors", () => {
    const cases: [string, string][] = [
      ["Round 1 : { 4 }", "BAD_ROUND"],
      ["Round 0 : { 4 } Round 1 : { A -> [E0] }", "UNKNOWN_BLOCK"],
      ["Round 0 : { 4 } Round 1 : { E -> [*] }", "UNKNOWN_AUTHOR"],
      ["Round 0 : { 4 } Round 1 : { A -> [A1] }", "BAD_ROUND"],
      ["Round 0 : { 4 } Round 1 : { A' -> [*] }", "BAD_VARIANT"],
      ["Round 0 : { 4 } Round 2 : { * } Round 1 : { * }", "BAD_ROUND"],
      ["Round 0 : { 4 } Round 1 : { A -> [* }", "SYNTAX"],
      ["Round 0 : { 4 } Round 1 : { A => [*] }", "SYNTAX"],
      ["DAG { Round 0 : { 4 }", "SYNTAX"],
      ["Round 0 : { 4 } Round 2 : { A -> [-B0] }", "BAD_ROUND"],
    ];
    for (const [text, code] of cases) {
      assert.throws(
        () => parseDag(text),
        (error: unknown) => error instanceof DagParseError && error.code === code,
        text,
      );
    }
  });

  it("checks the genesis count against the stakes", () => {
    assert.throws(() => parseDag("Round 0 : { 4 }", { stakes: [1, 1, 1] }), DagParseError);
    assert.equal(parseDag("Round 0 : { 3 }", { stakes: [1, 2, 3] }).committee.totalStake, 6);
  });
});
