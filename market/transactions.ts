import { buildTransaction, type TxEnvelope } from "../ledger/index.ts";
import type { Transaction } from "../spec/index.ts";
import { encodeMarketPayload, type MarketKindName, type MarketPayloads } from "./payloads.ts";

/**
 * Builds the signed transaction of any market kind:
 * `buildMarketTransaction(envelope, MarketKind.PodCreate, { name, ... })`.
 */
export function buildMarketTransaction<K extends MarketKindName>(
  envelope: TxEnvelope,
  kind: K,
  payload: MarketPayloads[K],
): Transaction {
  return buildTransaction(envelope, kind, encodeMarketPayload(kind, payload));
}
