/**
 * One named test per commit rule, on hand-built DAGs. Waves are 3 rounds and
 * leaders round-robin: B1, C2, D3, A4, B5, … with four authorities.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BaseCommitter } from "./base_committer.ts";
import { committerForDag, formatDecision } from "./conformance.ts";
import type { LeaderStatus } from "./leader_status.ts";
import { parseDag } from "./test_dag.ts";

function setup(text: string, stakes?: number[]) {
  const dag = parseDag(text, stakes === undefined ? {} : { stakes });
  const built = committerForDag(dag);
  /** The base committer whose waves start at `round`. */
  const committerFor = (round: number): BaseCommitter => built.committer.committers[round % 3]!;
  const direct = (round: number): LeaderStatus => {
    const committer = committerFor(round);
    return committer.tryDirectDecide(committer.electLeader(round)!);
  };
  const show = (status: LeaderStatus): string =>
    status.kind === "undecided"
      ? "undecided"
      : `${formatDecision(dag, status)}${status.direct ? "" : " (indirect)"}`;
  return { dag, ...built, committerFor, direct, show };
}

describe("direct rule", () => {
  it("commits a leader with 2f+1 certificates in the decision round", () => {
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { A -> [*], B -> [*], C -> [*], D -> [-B1] }
      Round 3 : { A -> [*], B -> [*], C -> [*] }`);
    // Three votes (A2, B2, C2); A3, B3, C3 each hold all three: a quorum of certificates.
    assert.equal(t.show(t.direct(1)), "commit B1");
  });

  it("skips a leader blamed by 2f+1 voting-round blocks", () => {
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { A -> [-B1], B -> [*], C -> [-B1], D -> [-B1] }`);
    assert.equal(t.show(t.direct(1)), "skip B1");
  });

  it("skips a slot whose leader never produced a block", () => {
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { A -> [*], C -> [*], D -> [*] }
      Round 2 : { * }`);
    assert.equal(t.show(t.direct(1)), "skip B1");
  });

  it("leaves a leader undecided with neither 2f+1 certificates nor 2f+1 blame", () => {
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { A -> [*], B -> [*], C -> [-B1], D -> [-B1] }
      Round 3 : { * }
      Round 4 : { * }`);
    assert.equal(t.show(t.direct(1)), "undecided");
  });

  it("does not commit before 2f+1 decision-round blocks exist", () => {
    const t = setup("Round 0 : { 4 }, Round 1 : { * }, Round 2 : { * }, Round 3 : { A -> [*], B -> [*] }");
    assert.equal(t.show(t.direct(1)), "undecided");
  });

  it("counts a vote once per author: an equivocating voter cannot make a certificate", () => {
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { A -> [-B1], B -> [*], C -> [-B1], D -> [*], D' -> [*] }
      Round 3 : { A -> [B2, D2, D2'], B -> [B2, D2, D2'], C -> [B2, D2, D2'], D -> [B2, D2, D2'] }`);
    assert.equal(t.show(t.direct(1)), "undecided");
  });

  it("counts a certificate once per author: an equivocating certifier cannot make a quorum", () => {
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { * }
      Round 3 : { A -> [*], B -> [*], B' -> [*], C -> [-A2, -B2], D -> [-A2, -B2] }`);
    // A3, B3 and B3' are certificates, but only from authors A and B.
    assert.equal(t.show(t.direct(1)), "undecided");
  });

  it("counts blame once per author", () => {
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { A -> [-B1], A' -> [-B1, -C1], B -> [*], C -> [-B1], D -> [*] }`);
    assert.equal(t.show(t.direct(1)), "undecided");
  });

  it("weighs votes and certificates by stake", () => {
    const text = `
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { A -> [*], B -> [*], C -> [-B1], D -> [-B1] }
      Round 3 : { * }`;
    assert.equal(setup(text, [4, 1, 1, 1]).show(setup(text, [4, 1, 1, 1]).direct(1)), "commit B1");
    const uniform = setup(text);
    assert.equal(uniform.show(uniform.direct(1)), "undecided");
  });

  it("commits only the certified block of an equivocating leader, and records the evidence", () => {
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { A -> [*], B -> [*], B' -> [*], C -> [*], D -> [*] }
      Round 2 : { A -> [-B1, B1'], B -> [*], C -> [-B1, B1'], D -> [-B1, B1'] }
      Round 3 : { * }`);
    assert.equal(t.show(t.direct(1)), "commit B1'");
    assert.equal(t.state.equivocations.length, 1);
    assert.equal(t.state.equivocations[0]!.author, 1);
    assert.equal(t.state.equivocations[0]!.round, 1);
  });

  it("a block votes for the first leader block met depth-first", () => {
    // C2 references B1 before B1' (named order), D2 the other way round.
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { A -> [*], B -> [*], B' -> [*], C -> [*], D -> [*] }
      Round 2 : { A -> [-B1, B1'], B -> [-B1, B1'], C -> [-B1, B1, B1'], D -> [-B1, B1', B1] }
      Round 3 : { * }`);
    // Votes for B1': A2, B2 (own previous is the named variant), D2; C2 votes for B1.
    assert.equal(t.show(t.direct(1)), "commit B1'");
  });
});

describe("indirect rule", () => {
  const anchorDag = (round3: string) => `
    Round 0 : { 4 }
    Round 1 : { * }
    Round 2 : { A -> [*], B -> [*], C -> [*], D -> [-B1] }
    Round 3 : { ${round3} }
    Round 4 : { * }
    Round 5 : { * }
    Round 6 : { * }`;

  it("commits a leader that has a certificate in the anchor's history", () => {
    const t = setup(anchorDag("A -> [*], B -> [-A2], C -> [-A2], D -> [-A2]"));
    assert.equal(t.show(t.direct(1)), "undecided");
    const anchor = t.direct(4);
    assert.equal(t.show(anchor), "commit A4");
    const b1 = t.committerFor(1).electLeader(1)!;
    assert.equal(t.show(t.committerFor(1).tryIndirectDecide(b1, [anchor])), "commit B1 (indirect)");
  });

  it("skips a leader with no certificate in the anchor's history", () => {
    const t = setup(anchorDag("A -> [-B2], B -> [-A2], C -> [-A2], D -> [-A2]"));
    assert.equal(t.show(t.direct(1)), "undecided");
    const anchor = t.direct(4);
    const b1 = t.committerFor(1).electLeader(1)!;
    assert.equal(t.show(t.committerFor(1).tryIndirectDecide(b1, [anchor])), "skip B1 (indirect)");
  });

  it("looks past skipped leaders for the anchor and stops at an undecided one", () => {
    const t = setup(anchorDag("A -> [*], B -> [-A2], C -> [-A2], D -> [-A2]"));
    const b1 = t.committerFor(1).electLeader(1)!;
    const committer = t.committerFor(1);
    const skipped: LeaderStatus = { kind: "skip", slot: { round: 4, author: 0 }, direct: true };
    const undecided: LeaderStatus = { kind: "undecided", slot: { round: 5, author: 1 } };
    const anchor = t.direct(4);
    // A leader less than a wave later is never an anchor.
    assert.equal(t.show(committer.tryIndirectDecide(b1, [t.direct(3)])), "undecided");
    assert.equal(t.show(committer.tryIndirectDecide(b1, [skipped, anchor])), "commit B1 (indirect)");
    assert.equal(t.show(committer.tryIndirectDecide(b1, [undecided, anchor])), "undecided");
  });
});

describe("universal committer", () => {
  it("returns the decided prefix and resumes from the last decided leader", () => {
    const t = setup(`
      Round 0 : { 4 }
      Round 1 : { * }
      Round 2 : { * }
      Round 3 : { A -> [-C2], B -> [-C2], C -> [*], D -> [*] }
      Round 4 : { * }
      Round 5 : { * }
      Round 6 : { * }
      Round 7 : { * }`);
    const decided = t.committer.tryDecide({ round: 0, author: 0 });
    // C2 waits for the anchor B5 (round >= 2 + 3), which round 7 decides.
    assert.deepEqual(
      decided.map((d) => t.show(d)),
      ["commit B1", "skip C2 (indirect)", "commit D3", "commit A4", "commit B5"],
    );
    assert.deepEqual(
      t.committer.tryDecide(decided[1]!.slot).map((d) => t.show(d)),
      ["commit D3", "commit A4", "commit B5"],
    );
    assert.deepEqual(t.committer.tryDecide(decided[4]!.slot), []);
  });
});
