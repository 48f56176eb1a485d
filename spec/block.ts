import {
  type Codec,
  decodeWith,
  type Encodable,
  encode,
  encodeWith,
  FieldReader,
  signedBodyParts,
} from "./codec.ts";
import {
  BLOCK_ANCESTORS_MAX,
  BLOCK_BYTES_MAX,
  BLOCK_TRANSACTIONS_MAX,
  COMMITTEE_SIZE_MAX,
  DIGEST_BYTES,
  Domain,
  SIGNATURE_BYTES,
  TX_BYTES_MAX,
} from "./constants.ts";
import { hash } from "./hash.ts";
import { sign, verifyRemembered } from "./keys.ts";

/** A reference to a block: the slot (round, author) and the digest that tells equivocating blocks apart. */
export interface BlockRef {
  readonly round: number;
  readonly author: number;
  readonly digest: Uint8Array;
}

/**
 * A Mysticeti DAG block. `author` is the authority's index in the committee.
 * `ancestors` lists the author's own previous block first, then others.
 * `transactions` are encoded transactions, opaque to consensus.
 */
export interface BlockBody {
  readonly epoch: number;
  readonly round: number;
  readonly author: number;
  readonly timestampMs: number;
  readonly ancestors: readonly BlockRef[];
  readonly transactions: readonly Uint8Array[];
}

export interface Block extends BlockBody {
  readonly signature: Uint8Array;
}

const AUTHOR_MAX = COMMITTEE_SIZE_MAX - 1;

export const BlockRefCodec: Codec<BlockRef> = {
  type: "BlockRef",
  maxBytes: 64,
  structural: true,
  toValue: (ref) => [ref.round, ref.author, ref.digest],
  fromValue(value, type = "BlockRef") {
    const reader = FieldReader.of(type, value, 3);
    return {
      round: reader.integer("round"),
      author: reader.integer("author", AUTHOR_MAX),
      digest: reader.bytes("digest", { exact: DIGEST_BYTES }),
    };
  },
};

const BODY_FIELDS = 6;

function bodyValue(block: BlockBody): Encodable[] {
  return [
    block.epoch,
    block.round,
    block.author,
    block.timestampMs,
    block.ancestors.map(BlockRefCodec.toValue),
    block.transactions,
  ];
}

export const BlockCodec: Codec<Block> = {
  type: "Block",
  maxBytes: BLOCK_BYTES_MAX,
  structural: true,
  toValue: (block) => [...bodyValue(block), block.signature],
  fromValue(value, type = "Block") {
    const reader = FieldReader.of(type, value, BODY_FIELDS + 1);
    const epoch = reader.integer("epoch");
    const round = reader.integer("round");
    const author = reader.integer("author", AUTHOR_MAX);
    const timestampMs = reader.integer("timestampMs");
    const ancestors = reader
      .array("ancestors", BLOCK_ANCESTORS_MAX)
      .map((item, i) => BlockRefCodec.fromValue(item, `${type}.ancestors[${i}]`));
    const transactions = reader.bytesList("transactions", BLOCK_TRANSACTIONS_MAX, TX_BYTES_MAX);
    const signature = reader.bytes("signature", { exact: SIGNATURE_BYTES });
    return { epoch, round, author, timestampMs, ancestors, transactions, signature };
  },
};

/**
 * A block is hashed and encoded several times on its way through a node
 * (signature check, verifier, DAG, store, broadcast), and its encoding
 * holds all its transactions. Blocks are immutable values (readonly
 * everywhere, and frozen when decoded), so each block object's digest and
 * encoding are computed once; a decoded block's come from its wire bytes.
 */
const digests = new WeakMap<BlockBody, Uint8Array>();
const encodings = new WeakMap<Block, Uint8Array>();

export function blockDigest(block: BlockBody): Uint8Array {
  let digest = digests.get(block);
  if (digest === undefined) {
    digest = hash(Domain.Block, encode(bodyValue(block)));
    digests.set(block, digest);
  }
  return digest;
}

/** Signs a block body; the signed block shares the body's digest, so nobody hashes it again. */
export function withSignature(body: BlockBody, sign: (digest: Uint8Array) => Uint8Array): Block {
  const digest = blockDigest(body);
  const block: Block = { ...body, signature: sign(digest) };
  digests.set(block, digest);
  return block;
}

export function signBlock(body: BlockBody, secretKey: Uint8Array): Block {
  return withSignature(body, (digest) => sign(digest, secretKey));
}

export function verifyBlockSignature(
  block: Block,
  publicKey: Uint8Array,
  digest = blockDigest(block),
): boolean {
  return verifyRemembered(block.signature, digest, publicKey);
}

export function blockRef(block: BlockBody, digest = blockDigest(block)): BlockRef {
  return { round: block.round, author: block.author, digest };
}

export function encodeBlock(block: Block): Uint8Array {
  let bytes = encodings.get(block);
  if (bytes === undefined) {
    bytes = encodeWith(BlockCodec, block);
    encodings.set(block, bytes);
  }
  return bytes;
}

export function decodeBlock(bytes: Uint8Array): Block {
  const block = Object.freeze(decodeWith(BlockCodec, bytes));
  encodings.set(block, bytes.slice()); // a copy: the caller may reuse its buffer
  const body = signedBodyParts(bytes, BODY_FIELDS);
  if (body !== null) digests.set(block, hash(Domain.Block, ...body));
  return block;
}
