import { type Codec, decodeWith, encodeWith, FieldReader, TX_BYTES_MAX } from "../spec/index.ts";
import { GOSSIP_BYTES_MAX, PROTOCOL_PREFIX } from "./constants.ts";

/**
 * A typed, versioned gossip topic. The wire name includes the chain id and
 * the version: /hyperspace/<chainId>/<name>/<version>. `decode` must throw a
 * typed error on malformed bytes (it becomes a REJECT); `validate` may throw
 * a ValidationError to IGNORE or REJECT a well-formed message.
 */
export interface Topic<T> {
  readonly name: string;
  readonly version: number;
  readonly maxBytes: number;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

export function topicName(chainId: string, topic: Topic<unknown>): string {
  return `${PROTOCOL_PREFIX}/${chainId}/${topic.name}/${topic.version}`;
}

/**
 * Most transactions in one gossip message. A node gossips what it admitted
 * since its last flush as one message, so per-message costs (framing,
 * encryption, message id, validation dispatch) are paid once per batch
 * instead of once per transaction; 1,024 is a few flushes of the target load.
 */
export const TX_BATCH_TRANSACTIONS_MAX = 1_024;

/** A batch of encoded signed transactions; each is decoded and checked on admission. */
export const TransactionBatchCodec: Codec<readonly Uint8Array[]> = {
  type: "TransactionBatch",
  maxBytes: GOSSIP_BYTES_MAX,
  toValue: (transactions) => transactions,
  fromValue(value, type = "TransactionBatch") {
    return FieldReader.of(type, [value], 1).bytesList(
      "transactions",
      TX_BATCH_TRANSACTIONS_MAX,
      TX_BYTES_MAX,
    );
  },
};

/** Signed transactions on their way to the validators' mempools, in batches. */
export const TransactionBatchTopic: Topic<readonly Uint8Array[]> = {
  name: "txs",
  version: 1,
  maxBytes: GOSSIP_BYTES_MAX,
  encode: (transactions) => encodeWith(TransactionBatchCodec, transactions),
  decode: (bytes) => decodeWith(TransactionBatchCodec, bytes),
};
