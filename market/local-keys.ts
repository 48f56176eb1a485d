import { Bucket, bucketKey } from "../ledger/index.ts";
import { concatBytes } from "../spec/index.ts";

/**
 * Keys of the market's local data (Bucket.marketLocal): what this node
 * alone keeps and no other node must agree on.
 *
 *   api key     0x01 keyId(32)   -> ApiKeyRecord (its secret's digest, limits, usage)
 *   pod spend   0x02 podId(32)   -> amount this node has paid for inference in the pod
 */
export enum MarketLocalKind {
  apiKey = 0x01,
  podSpend = 0x02,
}

export function localKey(kind: MarketLocalKind, ...parts: Uint8Array[]): Uint8Array {
  return bucketKey(Bucket.marketLocal, concatBytes(Uint8Array.of(kind), ...parts));
}

export function localPrefix(kind: MarketLocalKind): Uint8Array {
  return bucketKey(Bucket.marketLocal, Uint8Array.of(kind));
}
