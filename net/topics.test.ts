import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { CodecError, TX_BYTES_MAX } from "../spec/index.ts";
import { codecProperties, runSeed } from "../spec/testing.ts";
import { TransactionBatchCodec, TransactionBatchTopic, TX_BATCH_TRANSACTIONS_MAX } from "./topics.ts";

const seed = runSeed("topics.test");

codecProperties(TransactionBatchCodec, fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 40 }), seed);

it("refuses a batch with too many transactions or an oversize transaction", () => {
  const many = Array.from({ length: TX_BATCH_TRANSACTIONS_MAX + 1 }, () => new Uint8Array(1));
  assert.throws(() => TransactionBatchTopic.decode(TransactionBatchTopic.encode(many)), CodecError);
  const big = [new Uint8Array(TX_BYTES_MAX + 1)];
  assert.throws(() => TransactionBatchTopic.decode(TransactionBatchTopic.encode(big)), CodecError);
  assert.throws(() => TransactionBatchTopic.decode(TransactionBatchTopic.encode([]).subarray(1)), CodecError);
});
