import { LRUCache } from "lru-cache";
import { byteKey, bytesEqual } from "./bytes.ts";
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
import { type KeyPair, sign, verify } from "./keys.ts";

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

export const TransactionCodec: Codec<Transaction> = {
  type: "Transaction",
  maxBytes: TX_BYTES_MAX,
  structural: true,
  toValue: (tx) => {
    const value = bodyValue(tx);
    value.push(tx.signature);
    return value;
  },
  fromValue(value, type = "Transaction") {
    const reader = FieldReader.of(type, value, BODY_FIELDS + 1);
    // One object literal, fields in order: a single shape for every decoded transaction.
    return {
      chainId: reader.string("chainId", CHAIN_ID_BYTES_MAX),
      sender: reader.bytes("sender", { exact: PUBLIC_KEY_BYTES }),
      nonce: reader.integer("nonce"),
      fee: reader.amount("fee"),
      kind: reader.string("kind", TX_KIND_BYTES_MAX),
      payload: reader.bytes("payload", { max: TX_PAYLOAD_BYTES_MAX }),
      signature: reader.bytes("signature", { exact: SIGNATURE_BYTES }),
    };
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

/**
 * Transaction signatures found valid, by the transaction's digest, with the
 * signature that was found valid for it. A node checks a transaction when
 * its mempool admits it and again when a commit executes it; the second
 * check is then a lookup. The digest covers the whole body, the sender's key
 * included, so a digest and a signature fix what was checked; validity is a
 * pure function of them, so remembering cannot change an outcome, and only
 * valid results are kept. 16,384 entries (about 4 MB) cover 5 s of the
 * bench's whole load admitted by one validator, well past the time from
 * admission to execution; an entry that is gone costs only a verify. Every
 * transaction of another validator's block is looked up and missed, and a
 * miss in a table four times that size took twice as long (530 against
 * 250 ns). Drop policy: evict the least recently used.
 */
const VERIFIED_TRANSACTIONS_MAX = 16_384;
const verifiedSignatures = new LRUCache<string, Uint8Array>({ max: VERIFIED_TRANSACTIONS_MAX });

/** True if this process has already found this transaction's signature valid (`digest`: its digest, if known). */
export function isVerifiedTransaction(tx: Transaction, digest: Uint8Array = transactionDigest(tx)): boolean {
  const known = verifiedSignatures.get(byteKey(digest));
  return known !== undefined && bytesEqual(known, tx.signature);
}

/** Checks the transaction's signature over its digest, answered from memory for one already found valid. */
export function verifyTransaction(tx: Transaction, digest: Uint8Array = transactionDigest(tx)): boolean {
  if (isVerifiedTransaction(tx, digest)) return true;
  if (!verify(tx.signature, digest, tx.sender)) return false;
  verifiedSignatures.set(byteKey(digest), tx.signature.slice());
  return true;
}

export const encodeTransaction = (tx: Transaction): Uint8Array => encodeWith(TransactionCodec, tx);
/**
 * Transactions decoded before, by their byte array. A node decodes a
 * transaction when its mempool admits it and again when a commit executes
 * it, and its own blocks carry the very arrays its mempool holds; decoding
 * is a pure function of the bytes, so the second is a lookup of the first's
 * (frozen) result, whose digest is then known too. Keyed by identity, the
 * lookup costs nothing for the transactions of other validators' blocks,
 * which are decoded once; entries live as long as their bytes. The bytes
 * must not change once decoded: nothing in the node writes into them.
 */
const decodedTransactions = new WeakMap<Uint8Array, Transaction>();

export function decodeTransaction(bytes: Uint8Array): Transaction {
  const known = decodedTransactions.get(bytes);
  if (known !== undefined) return known;
  const tx = Object.freeze(decodeWith(TransactionCodec, bytes));
  digests.set(tx, wireDigest(tx, bytes));
  decodedTransactions.set(bytes, tx);
  return tx;
}

/** The digest of a transaction decoded from `bytes`, hashed from its body's bytes as they came, without encoding again. */
function wireDigest(tx: Transaction, bytes: Uint8Array): Uint8Array {
  const body = signedBodyParts(bytes, BODY_FIELDS);
  return body === null ? transactionDigest(tx) : hash(Domain.Transaction, ...body);
}

/**
 * A transaction and its digest, for a caller that decodes these bytes once
 * (execution, for the transactions of other validators' blocks): the
 * remembered decoding if this process decoded the very same array before
 * (its mempool admitted it), else a fresh one that is not remembered, which
 * spares the two weak-map entries and the freeze that sharing needs. The
 * digest comes from the wire bytes, as `decodeTransaction`'s does.
 */
export function decodeTransactionOnce(bytes: Uint8Array): { tx: Transaction; digest: Uint8Array } {
  const known = decodedTransactions.get(bytes);
  if (known !== undefined) return { tx: known, digest: transactionDigest(known) };
  const tx = decodeWith(TransactionCodec, bytes);
  return { tx, digest: wireDigest(tx, bytes) };
}
