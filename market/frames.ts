import { PROMPT_BYTES_MAX } from "../compute/index.ts";
import {
  type Codec,
  CodecError,
  DIGEST_BYTES,
  decodeWith,
  type Encodable,
  encodeWith,
  FieldReader,
  type Voucher,
  VoucherCodec,
} from "../spec/index.ts";
import { CREDIT_WINDOW_TOKENS_MAX, REQUEST_ID_BYTES, TOKENS_PER_FRAME_MAX } from "./constants.ts";

/**
 * The metered inference stream's wire frames. One request runs on one
 * stream: the client sends `request`, the provider answers `accepted` (or
 * `refused`), then streams its tokens while the client pays with `pay`
 * frames (cumulative channel vouchers), and ends with `done`. Tokens travel
 * in `tokens` frames, each carrying the consecutive tokens generated since
 * the last one (at most TOKENS_PER_FRAME_MAX; see token-batcher.ts), or one
 * at a time in `token` frames. Either side may `cancel`/`refused` at any
 * time. Each frame is a msgpack array whose first element is its type;
 * decoding is strict and every failure is a CodecError.
 */

export const ClientFrameType = { Request: 1, Pay: 2, Cancel: 3 } as const;
export const ProviderFrameType = { Accepted: 1, Token: 2, Done: 3, Refused: 4, Tokens: 5 } as const;

/** Temperatures travel as integer thousandths (the codec carries no floats). */
export const TEMPERATURE_SCALE = 1000;
/** Bounds of the text fields of frames. */
export const REASON_BYTES_MAX = 256;
export const ERROR_CODE_BYTES_MAX = 64;
/** One token's text is at most one UTF-8 character (4 bytes) plus a flushed remainder. */
export const TOKEN_TEXT_BYTES_MAX = 16;
/** Largest frame: a request with a full prompt. */
export const FRAME_BYTES_MAX = PROMPT_BYTES_MAX + 512;

export interface RequestFrame {
  readonly type: "request";
  readonly requestId: Uint8Array;
  readonly podId: Uint8Array;
  /** Content hash of the model to run. */
  readonly model: Uint8Array;
  readonly prompt: string;
  readonly maxTokens: number;
  readonly temperatureMilli: number;
  readonly topK: number;
  readonly seed: number;
  /** The payer's channel to this provider; used by this request alone while it runs. */
  readonly channelId: Uint8Array;
  readonly maxPricePerToken: bigint;
}

export interface PayFrame {
  readonly type: "pay";
  readonly voucher: Voucher;
}

export interface CancelFrame {
  readonly type: "cancel";
  readonly reason: string;
}

export type ClientFrame = RequestFrame | PayFrame | CancelFrame;

export interface AcceptedFrame {
  readonly type: "accepted";
  readonly requestId: Uint8Array;
  readonly pricePerToken: bigint;
  /** Tokens the provider delivers beyond what is paid before it waits. */
  readonly creditWindowTokens: number;
}

export interface TokenFrame {
  readonly type: "token";
  readonly index: number;
  readonly id: number;
  readonly text: string;
}

/** Consecutive tokens: token i of the frame is the request's token `index + i`. */
export interface TokensFrame {
  readonly type: "tokens";
  readonly index: number;
  readonly ids: readonly number[];
  readonly texts: readonly string[];
}

export type DoneReason = "length" | "unpaid" | "cancelled" | "deposit";
export const DONE_REASONS: readonly DoneReason[] = ["length", "unpaid", "cancelled", "deposit"];

export interface DoneFrame {
  readonly type: "done";
  readonly tokens: number;
  readonly reason: DoneReason;
}

export interface RefusedFrame {
  readonly type: "refused";
  readonly code: string;
  readonly message: string;
}

export type ProviderFrame = AcceptedFrame | TokenFrame | TokensFrame | DoneFrame | RefusedFrame;

function tagOf(
  value: unknown,
  type: string,
  counts: Record<number, number>,
): { tag: number; reader: FieldReader } {
  const tag = Array.isArray(value) ? value[0] : undefined;
  const count = typeof tag === "number" ? counts[tag] : undefined;
  if (count === undefined)
    throw new CodecError("WRONG_TYPE", `${type}: unknown frame type`, { type, field: "type" });
  const reader = FieldReader.of(type, value, count);
  reader.integer("type");
  return { tag: tag as number, reader };
}

const CLIENT_FIELDS: Record<number, number> = {
  [ClientFrameType.Request]: 11,
  [ClientFrameType.Pay]: 2,
  [ClientFrameType.Cancel]: 2,
};

export const ClientFrameCodec: Codec<ClientFrame> = {
  type: "ClientFrame",
  maxBytes: FRAME_BYTES_MAX,
  toValue(frame): Encodable {
    switch (frame.type) {
      case "request":
        return [
          ClientFrameType.Request,
          frame.requestId,
          frame.podId,
          frame.model,
          frame.prompt,
          frame.maxTokens,
          frame.temperatureMilli,
          frame.topK,
          frame.seed,
          frame.channelId,
          frame.maxPricePerToken,
        ];
      case "pay":
        return [ClientFrameType.Pay, VoucherCodec.toValue(frame.voucher)];
      case "cancel":
        return [ClientFrameType.Cancel, frame.reason];
    }
  },
  fromValue(value, type = "ClientFrame") {
    const { tag, reader } = tagOf(value, type, CLIENT_FIELDS);
    switch (tag) {
      case ClientFrameType.Request:
        return {
          type: "request",
          requestId: reader.bytes("requestId", { exact: REQUEST_ID_BYTES }),
          podId: reader.bytes("podId", { exact: DIGEST_BYTES }),
          model: reader.bytes("model", { exact: DIGEST_BYTES }),
          prompt: reader.string("prompt", PROMPT_BYTES_MAX),
          maxTokens: reader.integer("maxTokens"),
          temperatureMilli: reader.integer("temperatureMilli"),
          topK: reader.integer("topK"),
          seed: reader.integer("seed"),
          channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }),
          maxPricePerToken: reader.amount("maxPricePerToken"),
        };
      case ClientFrameType.Pay:
        return { type: "pay", voucher: reader.nested("voucher", (v, t) => VoucherCodec.fromValue(v, t)) };
      default:
        return { type: "cancel", reason: reader.string("reason", REASON_BYTES_MAX) };
    }
  },
};

const PROVIDER_FIELDS: Record<number, number> = {
  [ProviderFrameType.Accepted]: 4,
  [ProviderFrameType.Token]: 4,
  [ProviderFrameType.Done]: 3,
  [ProviderFrameType.Refused]: 3,
  [ProviderFrameType.Tokens]: 4,
};

/** Largest token id: ids are unsigned 32-bit. */
const TOKEN_ID_MAX = 0xffff_ffff;

export const ProviderFrameCodec: Codec<ProviderFrame> = {
  type: "ProviderFrame",
  /** A full `tokens` frame: 64 tokens of at most 5 + 17 bytes each (1,408), and its headers. */
  maxBytes: 2048,
  toValue(frame): Encodable {
    switch (frame.type) {
      case "accepted":
        return [ProviderFrameType.Accepted, frame.requestId, frame.pricePerToken, frame.creditWindowTokens];
      case "token":
        return [ProviderFrameType.Token, frame.index, frame.id, frame.text];
      case "tokens":
        return [ProviderFrameType.Tokens, frame.index, frame.ids, frame.texts];
      case "done":
        return [ProviderFrameType.Done, frame.tokens, frame.reason];
      case "refused":
        return [ProviderFrameType.Refused, frame.code, frame.message];
    }
  },
  fromValue(value, type = "ProviderFrame") {
    const { tag, reader } = tagOf(value, type, PROVIDER_FIELDS);
    switch (tag) {
      case ProviderFrameType.Accepted:
        return {
          type: "accepted",
          requestId: reader.bytes("requestId", { exact: REQUEST_ID_BYTES }),
          pricePerToken: reader.amount("pricePerToken"),
          creditWindowTokens: reader.integer("creditWindowTokens", CREDIT_WINDOW_TOKENS_MAX),
        };
      case ProviderFrameType.Token:
        return {
          type: "token",
          index: reader.integer("index"),
          id: reader.integer("id", TOKEN_ID_MAX),
          text: reader.string("text", TOKEN_TEXT_BYTES_MAX),
        };
      case ProviderFrameType.Tokens: {
        const index = reader.integer("index");
        const ids = reader.array("ids", TOKENS_PER_FRAME_MAX);
        const texts = reader.array("texts", TOKENS_PER_FRAME_MAX);
        if (ids.length === 0 || ids.length !== texts.length) {
          throw new CodecError("OUT_OF_RANGE", `${type}: ${ids.length} ids and ${texts.length} texts`, {
            type,
            field: "texts",
          });
        }
        const idReader = FieldReader.of(`${type}.ids`, ids, ids.length);
        const textReader = FieldReader.of(`${type}.texts`, texts, texts.length);
        return {
          type: "tokens",
          index,
          ids: ids.map((_, i) => idReader.integer(String(i), TOKEN_ID_MAX)),
          texts: texts.map((_, i) => textReader.string(String(i), TOKEN_TEXT_BYTES_MAX)),
        };
      }
      case ProviderFrameType.Done: {
        const tokens = reader.integer("tokens");
        const reason = reader.string("reason", 16);
        if (!(DONE_REASONS as readonly string[]).includes(reason)) {
          throw new CodecError("OUT_OF_RANGE", `${type}.reason: ${JSON.stringify(reason)}`, {
            type,
            field: "reason",
          });
        }
        return { type: "done", tokens, reason: reason as DoneReason };
      }
      default:
        return {
          type: "refused",
          code: reader.string("code", ERROR_CODE_BYTES_MAX),
          message: reader.string("message", REASON_BYTES_MAX),
        };
    }
  },
};

export const encodeClientFrame = (frame: ClientFrame): Uint8Array => encodeWith(ClientFrameCodec, frame);
export const decodeClientFrame = (bytes: Uint8Array): ClientFrame => decodeWith(ClientFrameCodec, bytes);

/*
 * Token frames are the hot path (one per token, a few microseconds of budget
 * each), so they have a direct encoder and decoder of the same canonical
 * msgpack bytes the generic codec produces: [fixarray 4, 2, index, id,
 * text] with every integer below 2^32 in its shortest form and the text a
 * fixstr. The fast decoder accepts only such canonical bytes and hands
 * anything else to the generic codec, which decodes it or throws the
 * generic codec's error; a property test checks that both agree.
 */

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();
/** The most bytes a fixstr holds; token texts are at most TOKEN_TEXT_BYTES_MAX (16). */
const FIXSTR_BYTES_MAX = 31;
const UINT32_LIMIT = 2 ** 32;

/** Most tokens of a byte-level model are one ASCII character: skip the TextEncoder for them. */
function asciiByte(text: string): Uint8Array {
  return Uint8Array.of(text.charCodeAt(0));
}

function uintBytes(value: number): number {
  return value < 0x80 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : 5;
}

function writeUint(out: Uint8Array, at: number, value: number): number {
  if (value < 0x80) {
    out[at] = value;
    return at + 1;
  }
  if (value < 0x100) {
    out[at] = 0xcc;
    out[at + 1] = value;
    return at + 2;
  }
  if (value < 0x10000) {
    out[at] = 0xcd;
    out[at + 1] = value >>> 8;
    out[at + 2] = value & 0xff;
    return at + 3;
  }
  out[at] = 0xce;
  out[at + 1] = value >>> 24;
  out[at + 2] = (value >>> 16) & 0xff;
  out[at + 3] = (value >>> 8) & 0xff;
  out[at + 4] = value & 0xff;
  return at + 5;
}

/** Reads a canonical unsigned integer below 2^32 at `at`: [value, next], or null when the bytes are anything else. */
function readUint(bytes: Uint8Array, at: number): [number, number] | null {
  const tag = bytes[at];
  if (tag === undefined) return null;
  if (tag < 0x80) return [tag, at + 1];
  if (tag === 0xcc && at + 1 < bytes.length) {
    const value = bytes[at + 1]!;
    return value >= 0x80 ? [value, at + 2] : null;
  }
  if (tag === 0xcd && at + 2 < bytes.length) {
    const value = (bytes[at + 1]! << 8) | bytes[at + 2]!;
    return value >= 0x100 ? [value, at + 3] : null;
  }
  if (tag === 0xce && at + 4 < bytes.length) {
    const value =
      ((bytes[at + 1]! << 24) >>> 0) + (bytes[at + 2]! << 16) + (bytes[at + 3]! << 8) + bytes[at + 4]!;
    return value >= 0x10000 ? [value, at + 5] : null;
  }
  return null;
}

function encodeTokenFrame(frame: TokenFrame): Uint8Array | null {
  if (!Number.isInteger(frame.index) || frame.index < 0 || frame.index >= UINT32_LIMIT) return null;
  if (!Number.isInteger(frame.id) || frame.id < 0 || frame.id >= UINT32_LIMIT) return null;
  const text =
    frame.text.length === 1 && frame.text.charCodeAt(0) < 0x80
      ? asciiByte(frame.text)
      : utf8Encoder.encode(frame.text);
  if (text.byteLength > FIXSTR_BYTES_MAX) return null;
  const out = new Uint8Array(2 + uintBytes(frame.index) + uintBytes(frame.id) + 1 + text.byteLength);
  out[0] = 0x94;
  out[1] = ProviderFrameType.Token;
  let at = writeUint(out, 2, frame.index);
  at = writeUint(out, at, frame.id);
  out[at] = 0xa0 | text.byteLength;
  out.set(text, at + 1);
  return out;
}

function decodeTokenFrame(bytes: Uint8Array): TokenFrame | null {
  if (bytes.length < 5 || bytes[0] !== 0x94 || bytes[1] !== ProviderFrameType.Token) return null;
  const index = readUint(bytes, 2);
  if (index === null) return null;
  const id = readUint(bytes, index[1]);
  if (id === null) return null;
  const at = id[1];
  const tag = bytes[at];
  if (tag === undefined || (tag & 0xe0) !== 0xa0) return null;
  const length = tag & 0x1f;
  if (at + 1 + length !== bytes.length || length > TOKEN_TEXT_BYTES_MAX) return null;
  let text: string;
  if (length === 1 && bytes[at + 1]! < 0x80) {
    text = String.fromCharCode(bytes[at + 1]!);
  } else {
    try {
      text = utf8Decoder.decode(bytes.subarray(at + 1));
    } catch {
      return null;
    }
  }
  // A lone surrogate cannot come out of fatal UTF-8 decoding, so the text re-encodes to exactly these bytes.
  return { type: "token", index: index[0], id: id[0], text };
}

/** The bytes of a msgpack array header for `length` items (fixarray below 16, else array16). */
function arrayHeaderBytes(length: number): number {
  return length < 16 ? 1 : 3;
}

function writeArrayHeader(out: Uint8Array, at: number, length: number): number {
  if (length < 16) {
    out[at] = 0x90 | length;
    return at + 1;
  }
  out[at] = 0xdc;
  out[at + 1] = length >>> 8;
  out[at + 2] = length & 0xff;
  return at + 3;
}

/** Reads a canonical array header for 1 to TOKENS_PER_FRAME_MAX items: [length, next], or null. */
function readArrayHeader(bytes: Uint8Array, at: number): [number, number] | null {
  const tag = bytes[at];
  if (tag === undefined) return null;
  if ((tag & 0xf0) === 0x90) return (tag & 0x0f) === 0 ? null : [tag & 0x0f, at + 1];
  if (tag !== 0xdc || at + 2 >= bytes.length) return null;
  const length = (bytes[at + 1]! << 8) | bytes[at + 2]!;
  return length >= 16 && length <= TOKENS_PER_FRAME_MAX ? [length, at + 3] : null;
}

/** A token's text as UTF-8 (one ASCII character without the TextEncoder). */
function textBytes(text: string): Uint8Array {
  return text.length === 1 && text.charCodeAt(0) < 0x80 ? asciiByte(text) : utf8Encoder.encode(text);
}

function encodeTokensFrame(frame: TokensFrame): Uint8Array | null {
  const { index, ids, texts } = frame;
  const count = ids.length;
  if (count === 0 || count !== texts.length || count > TOKENS_PER_FRAME_MAX) return null;
  if (!Number.isInteger(index) || index < 0 || index >= UINT32_LIMIT) return null;
  let size = 2 + uintBytes(index) + 2 * arrayHeaderBytes(count);
  let ascii = true;
  for (let i = 0; i < count; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= UINT32_LIMIT) return null;
    const text = texts[i]!;
    if (text.length !== 1 || text.charCodeAt(0) >= 0x80) ascii = false;
    size += uintBytes(id);
  }
  // Most frames are single ASCII characters: 2 bytes each, no encoder; otherwise encode each text once.
  const encoded = ascii ? null : texts.map(textBytes);
  if (encoded === null) size += 2 * count;
  else {
    for (const text of encoded) {
      if (text.byteLength > TOKEN_TEXT_BYTES_MAX) return null;
      size += 1 + text.byteLength;
    }
  }
  const out = new Uint8Array(size);
  out[0] = 0x94;
  out[1] = ProviderFrameType.Tokens;
  let at = writeUint(out, 2, index);
  at = writeArrayHeader(out, at, count);
  for (let i = 0; i < count; i++) at = writeUint(out, at, ids[i]!);
  at = writeArrayHeader(out, at, count);
  for (let i = 0; i < count; i++) {
    if (encoded === null) {
      out[at] = 0xa1;
      out[at + 1] = texts[i]!.charCodeAt(0);
      at += 2;
    } else {
      const text = encoded[i]!;
      out[at] = 0xa0 | text.byteLength;
      out.set(text, at + 1);
      at += 1 + text.byteLength;
    }
  }
  return out;
}

function decodeTokensFrame(bytes: Uint8Array): TokensFrame | null {
  if (bytes.length < 7 || bytes[0] !== 0x94 || bytes[1] !== ProviderFrameType.Tokens) return null;
  const index = readUint(bytes, 2);
  if (index === null) return null;
  const idsHeader = readArrayHeader(bytes, index[1]);
  if (idsHeader === null) return null;
  const count = idsHeader[0];
  let at = idsHeader[1];
  const ids: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const id = readUint(bytes, at);
    if (id === null) return null;
    ids[i] = id[0];
    at = id[1];
  }
  const textsHeader = readArrayHeader(bytes, at);
  if (textsHeader === null || textsHeader[0] !== count) return null;
  at = textsHeader[1];
  const texts: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const tag = bytes[at];
    if (tag === undefined || (tag & 0xe0) !== 0xa0) return null;
    const length = tag & 0x1f;
    if (length > TOKEN_TEXT_BYTES_MAX || at + 1 + length > bytes.length) return null;
    if (length === 1 && bytes[at + 1]! < 0x80) {
      texts[i] = String.fromCharCode(bytes[at + 1]!);
    } else {
      try {
        texts[i] = utf8Decoder.decode(bytes.subarray(at + 1, at + 1 + length));
      } catch {
        return null;
      }
    }
    at += 1 + length;
  }
  return at === bytes.length ? { type: "tokens", index: index[0], ids, texts } : null;
}

export function encodeProviderFrame(frame: ProviderFrame): Uint8Array {
  const fast =
    frame.type === "tokens"
      ? encodeTokensFrame(frame)
      : frame.type === "token"
        ? encodeTokenFrame(frame)
        : null;
  return fast ?? encodeWith(ProviderFrameCodec, frame);
}

export function decodeProviderFrame(bytes: Uint8Array): ProviderFrame {
  return decodeTokensFrame(bytes) ?? decodeTokenFrame(bytes) ?? decodeWith(ProviderFrameCodec, bytes);
}

/** Cuts text to `maxBytes` bytes on a character boundary (reasons and messages). */
export function truncateText(text: string, maxBytes = REASON_BYTES_MAX): string {
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
