import { LRUCache } from "lru-cache";
import {
  addressFromPublicKey,
  byteKey,
  CodecError,
  decodeTransactionOnce,
  isVerifiedTransaction,
  type Transaction,
  verifyTransaction,
} from "../spec/index.ts";
import type { RejectionReason } from "./receipt.ts";
import { verifySignatures } from "./signatures.ts";

/**
 * The state-free half of execution: decode each transaction strictly,
 * digest it, check its chain id and verify its signature. None of this
 * depends on state, so it is a pure function of the bytes and the chain id;
 * the ledger checks a commit's signatures on several threads at once
 * (`prepareTransactionsParallel`) with the same outcome.
 */
export type PreparedTransaction =
  | {
      readonly ok: true;
      readonly tx: Transaction;
      readonly txHash: Uint8Array;
      readonly hashKey: string;
      readonly sender: Uint8Array;
      readonly senderKey: string;
    }
  | { readonly ok: false; readonly txHash: Uint8Array | null; readonly reason: RejectionReason };

/** Senders repeat across commits; 16,384 addresses covers the active accounts of a busy chain. */
const ADDRESS_CACHE_MAX = 16_384;
const addressCache = new LRUCache<string, Uint8Array>({ max: ADDRESS_CACHE_MAX });

/**
 * addressFromPublicKey with a bounded cache (drop policy: evict the least
 * recently used), for the mempool and execution, which see the same senders
 * over and over. The returned bytes are shared: callers must not mutate them.
 */
export function senderAddress(publicKey: Uint8Array): Uint8Array {
  const id = byteKey(publicKey);
  const cached = addressCache.get(id);
  if (cached !== undefined) return cached;
  const address = addressFromPublicKey(publicKey);
  addressCache.set(id, address);
  return address;
}

/** A transaction that decoded and names this chain; its signature is not yet checked. */
type Decoded = { readonly tx: Transaction; readonly txHash: Uint8Array };

function decodeForChain(bytes: Uint8Array, chainId: string): Decoded | PreparedTransaction {
  let decoded: { tx: Transaction; digest: Uint8Array };
  try {
    decoded = decodeTransactionOnce(bytes);
  } catch (error) {
    if (error instanceof CodecError) return { ok: false, txHash: null, reason: "MALFORMED" };
    throw error;
  }
  const { tx, digest: txHash } = decoded;
  if (tx.chainId !== chainId) return { ok: false, txHash, reason: "WRONG_CHAIN" };
  return { tx, txHash };
}

function finish(decoded: Decoded, signatureValid: boolean): PreparedTransaction {
  const { tx, txHash } = decoded;
  if (!signatureValid) return { ok: false, txHash, reason: "BAD_SIGNATURE" };
  const sender = senderAddress(tx.sender);
  return { ok: true, tx, txHash, hashKey: byteKey(txHash), sender, senderKey: byteKey(sender) };
}

export function prepareTransaction(bytes: Uint8Array, chainId: string): PreparedTransaction {
  const decoded = decodeForChain(bytes, chainId);
  if ("ok" in decoded) return decoded;
  return finish(decoded, verifyTransaction(decoded.tx, decoded.txHash));
}

/** Synchronous preparation (signatures checked one by one on this thread). */
export function prepareTransactions(
  transactions: readonly Uint8Array[],
  chainId: string,
): PreparedTransaction[] {
  return transactions.map((bytes) => prepareTransaction(bytes, chainId));
}

/**
 * The same result as `prepareTransactions`, with the signatures checked
 * concurrently on libuv's thread pool (signatures.ts). The ledger uses it.
 */
export async function prepareTransactionsParallel(
  transactions: readonly Uint8Array[],
  chainId: string,
): Promise<PreparedTransaction[]> {
  const decoded = transactions.map((bytes) => decodeForChain(bytes, chainId));
  // A signature this process verified before (at mempool admission) is looked up, not checked again.
  const unchecked = decoded.map((d) => ("ok" in d || isVerifiedTransaction(d.tx, d.txHash) ? null : d));
  const pending = unchecked.filter((d): d is Decoded => d !== null);
  const valid = await verifySignatures(
    pending.map((d) => ({ signature: d.tx.signature, message: d.txHash, publicKey: d.tx.sender })),
  );
  let next = 0;
  return decoded.map((d, i) => ("ok" in d ? d : finish(d, unchecked[i] === null || valid[next++]!)));
}
