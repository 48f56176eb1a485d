/**
 * Every key prefix of the node's one key-value store, for every layer. A
 * store key is one bucket byte followed by the bucket's own key bytes, so the
 * buckets partition the key space and a prefix scan of one bucket never sees
 * another's keys. Later layers use these values; they never invent their
 * own prefixes. A value, once released, is never reused for another meaning:
 * retire an entry by leaving a gap.
 *
 * Buckets marked "state" hold ledger state: the ledger loads them at open
 * and commits to them in the state root. Every other bucket is local data
 * that no other node has to agree on.
 */
export enum Bucket {
  // consensus/ (local: each node's own view of the DAG)
  /** block digest -> encoded Block */
  consensusBlock = 0x01,
  /** singleton: this validator's last proposed block (so a restart never equivocates) */
  consensusLastProposal = 0x02,
  /** commit index (u64 big-endian) -> encoded Commit */
  consensusCommit = 0x03,
  /** round (u64 big-endian) -> digest of this validator's own block in that round */
  consensusOwnBlock = 0x04,
  /** singleton entries of the consensus engine (last committed leader, GC round) */
  consensusMeta = 0x05,

  // ledger/ (state: accounts, validators, counters; local: receipts, meta)
  /** state: address (20 bytes) -> encoded Account */
  ledgerAccount = 0x10,
  /** state: address (20 bytes) -> encoded ValidatorEntry */
  ledgerValidator = 0x11,
  /** local: transaction hash (32 bytes) -> encoded Receipt */
  ledgerReceipt = 0x12,
  /** local: singleton entries (last applied commit and its root, genesis digest) */
  ledgerMeta = 0x13,
  /** reserved: persisted state-tree nodes (the tree is rebuilt from state at open today) */
  ledgerStateTree = 0x14,
  /** state: ledger-wide counters (chain parameters, burned fees, module escrow totals) */
  ledgerGlobal = 0x15,
  /** local: commit index (u64 big-endian) -> encoded CommitRecord (state root after that commit) */
  ledgerCommitRecord = 0x16,

  // channels/
  /** state: the channels module's on-chain state (channel id -> channel) */
  channelsState = 0x20,
  /** local: off-chain channel data (vouchers received and sent, payer and payee machines) */
  channelsLocal = 0x21,

  // market/
  /** state: the market module's on-chain state (offers, jobs, rounds, contributions) */
  marketState = 0x30,
  /** local: market services' own data (pods, sessions, checkpoints seen) */
  marketLocal = 0x31,
  /** local: content-addressed chunks (model checkpoints, updates) */
  marketChunk = 0x32,

  // crdt/
  /** local: leaderboard document snapshots and updates */
  crdtDocument = 0x38,

  // net/ and node/
  /** local: peer store and address book */
  netPeer = 0x40,
  /** local: node metadata (schema version, node identity, config digest) */
  nodeMeta = 0x41,
  /** local: checkpoint index (u64 big-endian) -> encoded checkpoint certificate (a quorum's state-root votes) */
  nodeCheckpointCertificate = 0x42,
}

/** The buckets whose entries are ledger state: loaded at open and committed to by the state root. */
export const STATE_BUCKETS: readonly Bucket[] = [
  Bucket.ledgerAccount,
  Bucket.ledgerValidator,
  Bucket.ledgerGlobal,
  Bucket.channelsState,
  Bucket.marketState,
];

export function isStateBucket(bucket: number): boolean {
  return (STATE_BUCKETS as readonly number[]).includes(bucket);
}

/** The store key of `key` in `bucket`. */
export function bucketKey(bucket: Bucket, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + key.byteLength);
  out[0] = bucket;
  out.set(key, 1);
  return out;
}

/** The one-byte prefix that selects every key of `bucket`. */
export function bucketPrefix(bucket: Bucket): Uint8Array {
  return Uint8Array.of(bucket);
}

/** A bucket's name, for logs and errors. */
export function bucketName(bucket: number): string {
  return Bucket[bucket] ?? `unknown(0x${bucket.toString(16)})`;
}

/** Big-endian u64 key for indexed buckets (commit index, round): keys sort as numbers. */
export function indexKey(index: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(index));
  return out;
}

export function readIndexKey(key: Uint8Array): number {
  return Number(new DataView(key.buffer, key.byteOffset, 8).getBigUint64(0));
}
