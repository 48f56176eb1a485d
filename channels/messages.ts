import {
  type Codec,
  CodecError,
  DIGEST_BYTES,
  decodeWith,
  encodeWith,
  FieldReader,
  type Voucher,
  VoucherCodec,
} from "../spec/index.ts";
import { CHANNEL_MESSAGE_BYTES_MAX, END_REASON_BYTES_MAX, UNIT_NAME_BYTES_MAX } from "./constants.ts";

/**
 * The off-chain channel protocol's wire messages. Each is a msgpack array
 * whose first element is the message type; decoding is strict (field count,
 * types, sizes, canonical bytes) and every failure is a CodecError.
 *
 * - quote   (payee -> payer): the price of one unit; the payer pays nothing before it.
 * - voucher (payer -> payee): a signed cumulative voucher. Only the newest matters,
 *   so a lost voucher is replaced by the next and a late one is ignored.
 * - status  (payee -> payer): what the payee has delivered and the best voucher
 *   it holds; an acknowledgement, and a request for payment when `waiting`. A
 *   payer that sees an accepted amount below what it signed resends its newest
 *   voucher (the last one was lost).
 * - end     (either way): the sender stops; the reason is for logs.
 */

export const ChannelMessageType = { Quote: 1, Voucher: 2, Status: 3, End: 4 } as const;

export interface QuoteMessage {
  readonly type: "quote";
  readonly channelId: Uint8Array;
  readonly unit: string;
  readonly pricePerUnit: bigint;
}

export interface VoucherMessage {
  readonly type: "voucher";
  readonly voucher: Voucher;
}

export interface StatusMessage {
  readonly type: "status";
  readonly channelId: Uint8Array;
  readonly deliveredAmount: bigint;
  readonly acceptedAmount: bigint;
  readonly acceptedSequence: number;
  /** The payee has work ready and waits for payment. */
  readonly waiting: boolean;
}

export interface EndMessage {
  readonly type: "end";
  readonly channelId: Uint8Array;
  readonly reason: string;
}

export type ChannelMessage = QuoteMessage | VoucherMessage | StatusMessage | EndMessage;

/** The channel a message is about. */
export function messageChannelId(message: ChannelMessage): Uint8Array {
  return message.type === "voucher" ? message.voucher.channelId : message.channelId;
}

const FIELD_COUNTS: Record<number, number> = {
  [ChannelMessageType.Quote]: 4,
  [ChannelMessageType.Voucher]: 2,
  [ChannelMessageType.Status]: 6,
  [ChannelMessageType.End]: 3,
};

export const ChannelMessageCodec: Codec<ChannelMessage> = {
  type: "ChannelMessage",
  maxBytes: CHANNEL_MESSAGE_BYTES_MAX,
  toValue(message) {
    switch (message.type) {
      case "quote":
        return [ChannelMessageType.Quote, message.channelId, message.unit, message.pricePerUnit];
      case "voucher":
        return [ChannelMessageType.Voucher, VoucherCodec.toValue(message.voucher)];
      case "status":
        return [
          ChannelMessageType.Status,
          message.channelId,
          message.deliveredAmount,
          message.acceptedAmount,
          message.acceptedSequence,
          message.waiting,
        ];
      case "end":
        return [ChannelMessageType.End, message.channelId, message.reason];
    }
  },
  fromValue(value, type = "ChannelMessage") {
    const tag = Array.isArray(value) ? value[0] : undefined;
    const count = typeof tag === "number" ? FIELD_COUNTS[tag] : undefined;
    if (count === undefined) {
      throw new CodecError("WRONG_TYPE", `${type}: unknown message type`, { type, field: "type" });
    }
    const reader = FieldReader.of(type, value, count);
    reader.integer("type");
    switch (tag) {
      case ChannelMessageType.Quote:
        return {
          type: "quote",
          channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }),
          unit: reader.string("unit", UNIT_NAME_BYTES_MAX),
          pricePerUnit: reader.amount("pricePerUnit"),
        };
      case ChannelMessageType.Voucher:
        return { type: "voucher", voucher: reader.nested("voucher", (v, t) => VoucherCodec.fromValue(v, t)) };
      case ChannelMessageType.Status:
        return {
          type: "status",
          channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }),
          deliveredAmount: reader.amount("deliveredAmount"),
          acceptedAmount: reader.amount("acceptedAmount"),
          acceptedSequence: reader.integer("acceptedSequence"),
          waiting: reader.boolean("waiting"),
        };
      default:
        return {
          type: "end",
          channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }),
          reason: reader.string("reason", END_REASON_BYTES_MAX),
        };
    }
  },
};

/** Cuts an end reason to END_REASON_BYTES_MAX bytes on a character boundary. */
export function truncateReason(reason: string): string {
  let out = "";
  let bytes = 0;
  for (const char of reason) {
    const size = Buffer.byteLength(char, "utf8");
    if (bytes + size > END_REASON_BYTES_MAX) break;
    out += char;
    bytes += size;
  }
  return out;
}

export const encodeChannelMessage = (m: ChannelMessage): Uint8Array => encodeWith(ChannelMessageCodec, m);
export const decodeChannelMessage = (b: Uint8Array): ChannelMessage => decodeWith(ChannelMessageCodec, b);
