import {
  ADDRESS_BYTES,
  type Codec,
  DIGEST_BYTES,
  Domain,
  decodeWith,
  encode,
  encodeWith,
  FieldReader,
  hash,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  type Voucher,
  VoucherCodec,
} from "../spec/index.ts";

/**
 * The payloads of the channel transaction kinds and their strict codecs.
 * Every payload is a msgpack array with its fields in a fixed order.
 */

export const ChannelKind = {
  Open: "channel.open",
  TopUp: "channel.topup",
  Close: "channel.close",
  Challenge: "channel.challenge",
  Settle: "channel.settle",
  CooperativeClose: "channel.cooperative-close",
} as const;

export type ChannelKindName = (typeof ChannelKind)[keyof typeof ChannelKind];

/** Opens a channel from the sender (the payer) to `payee`, locking `deposit`. `challengePeriod` is in commits. */
export interface ChannelOpen {
  readonly payee: Uint8Array;
  readonly deposit: bigint;
  readonly challengePeriod: number;
}

/** Adds `amount` to the deposit (payer only); cancels a pending unilateral close. */
export interface ChannelTopUp {
  readonly channelId: Uint8Array;
  readonly amount: bigint;
}

/**
 * By the payee: settles at once, paying the voucher's amount (at most the
 * deposit) to the payee and the rest to the payer. By the payer: starts the
 * challenge period, claiming the voucher's amount (0 with no voucher).
 */
export interface ChannelClose {
  readonly channelId: Uint8Array;
  readonly voucher: Voucher | null;
}

/** By the payee during the challenge period: a voucher of a higher amount replaces the claimed one. */
export interface ChannelChallenge {
  readonly channelId: Uint8Array;
  readonly voucher: Voucher;
}

/** By either party after the challenge period: pays out the claimed amount. */
export interface ChannelSettle {
  readonly channelId: Uint8Array;
}

/**
 * Signed by both parties: settles at once, `payeeAmount` to the payee and
 * the rest to the payer. Both signatures are over `cooperativeCloseDigest`;
 * the payee's public key travels here because the chain stores only the
 * payee's address.
 */
export interface ChannelCooperativeClose {
  readonly channelId: Uint8Array;
  readonly payeeAmount: bigint;
  readonly payeePublicKey: Uint8Array;
  readonly payerSignature: Uint8Array;
  readonly payeeSignature: Uint8Array;
}

/**
 * What both parties sign to close cooperatively, under its own domain tag
 * (Domain.ChannelCooperativeClose), so no signature over it verifies as a
 * voucher's or a transaction's.
 */
export interface CooperativeCloseBody {
  readonly chainId: string;
  readonly channelId: Uint8Array;
  readonly payeeAmount: bigint;
}

export function cooperativeCloseDigest(body: CooperativeCloseBody): Uint8Array {
  return hash(Domain.ChannelCooperativeClose, encode([body.chainId, body.channelId, body.payeeAmount]));
}

/** A voucher nested in a payload, or null. */
function readOptionalVoucher(value: unknown, type: string): Voucher | null {
  return value === null ? null : VoucherCodec.fromValue(value, type);
}

export const ChannelOpenCodec: Codec<ChannelOpen> = {
  type: "ChannelOpen",
  maxBytes: 64,
  toValue: (p) => [p.payee, p.deposit, p.challengePeriod],
  fromValue(value, type = "ChannelOpen") {
    const reader = FieldReader.of(type, value, 3);
    return {
      payee: reader.bytes("payee", { exact: ADDRESS_BYTES }),
      deposit: reader.amount("deposit"),
      challengePeriod: reader.integer("challengePeriod"),
    };
  },
};

export const ChannelTopUpCodec: Codec<ChannelTopUp> = {
  type: "ChannelTopUp",
  maxBytes: 64,
  toValue: (p) => [p.channelId, p.amount],
  fromValue(value, type = "ChannelTopUp") {
    const reader = FieldReader.of(type, value, 2);
    return { channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }), amount: reader.amount("amount") };
  },
};

export const ChannelCloseCodec: Codec<ChannelClose> = {
  type: "ChannelClose",
  maxBytes: 64 + VoucherCodec.maxBytes,
  toValue: (p) => [p.channelId, p.voucher === null ? null : VoucherCodec.toValue(p.voucher)],
  fromValue(value, type = "ChannelClose") {
    const reader = FieldReader.of(type, value, 2);
    return {
      channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }),
      voucher: reader.nested("voucher", readOptionalVoucher),
    };
  },
};

export const ChannelChallengeCodec: Codec<ChannelChallenge> = {
  type: "ChannelChallenge",
  maxBytes: 64 + VoucherCodec.maxBytes,
  toValue: (p) => [p.channelId, VoucherCodec.toValue(p.voucher)],
  fromValue(value, type = "ChannelChallenge") {
    const reader = FieldReader.of(type, value, 2);
    return {
      channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }),
      voucher: reader.nested("voucher", (v, t) => VoucherCodec.fromValue(v, t)),
    };
  },
};

export const ChannelSettleCodec: Codec<ChannelSettle> = {
  type: "ChannelSettle",
  maxBytes: 48,
  toValue: (p) => [p.channelId],
  fromValue(value, type = "ChannelSettle") {
    return { channelId: FieldReader.of(type, value, 1).bytes("channelId", { exact: DIGEST_BYTES }) };
  },
};

export const ChannelCooperativeCloseCodec: Codec<ChannelCooperativeClose> = {
  type: "ChannelCooperativeClose",
  maxBytes: 256,
  toValue: (p) => [p.channelId, p.payeeAmount, p.payeePublicKey, p.payerSignature, p.payeeSignature],
  fromValue(value, type = "ChannelCooperativeClose") {
    const reader = FieldReader.of(type, value, 5);
    return {
      channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }),
      payeeAmount: reader.amount("payeeAmount"),
      payeePublicKey: reader.bytes("payeePublicKey", { exact: PUBLIC_KEY_BYTES }),
      payerSignature: reader.bytes("payerSignature", { exact: SIGNATURE_BYTES }),
      payeeSignature: reader.bytes("payeeSignature", { exact: SIGNATURE_BYTES }),
    };
  },
};

export const encodeChannelOpen = (p: ChannelOpen): Uint8Array => encodeWith(ChannelOpenCodec, p);
export const decodeChannelOpen = (b: Uint8Array): ChannelOpen => decodeWith(ChannelOpenCodec, b);
export const encodeChannelTopUp = (p: ChannelTopUp): Uint8Array => encodeWith(ChannelTopUpCodec, p);
export const decodeChannelTopUp = (b: Uint8Array): ChannelTopUp => decodeWith(ChannelTopUpCodec, b);
export const encodeChannelClose = (p: ChannelClose): Uint8Array => encodeWith(ChannelCloseCodec, p);
export const decodeChannelClose = (b: Uint8Array): ChannelClose => decodeWith(ChannelCloseCodec, b);
export const encodeChannelChallenge = (p: ChannelChallenge): Uint8Array =>
  encodeWith(ChannelChallengeCodec, p);
export const decodeChannelChallenge = (b: Uint8Array): ChannelChallenge =>
  decodeWith(ChannelChallengeCodec, b);
export const encodeChannelSettle = (p: ChannelSettle): Uint8Array => encodeWith(ChannelSettleCodec, p);
export const decodeChannelSettle = (b: Uint8Array): ChannelSettle => decodeWith(ChannelSettleCodec, b);
export const encodeChannelCooperativeClose = (p: ChannelCooperativeClose): Uint8Array =>
  encodeWith(ChannelCooperativeCloseCodec, p);
export const decodeChannelCooperativeClose = (b: Uint8Array): ChannelCooperativeClose =>
  decodeWith(ChannelCooperativeCloseCodec, b);
