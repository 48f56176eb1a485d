import { type Codec, DIGEST_BYTES, decodeWith, encodeWith, FieldReader, utf8 } from "../spec/index.ts";
import { Bucket, bucketKey, indexKey } from "./buckets.ts";

/**
 * What the ledger remembers about each applied commit, and its singleton
 * meta entries. The last applied record is written in the same atomic batch
 * as the commit's state changes and receipts, so on reopen it names exactly
 * the commit the state on disk reflects.
 */
export interface CommitRecord {
  readonly index: number;
  readonly stateRoot: Uint8Array;
  readonly timestampMs: number;
  /** Transactions that got a receipt (successful or failed). */
  readonly executed: number;
  readonly failed: number;
  readonly rejected: number;
}

export const CommitRecordCodec: Codec<CommitRecord> = {
  type: "CommitRecord",
  maxBytes: 96,
  toValue: (r) => [r.index, r.stateRoot, r.timestampMs, r.executed, r.failed, r.rejected],
  fromValue(value, type = "CommitRecord") {
    const reader = FieldReader.of(type, value, 6);
    return {
      index: reader.integer("index"),
      stateRoot: reader.bytes("stateRoot", { exact: DIGEST_BYTES }),
      timestampMs: reader.integer("timestampMs"),
      executed: reader.integer("executed"),
      failed: reader.integer("failed"),
      rejected: reader.integer("rejected"),
    };
  },
};

export const encodeCommitRecord = (r: CommitRecord): Uint8Array => encodeWith(CommitRecordCodec, r);
export const decodeCommitRecord = (b: Uint8Array): CommitRecord => decodeWith(CommitRecordCodec, b);

/** The record of the last applied commit (index 0 is genesis). */
export const LAST_APPLIED_KEY: Uint8Array = bucketKey(Bucket.ledgerMeta, utf8.encode("last-applied"));
/** The genesis digest this data dir was created with. */
export const GENESIS_DIGEST_KEY: Uint8Array = bucketKey(Bucket.ledgerMeta, utf8.encode("genesis-digest"));

export const commitRecordKey = (index: number): Uint8Array =>
  bucketKey(Bucket.ledgerCommitRecord, indexKey(index));
export const receiptKey = (txHash: Uint8Array): Uint8Array => bucketKey(Bucket.ledgerReceipt, txHash);
