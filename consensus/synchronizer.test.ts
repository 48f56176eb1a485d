import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { blockDigest } from "../spec/index.ts";
import { Committee } from "./committee.ts";
import { SyncError } from "./errors.ts";
import { Synchronizer } from "./synchronizer.ts";
import { parseDag } from "./test_dag.ts";

const dag = parseDag("Round 0 : { 4 }, Round 1 : { * }, Round 2 : { * }");
const refOf = (name: string) => {
  const block = dag.block(name)!;
  return { round: block.round, author: block.author, digest: blockDigest(block) };
};
const missing = (...names: string[]) => names.map((n) => ({ ref: refOf(n), peers: [refOf(n).author, 3] }));

describe("Synchronizer", () => {
  it("asks the first named peer, batching by peer", () => {
    const sync = new Synchronizer(Committee.uniform(4), 0);
    const requests = sync.plan(missing("B1", "B2", "C1"), 0);
    assert.deepEqual(
      requests.map((r) => [r.peer, r.refs.length]),
      [
        [1, 2],
        [2, 1],
      ],
    );
    assert.equal(
      sync.plan(missing("B1", "B2", "C1"), 10).length,
      0,
      "nothing is asked twice while in flight",
    );
  });

  it("bounds request size, requests per peer and requests in flight", () => {
    const sync = new Synchronizer(Committee.uniform(4), 0, {
      blocksPerRequestMax: 1,
      requestsPerPeerMax: 1,
      requestsInFlightMax: 2,
    });
    const requests = sync.plan(missing("B1", "B2", "C1", "D1"), 0);
    assert.equal(requests.length, 2);
    assert.ok(requests.every((r) => r.refs.length === 1));
    assert.notEqual(requests[0]!.peer, requests[1]!.peer);
  });

  it("asks the next peer after a timeout or a failure", () => {
    const sync = new Synchronizer(Committee.uniform(4), 0, { requestTimeoutMs: 100 });
    const [first] = sync.plan(missing("B1"), 0);
    assert.equal(first!.peer, 1);
    assert.equal(sync.nextDeadlineMs(), 100);
    assert.deepEqual(sync.plan(missing("B1"), 100), [], "expired, and a short pause before asking again");
    const [second] = sync.plan(missing("B1"), 200);
    assert.equal(second!.peer, 3, "the next hinted peer");
    sync.onFailure(second!.id, 210);
    const [third] = sync.plan(missing("B1"), 310);
    assert.equal(third!.peer, 2, "then the remaining authorities");
  });

  it("accepts the ancestors of asked blocks that a peer adds", () => {
    const sync = new Synchronizer(Committee.uniform(4), 0);
    const [request] = sync.plan(missing("B2"), 0);
    const reply = [dag.block("A1")!, dag.block("B2")!, dag.block("C1")!];
    assert.equal(sync.onResponse(request!.id, reply, 0).length, 3);
  });

  it("accepts only blocks it asked that peer for, or their ancestors", () => {
    const sync = new Synchronizer(Committee.uniform(4), 0, { blocksPerRequestMax: 2 });
    const [request] = sync.plan(missing("B1", "B2"), 0);
    assert.deepEqual(sync.onResponse(request!.id, [dag.block("B2")!], 0), [dag.block("B2")!]);
    const [retry] = sync.plan(missing("B1"), 100);
    assert.equal(retry!.peer, 3, "a block left out of the reply is asked elsewhere");
    assert.throws(
      () => sync.onResponse(retry!.id, [dag.block("C1")!], 100),
      (e: unknown) => e instanceof SyncError && e.code === "UNREQUESTED_BLOCK",
    );
    const [again] = sync.plan(missing("B1"), 300);
    assert.throws(
      () => sync.onResponse(again!.id, [dag.block("B1")!, dag.block("A0")!, dag.block("C0")!], 300),
      (e: unknown) => e instanceof SyncError && e.code === "TOO_MANY_BLOCKS",
    );
  });

  it("forgets blocks that are no longer missing", () => {
    const sync = new Synchronizer(Committee.uniform(4), 0);
    const [request] = sync.plan(missing("B1"), 0);
    sync.onResponse(request!.id, [dag.block("B1")!], 0);
    assert.equal(sync.plan([], 1).length, 0);
    assert.equal(sync.inFlightCount, 0);
  });
});
