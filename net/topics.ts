import { decodeTransaction, encodeTransaction, type Transaction, TX_BYTES_MAX } from "../spec/index.ts";
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

/** Signed transactions on their way to the validators' mempools. */
export const TransactionTopic: Topic<Transaction> = {
  name: "tx",
  version: 1,
  maxBytes: Math.min(TX_BYTES_MAX, GOSSIP_BYTES_MAX),
  encode: encodeTransaction,
  decode: decodeTransaction,
};
