import { buildTransaction, type TxEnvelope } from "../ledger/index.ts";
import { addressFromPublicKey, type KeyPair, sign, type Transaction } from "../spec/index.ts";
import { deriveChannelId } from "./channel-id.ts";
import {
  type ChannelChallenge,
  type ChannelClose,
  type ChannelCooperativeClose,
  ChannelKind,
  type ChannelOpen,
  type ChannelSettle,
  type ChannelTopUp,
  type CooperativeCloseBody,
  cooperativeCloseDigest,
  encodeChannelChallenge,
  encodeChannelClose,
  encodeChannelCooperativeClose,
  encodeChannelOpen,
  encodeChannelSettle,
  encodeChannelTopUp,
} from "./payloads.ts";

/** Builders of signed channel transactions (the SDK, the CLI and tests use them). */

/** The open transaction and the id its channel will have. */
export function buildChannelOpen(options: TxEnvelope & ChannelOpen): {
  tx: Transaction;
  channelId: Uint8Array;
} {
  const tx = buildTransaction(
    options,
    ChannelKind.Open,
    encodeChannelOpen({
      payee: options.payee,
      deposit: options.deposit,
      challengePeriod: options.challengePeriod,
    }),
  );
  const payer = addressFromPublicKey(options.keys.publicKey);
  return { tx, channelId: deriveChannelId(options.chainId, payer, options.payee, options.nonce) };
}

export function buildChannelTopUp(options: TxEnvelope & ChannelTopUp): Transaction {
  return buildTransaction(
    options,
    ChannelKind.TopUp,
    encodeChannelTopUp({ channelId: options.channelId, amount: options.amount }),
  );
}

export function buildChannelClose(options: TxEnvelope & ChannelClose): Transaction {
  return buildTransaction(
    options,
    ChannelKind.Close,
    encodeChannelClose({ channelId: options.channelId, voucher: options.voucher }),
  );
}

export function buildChannelChallenge(options: TxEnvelope & ChannelChallenge): Transaction {
  return buildTransaction(
    options,
    ChannelKind.Challenge,
    encodeChannelChallenge({ channelId: options.channelId, voucher: options.voucher }),
  );
}

export function buildChannelSettle(options: TxEnvelope & ChannelSettle): Transaction {
  return buildTransaction(options, ChannelKind.Settle, encodeChannelSettle({ channelId: options.channelId }));
}

export function buildChannelCooperativeClose(options: TxEnvelope & ChannelCooperativeClose): Transaction {
  return buildTransaction(
    options,
    ChannelKind.CooperativeClose,
    encodeChannelCooperativeClose({
      channelId: options.channelId,
      payeeAmount: options.payeeAmount,
      payeePublicKey: options.payeePublicKey,
      payerSignature: options.payerSignature,
      payeeSignature: options.payeeSignature,
    }),
  );
}

/** One party's signature on a cooperative close (each party signs the same body). */
export function signCooperativeClose(body: CooperativeCloseBody, keys: KeyPair): Uint8Array {
  return sign(cooperativeCloseDigest(body), keys.secretKey);
}
