import { type BlockRef, BlockRefCodec } from "./block.ts";
import { type Codec, decodeWith, encodeWith, FieldReader } from "./codec.ts";
import { COMMIT_BLOCKS_MAX, DIGEST_BYTES, Domain } from "./constants.ts";
import { hash } from "./hash.ts";

/**
 * A commit: one decided leader and its linearised sub-DAG. Commits form a
 * hash chain through `previousDigest` (all zero for index 1's predecessor).
 */
export interface Commit {
  readonly index: number;
  readonly previousDigest: Uint8Array;
  readonly leader: BlockRef;
  readonly blocks: readonly BlockRef[];
  readonly timestampMs: number;
}

export const GENESIS_COMMIT_DIGEST = new Uint8Array(DIGEST_BYTES);

export const CommitCodec: Codec<Commit> = {
  type: "Commit",
  maxBytes: 64 + COMMIT_BLOCKS_MAX * 48,
  toValue: (commit) => [
    commit.index,
    commit.previousDigest,
    BlockRefCodec.toValue(commit.leader),
    commit.blocks.map(BlockRefCodec.toValue),
    commit.timestampMs,
  ],
  fromValue(value, type = "Commit") {
    const reader = FieldReader.of(type, value, 5);
    return {
      index: reader.integer("index"),
      previousDigest: reader.bytes("previousDigest", { exact: DIGEST_BYTES }),
      leader: reader.nested("leader", BlockRefCodec.fromValue),
      blocks: reader
        .array("blocks", COMMIT_BLOCKS_MAX)
        .map((item, i) => BlockRefCodec.fromValue(item, `${type}.blocks[${i}]`)),
      timestampMs: reader.integer("timestampMs"),
    };
  },
};

export const encodeCommit = (commit: Commit): Uint8Array => encodeWith(CommitCodec, commit);
export const decodeCommit = (bytes: Uint8Array): Commit => decodeWith(CommitCodec, bytes);
export const commitDigest = (commit: Commit): Uint8Array => hash(Domain.Commit, encodeCommit(commit));
