import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CommitSyncer } from "./commit_syncer.ts";
import { Committee } from "./committee.ts";
import { committerForDag } from "./conformance.ts";
import { SyncError } from "./errors.ts";
import type { CommittedSubDag } from "./interface.ts";
import { chainTipOf, GENESIS_CHAIN_TIP, Linearizer } from "./linearizer.ts";
import { parseDag } from "./test_dag.ts";

/** Commits of a fully connected DAG, as an authority would have stored them. */
function storedCommits(): CommittedSubDag[] {
  const dag = parseDag(
    `Round 0 : { 4 }\n${Array.from({ length: 10 }, (_, i) => `Round ${i + 1} : { * }`).join("\n")}`,
  );
  const { committer } = committerForDag(dag);
  const linearizer = new Linearizer(50);
  let tip = GENESIS_CHAIN_TIP;
  const out: CommittedSubDag[] = [];
  for (const decided of committer.tryDecide({ round: 0, author: 0 })) {
    if (decided.kind !== "commit") continue;
    const c = linearizer.commit(decided.block, tip);
    tip = chainTipOf(c.commit, c.digest);
    out.push(c);
  }
  return out;
}

const commits = storedCommits();
const range = (from: number, to: number) => {
  const chosen = commits.slice(from - 1, to);
  return { commits: chosen.map((c) => c.commit), blocks: chosen.flatMap((c) => c.blocks) };
};

describe("CommitSyncer", () => {
  it("syncs only when blocks arrive from far above our DAG, asking f+1 stake of peers", () => {
    const syncer = new CommitSyncer(Committee.uniform(4), 0, { lagRounds: 5 });
    syncer.observeRound(1, 8);
    syncer.observeRound(2, 8);
    assert.deepEqual(syncer.plan(0, 3, 0), []);
    syncer.observeRound(1, 1_000_000);
    assert.deepEqual(syncer.plan(0, 3, 0), [], "one author far ahead (perhaps Byzantine) is not enough");
    syncer.observeRound(2, 9);
    const requests = syncer.plan(0, 3, 0);
    assert.equal(requests.length, 2, "f+1 = 2 peers of stake 1");
    assert.ok(requests.every((r) => r.peer !== 0 && r.fromIndex === 1));
    assert.deepEqual(syncer.plan(0, 3, 1), [], "one round of requests at a time");
  });

  it("takes a commit only once f+1 stake returned the same digest, in chain order", () => {
    const syncer = new CommitSyncer(Committee.uniform(4), 0, { lagRounds: 1 });
    syncer.observeRound(1, 20);
    syncer.observeRound(2, 20);
    const [a, b] = syncer.plan(0, 0, 0);
    syncer.onResponse(a!.id, range(1, 5));
    assert.deepEqual(syncer.takeCertified(GENESIS_CHAIN_TIP), []);
    syncer.onResponse(b!.id, range(1, 3));
    const certified = syncer.takeCertified(GENESIS_CHAIN_TIP);
    assert.deepEqual(
      certified.map((c) => c.commit.index),
      [1, 2, 3],
    );
    assert.equal(certified[0]!.blocks.at(-1)!.round, certified[0]!.commit.leader.round);
  });

  it("rejects replies that skip commits or lack blocks", () => {
    const syncer = new CommitSyncer(Committee.uniform(4), 0, { lagRounds: 1 });
    syncer.observeRound(1, 20);
    syncer.observeRound(2, 20);
    const [a, b] = syncer.plan(0, 0, 0);
    const gap = range(1, 3);
    assert.throws(
      () => syncer.onResponse(a!.id, { commits: [gap.commits[0]!, gap.commits[2]!], blocks: gap.blocks }),
      (e: unknown) => e instanceof SyncError && e.code === "COMMIT_CHAIN_BROKEN",
    );
    const partial = range(1, 2);
    assert.throws(
      () => syncer.onResponse(b!.id, { commits: partial.commits, blocks: partial.blocks.slice(1) }),
      (e: unknown) => e instanceof SyncError && e.code === "COMMIT_MISMATCH",
    );
  });
});
