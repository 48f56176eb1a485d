import {
  ADDRESS_BYTES,
  type Codec,
  decodeWith,
  encodeWith,
  FieldReader,
  type KeyPair,
  signTransaction,
  type Transaction,
  transactionDigest,
} from "../spec/index.ts";
import { PEER_ID_BYTES_MAX, TX_FEE_DEFAULT, VALIDATOR_NAME_BYTES_MAX } from "./constants.ts";
import { readMultiaddrs } from "./validator.ts";

/** The transaction kinds of the core module. */
export const CoreKind = {
  Transfer: "transfer",
  Stake: "stake",
  Unstake: "unstake",
} as const;

/** Move `amount` from the sender's balance to `to`. */
export interface TransferPayload {
  readonly to: Uint8Array;
  readonly amount: bigint;
}

/**
 * Lock `amount` more of the sender's balance as stake, registering the sender
 * as a validator (or topping it up), and set its metadata to these values.
 * The resulting stake must reach the chain's minimum validator stake.
 */
export interface StakePayload {
  readonly amount: bigint;
  readonly name: string;
  readonly peerId: string;
  readonly multiaddrs: readonly string[];
}

/** Return `amount` of stake to the balance; what remains is zero (leaving the set) or at least the minimum. */
export interface UnstakePayload {
  readonly amount: bigint;
}

export const TransferPayloadCodec: Codec<TransferPayload> = {
  type: "TransferPayload",
  maxBytes: 64,
  structural: true,
  toValue: (p) => [p.to, p.amount],
  fromValue(value, type = "TransferPayload") {
    const reader = FieldReader.of(type, value, 2);
    return { to: reader.bytes("to", { exact: ADDRESS_BYTES }), amount: reader.amount("amount") };
  },
};

export const StakePayloadCodec: Codec<StakePayload> = {
  type: "StakePayload",
  maxBytes: 4096,
  toValue: (p) => [p.amount, p.name, p.peerId, [...p.multiaddrs]],
  fromValue(value, type = "StakePayload") {
    const reader = FieldReader.of(type, value, 4);
    return {
      amount: reader.amount("amount"),
      name: reader.string("name", VALIDATOR_NAME_BYTES_MAX),
      peerId: reader.string("peerId", PEER_ID_BYTES_MAX),
      multiaddrs: readMultiaddrs(reader, type),
    };
  },
};

export const UnstakePayloadCodec: Codec<UnstakePayload> = {
  type: "UnstakePayload",
  maxBytes: 16,
  toValue: (p) => [p.amount],
  fromValue(value, type = "UnstakePayload") {
    return { amount: FieldReader.of(type, value, 1).amount("amount") };
  },
};

export const encodeTransferPayload = (p: TransferPayload): Uint8Array => encodeWith(TransferPayloadCodec, p);
export const decodeTransferPayload = (b: Uint8Array): TransferPayload => decodeWith(TransferPayloadCodec, b);
export const encodeStakePayload = (p: StakePayload): Uint8Array => encodeWith(StakePayloadCodec, p);
export const decodeStakePayload = (b: Uint8Array): StakePayload => decodeWith(StakePayloadCodec, b);
export const encodeUnstakePayload = (p: UnstakePayload): Uint8Array => encodeWith(UnstakePayloadCodec, p);
export const decodeUnstakePayload = (b: Uint8Array): UnstakePayload => decodeWith(UnstakePayloadCodec, b);

/** What every transaction builder needs: the chain, the signer, its next nonce, and a fee. */
export interface TxEnvelope {
  readonly chainId: string;
  readonly keys: KeyPair;
  readonly nonce: number;
  /** Defaults to TX_FEE_DEFAULT. */
  readonly fee?: bigint;
  /** Signs with `keys` faster than the default (spec `createSigner`), for callers that sign many. */
  readonly signer?: (digest: Uint8Array) => Uint8Array;
}

/** Signs a transaction of any kind with an already-encoded payload (for modules' own builders). */
export function buildTransaction(envelope: TxEnvelope, kind: string, payload: Uint8Array): Transaction {
  const body = {
    chainId: envelope.chainId,
    sender: envelope.keys.publicKey,
    nonce: envelope.nonce,
    fee: envelope.fee ?? TX_FEE_DEFAULT,
    kind,
    payload,
  };
  if (envelope.signer === undefined) return signTransaction(body, envelope.keys);
  return { ...body, signature: envelope.signer(transactionDigest(body)) };
}

export function buildTransfer(options: TxEnvelope & TransferPayload): Transaction {
  return buildTransaction(
    options,
    CoreKind.Transfer,
    encodeTransferPayload({ to: options.to, amount: options.amount }),
  );
}

export function buildStake(
  options: TxEnvelope & { amount: bigint; name?: string; peerId?: string; multiaddrs?: readonly string[] },
): Transaction {
  return buildTransaction(
    options,
    CoreKind.Stake,
    encodeStakePayload({
      amount: options.amount,
      name: options.name ?? "",
      peerId: options.peerId ?? "",
      multiaddrs: options.multiaddrs ?? [],
    }),
  );
}

export function buildUnstake(options: TxEnvelope & UnstakePayload): Transaction {
  return buildTransaction(options, CoreKind.Unstake, encodeUnstakePayload({ amount: options.amount }));
}
