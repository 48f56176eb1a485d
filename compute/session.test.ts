import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ComputeError } from "./errors.ts";
import { initParameters, type MlpConfig } from "./mlp.ts";
import { buildInferenceGraph, CONTEXT_INPUT, LOGITS_OUTPUT } from "./mlp-graph.ts";
import { ModelSession } from "./session.ts";

const CONFIG: MlpConfig = { vocabSize: 32, contextLength: 4, embeddingSize: 4, hiddenSizes: [16] };
const SHAPE = { inputName: CONTEXT_INPUT, outputName: LOGITS_OUTPUT, contextLength: 4, vocabSize: 32 };
const MODEL = buildInferenceGraph(CONFIG, initParameters(CONFIG, 11));

function row(seed: number): Int32Array {
  return Int32Array.from({ length: 4 }, (_, i) => (seed * 7 + i * 3) % 32);
}

describe("ModelSession", () => {
  it("refuses requests beyond the queue capacity with QUEUE_FULL and serves the rest", async () => {
    const session = await ModelSession.create(MODEL, SHAPE, { queueCapacity: 3, batchRowsMax: 2 });
    try {
      // The first request starts a run at once; three more wait; the rest are refused.
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => session.logits(row(i))));
      const fulfilled = outcomes.filter((o) => o.status === "fulfilled");
      const refused = outcomes.filter((o) => o.status === "rejected");
      assert.equal(fulfilled.length, 4);
      assert.equal(refused.length, 4);
      for (const outcome of refused) {
        const error = (outcome as PromiseRejectedResult).reason;
        assert.ok(error instanceof ComputeError, `expected a ComputeError, got ${error}`);
        assert.equal(error.code, "QUEUE_FULL");
        assert.equal(error.payload.capacity, 3);
      }
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ["fulfilled", "fulfilled", "fulfilled", "fulfilled", "rejected", "rejected", "rejected", "rejected"],
      );
      // Once drained, the session accepts again.
      assert.equal(session.queued, 0);
      assert.equal((await session.logits(row(9))).length, 32);
    } finally {
      await session.close();
    }
  });

  it("batched runs give each request exactly its unbatched logits", async () => {
    const batched = await ModelSession.create(MODEL, SHAPE, { batchRowsMax: 8 });
    const single = await ModelSession.create(MODEL, SHAPE, { batchRowsMax: 1 });
    try {
      const requests = Array.from({ length: 12 }, (_, i) => row(i));
      const together = await Promise.all(requests.map((context) => batched.logits(context)));
      for (const [i, context] of requests.entries())
        assert.deepEqual(together[i], await single.logits(context));
      // A multi-row request comes back as its rows in order.
      const two = await batched.logits(Int32Array.from([...row(1), ...row(2)]), 2);
      assert.deepEqual(two.subarray(0, 32), together[1]);
      assert.deepEqual(two.subarray(32), together[2]);
    } finally {
      await batched.close();
      await single.close();
    }
  });

  it("rejects malformed requests and fails waiting ones on close", async () => {
    const session = await ModelSession.create(MODEL, SHAPE);
    const isCode = (code: string) => (error: unknown) => error instanceof ComputeError && error.code === code;
    await assert.rejects(session.logits(Int32Array.of(1, 2, 3)), isCode("BAD_REQUEST"));
    await assert.rejects(session.logits(Int32Array.of(1, 2, 3, 32)), isCode("BAD_REQUEST"));
    const running = session.logits(row(1));
    const waiting = session.logits(row(2));
    const closing = session.close();
    await assert.rejects(waiting, isCode("SESSION_CLOSED"));
    assert.equal((await running).length, 32);
    await closing;
    await assert.rejects(session.logits(row(3)), isCode("SESSION_CLOSED"));
  });
});
