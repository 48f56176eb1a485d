import {
  ADDRESS_BYTES,
  CHAIN_ID_BYTES_MAX,
  type Codec,
  DIGEST_BYTES,
  decodeWith,
  encodeWith,
  FieldReader,
  PUBLIC_KEY_BYTES,
  type Voucher,
  VoucherCodec,
} from "../spec/index.ts";
import { PEER_NAME_BYTES_MAX } from "./constants.ts";

/**
 * What each side keeps off chain about a channel, persisted in the
 * channelsLocal bucket. The payer's record is written before any voucher it
 * covers leaves the process; the payee's before a voucher it holds is relied
 * on. Both are strict codecs like every protocol object.
 */

/** Where a channel stands as this side knows it. */
export const LocalChannelState = {
  Open: 0,
  /** A unilateral close is pending on chain. */
  Closing: 1,
  /** Paid out on chain. */
  Closed: 2,
} as const;

export type LocalChannelStateValue = (typeof LocalChannelState)[keyof typeof LocalChannelState];

export interface PayerRecord {
  readonly chainId: string;
  readonly channelId: Uint8Array;
  readonly payee: Uint8Array;
  /** The payee's transport name (a libp2p peer id), "" if unknown. */
  readonly payeePeer: string;
  readonly deposit: bigint;
  readonly challengePeriod: number;
  /** The highest cumulative amount this payer has signed. Never decreases. */
  readonly spent: bigint;
  /** The sequence of that voucher (0 before the first). */
  readonly sequence: number;
  /** The newest voucher signed (for resending and for closing), or null. */
  readonly voucher: Voucher | null;
  /** The value of the units received so far (metering), across sessions. */
  readonly receivedAmount: bigint;
  readonly state: LocalChannelStateValue;
}

export interface PayeeRecord {
  readonly chainId: string;
  readonly channelId: Uint8Array;
  readonly payer: Uint8Array;
  readonly payerPublicKey: Uint8Array;
  readonly payerPeer: string;
  readonly deposit: bigint;
  readonly challengePeriod: number;
  /** The best voucher received (highest cumulative amount), or null. */
  readonly voucher: Voucher | null;
  /** The value of the units delivered so far (metering), across sessions. */
  readonly deliveredAmount: bigint;
  readonly state: LocalChannelStateValue;
}

const readOptionalVoucher = (value: unknown, type: string): Voucher | null =>
  value === null ? null : VoucherCodec.fromValue(value, type);

const readState = (reader: FieldReader): LocalChannelStateValue =>
  reader.integer("state", LocalChannelState.Closed) as LocalChannelStateValue;

export const PayerRecordCodec: Codec<PayerRecord> = {
  type: "PayerRecord",
  maxBytes: 640,
  toValue: (r) => [
    r.chainId,
    r.channelId,
    r.payee,
    r.payeePeer,
    r.deposit,
    r.challengePeriod,
    r.spent,
    r.sequence,
    r.voucher === null ? null : VoucherCodec.toValue(r.voucher),
    r.receivedAmount,
    r.state,
  ],
  fromValue(value, type = "PayerRecord") {
    const reader = FieldReader.of(type, value, 11);
    return {
      chainId: reader.string("chainId", CHAIN_ID_BYTES_MAX),
      channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }),
      payee: reader.bytes("payee", { exact: ADDRESS_BYTES }),
      payeePeer: reader.string("payeePeer", PEER_NAME_BYTES_MAX),
      deposit: reader.amount("deposit"),
      challengePeriod: reader.integer("challengePeriod"),
      spent: reader.amount("spent"),
      sequence: reader.integer("sequence"),
      voucher: reader.nested("voucher", readOptionalVoucher),
      receivedAmount: reader.amount("receivedAmount"),
      state: readState(reader),
    };
  },
};

export const PayeeRecordCodec: Codec<PayeeRecord> = {
  type: "PayeeRecord",
  maxBytes: 640,
  toValue: (r) => [
    r.chainId,
    r.channelId,
    r.payer,
    r.payerPublicKey,
    r.payerPeer,
    r.deposit,
    r.challengePeriod,
    r.voucher === null ? null : VoucherCodec.toValue(r.voucher),
    r.deliveredAmount,
    r.state,
  ],
  fromValue(value, type = "PayeeRecord") {
    const reader = FieldReader.of(type, value, 10);
    return {
      chainId: reader.string("chainId", CHAIN_ID_BYTES_MAX),
      channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }),
      payer: reader.bytes("payer", { exact: ADDRESS_BYTES }),
      payerPublicKey: reader.bytes("payerPublicKey", { exact: PUBLIC_KEY_BYTES }),
      payerPeer: reader.string("payerPeer", PEER_NAME_BYTES_MAX),
      deposit: reader.amount("deposit"),
      challengePeriod: reader.integer("challengePeriod"),
      voucher: reader.nested("voucher", readOptionalVoucher),
      deliveredAmount: reader.amount("deliveredAmount"),
      state: readState(reader),
    };
  },
};

export const encodePayerRecord = (r: PayerRecord): Uint8Array => encodeWith(PayerRecordCodec, r);
export const decodePayerRecord = (b: Uint8Array): PayerRecord => decodeWith(PayerRecordCodec, b);
export const encodePayeeRecord = (r: PayeeRecord): Uint8Array => encodeWith(PayeeRecordCodec, r);
export const decodePayeeRecord = (b: Uint8Array): PayeeRecord => decodeWith(PayeeRecordCodec, b);
