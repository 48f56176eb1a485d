/**
 * Conformance vectors for the spec layer. A vector pins the exact canonical
 * bytes, the digest and a signature (from a fixed key) of one object, or the
 * exact error code with which a malformed input is rejected. Other layers
 * add their own vector kinds; node/commands/conformance.ts runs them all.
 */
import { type Account, AccountCodec, decodeAccount, encodeAccount } from "./account.ts";
import { addressFromPublicKey, formatAddress, parseAddress } from "./address.ts";
import {
  type Block,
  BlockCodec,
  type BlockRef,
  blockDigest,
  decodeBlock,
  encodeBlock,
  signBlock,
} from "./block.ts";
import { bytesEqual, fromHex, toHex } from "./bytes.ts";
import { type Codec, decodeWith } from "./codec.ts";
import { type Commit, CommitCodec, commitDigest, decodeCommit, encodeCommit } from "./commit.ts";
import { CodecError } from "./errors.ts";
import { generateKeyPair, verify } from "./keys.ts";
import {
  decodeTransaction,
  encodeTransaction,
  signTransaction,
  type Transaction,
  TransactionCodec,
  transactionDigest,
} from "./transaction.ts";
import {
  decodeVoucher,
  encodeVoucher,
  signVoucher,
  type Voucher,
  VoucherCodec,
  voucherDigest,
} from "./voucher.ts";

export interface VectorResult {
  readonly ok: boolean;
  readonly detail: string;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function hex(value: Json | undefined, field: string): Uint8Array {
  const bytes = typeof value === "string" ? fromHex(value) : null;
  if (bytes === null) throw new Error(`field ${field} must be hex`);
  return bytes;
}

function int(value: Json | undefined, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value))
    throw new Error(`field ${field} must be an integer`);
  return value;
}

function amount(value: Json | undefined, field: string): bigint {
  if (typeof value !== "string" || !/^[0-9]+$/.test(value))
    throw new Error(`field ${field} must be a decimal string`);
  return BigInt(value);
}

function str(value: Json | undefined, field: string): string {
  if (typeof value !== "string") throw new Error(`field ${field} must be a string`);
  return value;
}

function refToJson(ref: BlockRef): JsonObject {
  return { round: ref.round, author: ref.author, digest: toHex(ref.digest) };
}

function refFromJson(json: Json): BlockRef {
  const o = json as JsonObject;
  return { round: int(o.round, "round"), author: int(o.author, "author"), digest: hex(o.digest, "digest") };
}

/** How each spec type maps to and from the JSON `value` of a vector. */
const TYPES = {
  transaction: {
    codec: TransactionCodec,
    toJson: (tx: Transaction): JsonObject => ({
      chainId: tx.chainId,
      sender: toHex(tx.sender),
      nonce: tx.nonce,
      fee: tx.fee.toString(),
      kind: tx.kind,
      payload: toHex(tx.payload),
    }),
    fromJson: (o: JsonObject, secretKey: Uint8Array): Transaction =>
      signTransaction(
        {
          chainId: str(o.chainId, "chainId"),
          sender: hex(o.sender, "sender"),
          nonce: int(o.nonce, "nonce"),
          fee: amount(o.fee, "fee"),
          kind: str(o.kind, "kind"),
          payload: hex(o.payload, "payload"),
        },
        generateKeyPair(secretKey),
      ),
    encode: encodeTransaction,
    decode: decodeTransaction,
    digest: transactionDigest,
  },
  block: {
    codec: BlockCodec,
    toJson: (b: Block): JsonObject => ({
      epoch: b.epoch,
      round: b.round,
      author: b.author,
      timestampMs: b.timestampMs,
      ancestors: b.ancestors.map(refToJson),
      transactions: b.transactions.map(toHex),
    }),
    fromJson: (o: JsonObject, secretKey: Uint8Array): Block =>
      signBlock(
        {
          epoch: int(o.epoch, "epoch"),
          round: int(o.round, "round"),
          author: int(o.author, "author"),
          timestampMs: int(o.timestampMs, "timestampMs"),
          ancestors: (o.ancestors as Json[]).map(refFromJson),
          transactions: (o.transactions as Json[]).map((t) => hex(t, "transactions")),
        },
        secretKey,
      ),
    encode: encodeBlock,
    decode: decodeBlock,
    digest: blockDigest,
  },
  voucher: {
    codec: VoucherCodec,
    toJson: (v: Voucher): JsonObject => ({
      chainId: v.chainId,
      channelId: toHex(v.channelId),
      cumulativeAmount: v.cumulativeAmount.toString(),
      sequence: v.sequence,
    }),
    fromJson: (o: JsonObject, secretKey: Uint8Array): Voucher =>
      signVoucher(
        {
          chainId: str(o.chainId, "chainId"),
          channelId: hex(o.channelId, "channelId"),
          cumulativeAmount: amount(o.cumulativeAmount, "cumulativeAmount"),
          sequence: int(o.sequence, "sequence"),
        },
        secretKey,
      ),
    encode: encodeVoucher,
    decode: decodeVoucher,
    digest: voucherDigest,
  },
  commit: {
    codec: CommitCodec,
    toJson: (c: Commit): JsonObject => ({
      index: c.index,
      previousDigest: toHex(c.previousDigest),
      leader: refToJson(c.leader),
      blocks: c.blocks.map(refToJson),
      timestampMs: c.timestampMs,
    }),
    fromJson: (o: JsonObject): Commit => ({
      index: int(o.index, "index"),
      previousDigest: hex(o.previousDigest, "previousDigest"),
      leader: refFromJson(o.leader as Json),
      blocks: (o.blocks as Json[]).map(refFromJson),
      timestampMs: int(o.timestampMs, "timestampMs"),
    }),
    encode: encodeCommit,
    decode: decodeCommit,
    digest: commitDigest,
  },
  account: {
    codec: AccountCodec,
    toJson: (a: Account): JsonObject => ({
      balance: a.balance.toString(),
      nonce: a.nonce,
      stake: a.stake.toString(),
    }),
    fromJson: (o: JsonObject): Account => ({
      balance: amount(o.balance, "balance"),
      nonce: int(o.nonce, "nonce"),
      stake: amount(o.stake, "stake"),
    }),
    encode: encodeAccount,
    decode: decodeAccount,
    digest: null,
  },
} as const;

export type SpecVectorType = keyof typeof TYPES;
export const SPEC_VECTOR_KINDS = ["encoding", "decode-reject", "address"] as const;

/** Builds an `encoding` vector: the object's JSON form with its pinned bytes, digest and signature. */
export function makeEncodingVector(
  name: string,
  type: SpecVectorType,
  json: JsonObject,
  secretKey: Uint8Array,
): JsonObject {
  const spec = TYPES[type];
  const object = spec.fromJson(json, secretKey) as never;
  const vector: JsonObject = {
    kind: "encoding",
    name,
    type,
    secretKey: toHex(secretKey),
    value: spec.toJson(object),
    encoding: toHex(spec.encode(object)),
  };
  if (spec.digest !== null) vector.digest = toHex((spec.digest as (o: never) => Uint8Array)(object));
  if ("signature" in (object as object))
    vector.signature = toHex((object as { signature: Uint8Array }).signature);
  return vector;
}

function checkEncoding(vector: JsonObject): VectorResult {
  const type = str(vector.type, "type") as SpecVectorType;
  const spec = TYPES[type];
  if (spec === undefined) return { ok: false, detail: `unknown type ${type}` };
  const secretKey = hex(vector.secretKey, "secretKey");
  const object = spec.fromJson(vector.value as JsonObject, secretKey) as never;
  const encoding = spec.encode(object);
  if (toHex(encoding) !== vector.encoding)
    return { ok: false, detail: `encoding differs: ${toHex(encoding)}` };
  const decoded = spec.decode(encoding);
  if (!bytesEqual(spec.encode(decoded as never), encoding))
    return { ok: false, detail: "decode does not round-trip" };
  if (spec.digest !== null) {
    const digest = (spec.digest as (o: never) => Uint8Array)(object);
    if (toHex(digest) !== vector.digest) return { ok: false, detail: `digest differs: ${toHex(digest)}` };
    if (vector.signature !== undefined) {
      const signature = (object as { signature: Uint8Array }).signature;
      if (toHex(signature) !== vector.signature) return { ok: false, detail: "signature differs" };
      const publicKey = generateKeyPair(secretKey).publicKey;
      if (!verify(signature, digest, publicKey)) return { ok: false, detail: "signature does not verify" };
    }
  }
  return { ok: true, detail: `${encoding.byteLength} bytes` };
}

function checkDecodeReject(vector: JsonObject): VectorResult {
  const type = str(vector.type, "type") as SpecVectorType;
  const codec = TYPES[type]?.codec as Codec<unknown> | undefined;
  if (codec === undefined) return { ok: false, detail: `unknown type ${type}` };
  try {
    decodeWith(codec, hex(vector.bytes, "bytes"));
  } catch (error) {
    if (error instanceof CodecError && error.code === vector.error) return { ok: true, detail: error.code };
    return {
      ok: false,
      detail: `rejected with ${(error as Error).message}, expected ${String(vector.error)}`,
    };
  }
  return { ok: false, detail: "decoded, but must be rejected" };
}

function checkAddress(vector: JsonObject): VectorResult {
  const publicKey = generateKeyPair(hex(vector.secretKey, "secretKey")).publicKey;
  if (toHex(publicKey) !== vector.publicKey) return { ok: false, detail: "public key differs" };
  const address = formatAddress(addressFromPublicKey(publicKey));
  if (address !== vector.address) return { ok: false, detail: `address differs: ${address}` };
  if (formatAddress(parseAddress(address)) !== address)
    return { ok: false, detail: "text form does not round-trip" };
  return { ok: true, detail: address };
}

/** Checks one spec vector. Throws if the vector itself is malformed. */
export function checkSpecVector(vector: JsonObject): VectorResult {
  switch (vector.kind) {
    case "encoding":
      return checkEncoding(vector);
    case "decode-reject":
      return checkDecodeReject(vector);
    case "address":
      return checkAddress(vector);
    default:
      return { ok: false, detail: `not a spec vector kind: ${String(vector.kind)}` };
  }
}
