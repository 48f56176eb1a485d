import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { GOSSIP_BYTES_MAX, TransactionBatchTopic, TX_BATCH_TRANSACTIONS_MAX } from "../net/index.ts";
import { runSeed } from "../spec/testing.ts";
import { TransactionBatcher } from "./transaction-batcher.ts";

const seed = runSeed("transaction-batcher.test");

it("sends every transaction once, in order, in batches within the gossip bounds", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.integer({ min: 1, max: 9_000 }), { maxLength: 60 }), { maxLength: 4 }),
      async (turns) => {
        const batches: (readonly Uint8Array[])[] = [];
        const batcher = new TransactionBatcher((batch) => batches.push(batch), 0);
        const added: Uint8Array[] = [];
        for (const sizes of turns) {
          const before = batches.length;
          for (const size of sizes) {
            const tx = new Uint8Array(size).fill(added.length % 251);
            added.push(tx);
            batcher.add(tx);
          }
          // The flush timer (0 ms) was set before this one, so it fires first.
          await new Promise((resolve) => setTimeout(resolve, 1));
          // A turn's transactions leave as one message when they fit in one (counting 5 framing bytes each).
          const bytes = sizes.reduce((sum, size) => sum + size + 5, 5);
          const expected = sizes.length === 0 ? 0 : bytes <= GOSSIP_BYTES_MAX ? 1 : undefined;
          if (expected !== undefined) assert.equal(batches.length - before, expected);
          else assert.ok(batches.length - before >= 2);
        }
        assert.deepEqual(batches.flat(), added);
        for (const batch of batches) {
          assert.ok(batch.length > 0 && batch.length <= TX_BATCH_TRANSACTIONS_MAX);
          assert.ok(TransactionBatchTopic.encode(batch).byteLength <= GOSSIP_BYTES_MAX);
        }
      },
    ),
    { seed, numRuns: 60 },
  );
});

it("fills a batch to the count bound before starting the next", () => {
  const batches: (readonly Uint8Array[])[] = [];
  const batcher = new TransactionBatcher((batch) => batches.push(batch));
  for (let i = 0; i < TX_BATCH_TRANSACTIONS_MAX + 1; i++) batcher.add(new Uint8Array([i & 0xff]));
  assert.equal(batches.length, 1);
  assert.equal(batches[0]?.length, TX_BATCH_TRANSACTIONS_MAX);
  batcher.flush();
  assert.equal(batches.length, 2);
  assert.equal(batches[1]?.length, 1);
});
