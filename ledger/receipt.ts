import {
  ADDRESS_BYTES,
  type Codec,
  DIGEST_BYTES,
  decodeWith,
  encodeWith,
  FieldReader,
  TX_KIND_BYTES_MAX,
} from "../spec/index.ts";
import {
  ERROR_CODE_BYTES_MAX,
  ERROR_MESSAGE_BYTES_MAX,
  EVENT_DATA_BYTES_MAX,
  EVENT_NAME_BYTES_MAX,
  EVENTS_PER_TX_MAX,
} from "./constants.ts";

/** Something a module reports about a transaction, for clients (a channel id, a job id). */
export interface LedgerEvent {
  readonly name: string;
  readonly data: Uint8Array;
}

/**
 * The outcome of one executed transaction. Every transaction that passed
 * the admission checks (decodes, signed, right chain, right nonce, pays its
 * fee) gets one: `success` false with an error code when its kind failed;
 * its fee was paid and its nonce bumped either way. Receipts are history,
 * stored by transaction hash; the state root does not cover them.
 */
export interface Receipt {
  readonly txHash: Uint8Array;
  readonly commitIndex: number;
  /** Position of the transaction in its commit's ordered list. */
  readonly position: number;
  /** Sender address. */
  readonly sender: Uint8Array;
  readonly nonce: number;
  readonly kind: string;
  readonly success: boolean;
  /** Error code of a failed transaction; "" on success. */
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly feePaid: bigint;
  readonly feeBurned: bigint;
  readonly events: readonly LedgerEvent[];
}

function readEvent(value: unknown, type: string): LedgerEvent {
  const reader = FieldReader.of(type, value, 2);
  return {
    name: reader.string("name", EVENT_NAME_BYTES_MAX),
    data: reader.bytes("data", { max: EVENT_DATA_BYTES_MAX }),
  };
}

export const ReceiptCodec: Codec<Receipt> = {
  type: "Receipt",
  maxBytes:
    512 + ERROR_MESSAGE_BYTES_MAX + EVENTS_PER_TX_MAX * (EVENT_NAME_BYTES_MAX + EVENT_DATA_BYTES_MAX + 8),
  toValue: (r) => [
    r.txHash,
    r.commitIndex,
    r.position,
    r.sender,
    r.nonce,
    r.kind,
    r.success,
    r.errorCode,
    r.errorMessage,
    r.feePaid,
    r.feeBurned,
    r.events.map((e) => [e.name, e.data]),
  ],
  fromValue(value, type = "Receipt") {
    const reader = FieldReader.of(type, value, 12);
    return {
      txHash: reader.bytes("txHash", { exact: DIGEST_BYTES }),
      commitIndex: reader.integer("commitIndex"),
      position: reader.integer("position"),
      sender: reader.bytes("sender", { exact: ADDRESS_BYTES }),
      nonce: reader.integer("nonce"),
      kind: reader.string("kind", TX_KIND_BYTES_MAX),
      success: reader.boolean("success"),
      errorCode: reader.string("errorCode", ERROR_CODE_BYTES_MAX),
      errorMessage: reader.string("errorMessage", ERROR_MESSAGE_BYTES_MAX),
      feePaid: reader.amount("feePaid"),
      feeBurned: reader.amount("feeBurned"),
      events: reader.array("events", EVENTS_PER_TX_MAX).map((e, i) => readEvent(e, `${type}.events[${i}]`)),
    };
  },
};

export const encodeReceipt = (r: Receipt): Uint8Array => encodeWith(ReceiptCodec, r);
export const decodeReceipt = (bytes: Uint8Array): Receipt => decodeWith(ReceiptCodec, bytes);

/** Why a transaction was rejected: it changed nothing and got no receipt. */
export type RejectionReason =
  | "MALFORMED"
  | "WRONG_CHAIN"
  | "BAD_SIGNATURE"
  | "DUPLICATE"
  | "BAD_NONCE"
  | "FEE_TOO_LOW"
  | "CANNOT_PAY_FEE";

export interface RejectedTransaction {
  readonly position: number;
  /** null when the bytes did not decode. */
  readonly txHash: Uint8Array | null;
  readonly reason: RejectionReason;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes on a character boundary (deterministic). */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  let out = "";
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, "utf8");
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}
