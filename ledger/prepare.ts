import {
  addressFromPublicKey,
  CodecError,
  decodeTransaction,
  type Transaction,
  transactionDigest,
  verifyTransaction,
} from "../spec/index.ts";
import type { RejectionReason } from "./receipt.ts";
import { byteKey } from "./state-keys.ts";

/**
 * The state-free half of execution: decode each transaction strictly,
 * digest it, check its chain id and verify its signature. None of this
 * depends on state, so it is a pure function of the bytes and the chain id
 * (and could run on several threads without changing any outcome).
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
const addressCache = new Map<string, Uint8Array>();

/** addressFromPublicKey with a bounded cache (drop policy: evict the oldest insertion). */
function senderAddress(publicKey: Uint8Array): Uint8Array {
  const id = byteKey(publicKey);
  const cached = addressCache.get(id);
  if (cached !== undefined) return cached;
  const address = addressFromPublicKey(publicKey);
  if (addressCache.size >= ADDRESS_CACHE_MAX) {
    const oldest = addressCache.keys().next().value;
    if (oldest !== undefined) addressCache.delete(oldest);
  }
  addressCache.set(id, address);
  return address;
}

export function prepareTransaction(bytes: Uint8Array, chainId: string): PreparedTransaction {
  let tx: Transaction;
  try {
    tx = decodeTransaction(bytes);
  } catch (error) {
    if (error instanceof CodecError) return { ok: false, txHash: null, reason: "MALFORMED" };
    throw error;
  }
  const txHash = transactionDigest(tx);
  if (tx.chainId !== chainId) return { ok: false, txHash, reason: "WRONG_CHAIN" };
  if (!verifyTransaction(tx, txHash)) return { ok: false, txHash, reason: "BAD_SIGNATURE" };
  const sender = senderAddress(tx.sender);
  return { ok: true, tx, txHash, hashKey: byteKey(txHash), sender, senderKey: byteKey(sender) };
}

export function prepareTransactions(
  transactions: readonly Uint8Array[],
  chainId: string,
): PreparedTransaction[] {
  return transactions.map((bytes) => prepareTransaction(bytes, chainId));
}
