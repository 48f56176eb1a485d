import {
  ADDRESS_BYTES,
  assert,
  CHAIN_ID_BYTES_MAX,
  type Codec,
  decodeWith,
  encode,
  encodeWith,
  FieldReader,
  utf8,
} from "../spec/index.ts";
import { Bucket, bucketKey } from "./buckets.ts";

/**
 * Store keys of the ledger's state entries, and the codecs of its global
 * entries. Every state entry is one store key -> one value; the state tree
 * commits to exactly these pairs.
 *
 *   account    [ledgerAccount]   address          -> Account
 *   validator  [ledgerValidator] address          -> ValidatorEntry
 *   params     [ledgerGlobal]    "params"         -> ChainParams
 *   burned     [ledgerGlobal]    "burned"         -> amount
 *   escrow     [ledgerGlobal]    "escrow/<name>"  -> amount held by module <name>
 *   module     [module bucket]   module key       -> module value
 */

/** Chain-wide parameters, fixed at genesis and part of the state. */
export interface ChainParams {
  readonly chainId: string;
  readonly genesisTimeMs: number;
  readonly minValidatorStake: bigint;
  readonly minFee: bigint;
}

export const ChainParamsCodec: Codec<ChainParams> = {
  type: "ChainParams",
  maxBytes: 128 + CHAIN_ID_BYTES_MAX,
  toValue: (p) => [p.chainId, p.genesisTimeMs, p.minValidatorStake, p.minFee],
  fromValue(value, type = "ChainParams") {
    const reader = FieldReader.of(type, value, 4);
    return {
      chainId: reader.string("chainId", CHAIN_ID_BYTES_MAX),
      genesisTimeMs: reader.integer("genesisTimeMs"),
      minValidatorStake: reader.amount("minValidatorStake"),
      minFee: reader.amount("minFee"),
    };
  },
};

/** A bare amount (burned fees, escrow totals). */
export const AmountCodec: Codec<bigint> = {
  type: "Amount",
  maxBytes: 9,
  toValue: (amount) => amount,
  fromValue(value, type = "Amount") {
    return FieldReader.of(type, [value], 1).amount("amount");
  },
};

export const encodeChainParams = (p: ChainParams): Uint8Array => encodeWith(ChainParamsCodec, p);
export const decodeChainParams = (b: Uint8Array): ChainParams => decodeWith(ChainParamsCodec, b);
export const encodeAmount = (amount: bigint): Uint8Array => encode(amount);
export const decodeAmount = (b: Uint8Array): bigint => decodeWith(AmountCodec, b);

export function accountKey(address: Uint8Array): Uint8Array {
  assert(address.byteLength === ADDRESS_BYTES, "address is 20 bytes");
  return bucketKey(Bucket.ledgerAccount, address);
}

export function validatorKey(address: Uint8Array): Uint8Array {
  assert(address.byteLength === ADDRESS_BYTES, "address is 20 bytes");
  return bucketKey(Bucket.ledgerValidator, address);
}

export const PARAMS_KEY: Uint8Array = bucketKey(Bucket.ledgerGlobal, utf8.encode("params"));
export const BURNED_KEY: Uint8Array = bucketKey(Bucket.ledgerGlobal, utf8.encode("burned"));
export const ESCROW_KEY_PREFIX: Uint8Array = bucketKey(Bucket.ledgerGlobal, utf8.encode("escrow/"));

export function escrowKey(moduleName: string): Uint8Array {
  return bucketKey(Bucket.ledgerGlobal, utf8.encode(`escrow/${moduleName}`));
}
