import { createHash } from "node:crypto";
import type { DomainTag } from "./constants.ts";

/**
 * Domain-separated sha256. node:crypto runs at about 2 GB/s here against
 * 180 MB/s for @noble/hashes, and the ledger and consensus hash on every
 * block and state write, so the hot path uses node:crypto. A property test
 * checks it against @noble/hashes.
 *
 * digest = sha256(len(tag) || tag || data...), where len is one byte.
 */
export function hash(domain: DomainTag, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  const tag = Buffer.from(domain, "utf8");
  h.update(Uint8Array.of(tag.length));
  h.update(tag);
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

/** Plain sha256, for content addressing of files (models, checkpoints, genesis). */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}
