import { Bucket, bucketKey } from "../ledger/index.ts";
import {
  ADDRESS_BYTES,
  type Codec,
  DIGEST_BYTES,
  decodeWith,
  encodeWith,
  FieldReader,
  PUBLIC_KEY_BYTES,
} from "../spec/index.ts";

/**
 * A channel's on-chain state, stored in the channels bucket under its id.
 * The record exists from open to settlement; settling deletes it (the id
 * can never be opened again, see channel-id.ts).
 */
export interface ChannelRecord {
  /** The payer's address and public key (vouchers are verified with it). */
  readonly payer: Uint8Array;
  readonly payerPublicKey: Uint8Array;
  readonly payee: Uint8Array;
  /** Value locked in the module's escrow for this channel. */
  readonly deposit: bigint;
  /** Challenge period in commits. */
  readonly challengePeriod: number;
  readonly openedAtCommit: number;
  /** A pending unilateral close by the payer, or null. */
  readonly closing: ChannelClosing | null;
}

/** A payer's close waiting out its challenge period. */
export interface ChannelClosing {
  /** The amount claimed for the payee: the best voucher presented so far (0 with none). Capped at the deposit when paid. */
  readonly amount: bigint;
  /** That voucher's sequence (0 with none). */
  readonly sequence: number;
  readonly startedAtCommit: number;
  /** Challenges are accepted up to and including this commit index; settle after it. */
  readonly deadlineCommit: number;
}

const ChannelClosingCodec: Codec<ChannelClosing> = {
  type: "ChannelClosing",
  maxBytes: 48,
  toValue: (c) => [c.amount, c.sequence, c.startedAtCommit, c.deadlineCommit],
  fromValue(value, type = "ChannelClosing") {
    const reader = FieldReader.of(type, value, 4);
    return {
      amount: reader.amount("amount"),
      sequence: reader.integer("sequence"),
      startedAtCommit: reader.integer("startedAtCommit"),
      deadlineCommit: reader.integer("deadlineCommit"),
    };
  },
};

export const ChannelRecordCodec: Codec<ChannelRecord> = {
  type: "ChannelRecord",
  maxBytes: 192,
  toValue: (r) => [
    r.payer,
    r.payerPublicKey,
    r.payee,
    r.deposit,
    r.challengePeriod,
    r.openedAtCommit,
    r.closing === null ? null : ChannelClosingCodec.toValue(r.closing),
  ],
  fromValue(value, type = "ChannelRecord") {
    const reader = FieldReader.of(type, value, 7);
    return {
      payer: reader.bytes("payer", { exact: ADDRESS_BYTES }),
      payerPublicKey: reader.bytes("payerPublicKey", { exact: PUBLIC_KEY_BYTES }),
      payee: reader.bytes("payee", { exact: ADDRESS_BYTES }),
      deposit: reader.amount("deposit"),
      challengePeriod: reader.integer("challengePeriod"),
      openedAtCommit: reader.integer("openedAtCommit"),
      closing: reader.nested("closing", (v, t) => (v === null ? null : ChannelClosingCodec.fromValue(v, t))),
    };
  },
};

export const encodeChannelRecord = (r: ChannelRecord): Uint8Array => encodeWith(ChannelRecordCodec, r);
export const decodeChannelRecord = (b: Uint8Array): ChannelRecord => decodeWith(ChannelRecordCodec, b);

/** The module-relative state key of a channel: its 32-byte id. */
export function channelStateKey(channelId: Uint8Array): Uint8Array {
  if (channelId.byteLength !== DIGEST_BYTES) throw new RangeError("channel ids are 32 bytes");
  return channelId;
}

/** Committed state as the channel readers need it (the node's Ledger fits). */
export interface ChannelStateSource {
  getStateValue(key: Uint8Array): Uint8Array | null;
}

/** A channel's on-chain record from committed state, or null when it is not open. */
export function readChannelRecord(state: ChannelStateSource, channelId: Uint8Array): ChannelRecord | null {
  const bytes = state.getStateValue(bucketKey(Bucket.channelsState, channelStateKey(channelId)));
  return bytes === null ? null : decodeChannelRecord(bytes);
}
