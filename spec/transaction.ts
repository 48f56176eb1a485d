import { LRUCache } from "lru-cache";
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
  CHAIN_ID_BYTES_MAX,
  Domain,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  TX_BYTES_MAX,
  TX_KIND_BYTES_MAX,
  TX_PAYLOAD_BYTES_MAX,
} from "./constants.ts";
import { hash } from "./hash.ts";
import { isRememberedValid, type KeyPair, sign, verifyRemembered } from "./keys.ts";

/**
 * A transaction: who sends it (an ed25519 public key; the account is its
 * address), a per-sender nonce, a fee, a kind naming the ledger module that
 * executes it, that module's payload, and a signature over the body digest.
 *
 * The chain id is part of the signed body, so a transaction signed for one
 * chain is invalid on every other.
 */
export interface TransactionBody {
  readonly chainId: string;
  readonly sender: Uint8Array;
  readonly nonce: number;
  readonly fee: bigint;
  readonly kind: string;
  readonly payload: Uint8Array;
}

export interface Transaction extends TransactionBody {
  readonly signature: Uint8Array;
}

const BODY_FIELDS = 6;

function bodyValue(tx: TransactionBody): Encodable[] {
  return [tx.chainId, tx.sender, tx.nonce, tx.fee, tx.kind, tx.payload];
}

function readBody(reader: FieldReader): TransactionBody {
  return {
    chainId: reader.string("chainId", CHAIN_ID_BYTES_MAX),
    sender: reader.bytes("sender", { exact: PUBLIC_KEY_BYTES }),
    nonce: reader.integer("nonce"),
    fee: reader.amount("fee"),
    kind: reader.string("kind", TX_KIND_BYTES_MAX),
    payload: reader.bytes("payload", { max: TX_PAYLOAD_BYTES_MAX }),
  };
}

export const TransactionCodec: Codec<Transaction> = {
  type: "Transaction",
  maxBytes: TX_BYTES_MAX,
  toValue: (tx) => [...bodyValue(tx), tx.signature],
  fromValue(value, type = "Transaction") {
    const reader = FieldReader.of(type, value, BODY_FIELDS + 1);
    const body = readBody(reader);
    return { ...body, signature: reader.bytes("signature", { exact: SIGNATURE_BYTES }) };
  },
};

/** Digests by transaction object: a decoded transaction's digest is computed once however often it is asked for. */
const digests = new WeakMap<TransactionBody, Uint8Array>();

/** The transaction hash: the domain-separated digest of the body. The signature signs it. */
export function transactionDigest(tx: TransactionBody): Uint8Array {
  let digest = digests.get(tx);
  if (digest === undefined) {
    digest = hash(Domain.Transaction, encode(bodyValue(tx)));
    digests.set(tx, digest);
  }
  return digest;
}

export function signTransaction(body: TransactionBody, keys: KeyPair): Transaction {
  return { ...body, signature: sign(transactionDigest(body), keys.secretKey) };
}

/** True if this process has already found this transaction's signature over `digest` valid (see verifyRemembered). */
export function isVerifiedTransaction(tx: Transaction, digest: Uint8Array): boolean {
  return isRememberedValid(tx.signature, digest, tx.sender);
}

export function verifyTransaction(tx: Transaction, digest = transactionDigest(tx)): boolean {
  return verifyRemembered(tx.signature, digest, tx.sender);
}

export const encodeTransaction = (tx: Transaction): Uint8Array => encodeWith(TransactionCodec, tx);
/**
 * Transactions decoded before, by their encoding. A node decodes a
 * transaction when its mempool admits it and again when a commit executes
 * it; decoding is a pure function of the bytes, so the second is a lookup of
 * the first's (frozen) result, whose digest is then known too. 32,768
 * entries (about 20 MB) cover several seconds of the target load between
 * admission and execution. Drop policy: evict the least recently used.
 */
const DECODED_TRANSACTIONS_MAX = 32_768;
const decodedTransactions = new LRUCache<string, Transaction>({ max: DECODED_TRANSACTIONS_MAX });

export function decodeTransaction(bytes: Uint8Array): Transaction {
  const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  const known = decodedTransactions.get(key);
  if (known !== undefined) return known;
  const tx = Object.freeze(decodeWith(TransactionCodec, bytes));
  const body = signedBodyParts(bytes, BODY_FIELDS);
  if (body !== null) digests.set(tx, hash(Domain.Transaction, ...body));
  decodedTransactions.set(key, tx);
  return tx;
}
