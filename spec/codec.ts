import { isUtf8 } from "node:buffer";
import { Packr, Unpackr } from "msgpackr";
import { AMOUNT_MAX, SAFE_INTEGER_MAX, SIGNATURE_BYTES } from "./constants.ts";
import { CodecError } from "./errors.ts";

/**
 * Canonical encoding. Every protocol object is a msgpack array with its
 * fields in a fixed order; amounts are bigints (always the 8-byte form),
 * other integers are JS numbers, byte strings are bin. Records and maps are
 * never produced or accepted.
 *
 * Decoding is strict: it checks the field count, each field's type and size,
 * rejects trailing bytes, and re-encodes the result to check that the input
 * was the one canonical encoding, so one object has exactly one byte string
 * and one digest. Every failure is a CodecError; nothing else escapes.
 */

const packr = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false });
const unpackr = new Unpackr({
  useRecords: false,
  int64AsType: "bigint",
  mapsAsObjects: false,
  moreTypes: false,
});

export type Encodable = bigint | number | string | boolean | null | Uint8Array | readonly Encodable[];

export function encode(value: Encodable): Uint8Array {
  // pack() returns a view into a buffer that msgpackr reuses: copy it out.
  return new Uint8Array(packr.pack(value));
}

/** Unpacks one msgpack value with the size and trailing-byte checks, for envelopes whose fields are decoded by their own codecs. */
export function unpackValue(type: string, bytes: Uint8Array, maxBytes: number): unknown {
  if (!(bytes instanceof Uint8Array))
    throw new CodecError("WRONG_TYPE", `${type}: input is not bytes`, { type });
  if (bytes.byteLength > maxBytes) {
    throw new CodecError("OVERSIZE", `${type}: ${bytes.byteLength} bytes > ${maxBytes}`, { type });
  }
  try {
    // msgpackr caches a DataView on the buffer it reads: give it a fresh view, not the caller's object.
    return unpackr.unpack(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes("end of buffer not reached")) {
      throw new CodecError("TRAILING_BYTES", `${type}: trailing bytes`, { type });
    }
    throw new CodecError("MALFORMED", `${type}: ${message}`, { type });
  }
}

/** Reads the fields of one decoded array in order, checking type and bounds. */
export class FieldReader {
  private index = 0;

  private constructor(
    readonly type: string,
    private readonly fields: readonly unknown[],
  ) {}

  static of(type: string, value: unknown, fieldCount: number): FieldReader {
    if (!Array.isArray(value)) throw new CodecError("WRONG_TYPE", `${type}: expected an array`, { type });
    if (value.length !== fieldCount) {
      throw new CodecError("WRONG_FIELD_COUNT", `${type}: ${value.length} fields, expected ${fieldCount}`, {
        type,
      });
    }
    return new FieldReader(type, value);
  }

  private next(): unknown {
    return this.fields[this.index++];
  }

  private fail(code: "WRONG_TYPE" | "OVERSIZE" | "OUT_OF_RANGE", field: string, message: string): never {
    throw new CodecError(code, `${this.type}.${field}: ${message}`, { type: this.type, field });
  }

  bytes(field: string, size: { exact: number } | { max: number }): Uint8Array {
    const value = this.next();
    if (!(value instanceof Uint8Array)) this.fail("WRONG_TYPE", field, "expected bytes");
    if ("exact" in size && value.byteLength !== size.exact) {
      this.fail("WRONG_TYPE", field, `expected ${size.exact} bytes, got ${value.byteLength}`);
    }
    if ("max" in size && value.byteLength > size.max) {
      this.fail("OVERSIZE", field, `${value.byteLength} bytes > ${size.max}`);
    }
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  /** An unsigned amount in base units: a bigint in [0, 2^64). */
  amount(field: string): bigint {
    const value = this.next();
    if (typeof value !== "bigint") this.fail("WRONG_TYPE", field, "expected a 64-bit integer");
    if (value < 0n || value > AMOUNT_MAX) this.fail("OUT_OF_RANGE", field, "amount out of range");
    return value;
  }

  /** A non-negative safe integer no greater than `max`. */
  integer(field: string, max = SAFE_INTEGER_MAX): number {
    const value = this.next();
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      this.fail("WRONG_TYPE", field, "expected an integer");
    }
    if (value < 0 || value > max) this.fail("OUT_OF_RANGE", field, `${value} not in [0, ${max}]`);
    return value;
  }

  string(field: string, maxBytes: number): string {
    const value = this.next();
    if (typeof value !== "string") this.fail("WRONG_TYPE", field, "expected a string");
    if (Buffer.byteLength(value, "utf8") > maxBytes)
      this.fail("OVERSIZE", field, `longer than ${maxBytes} bytes`);
    return value;
  }

  boolean(field: string): boolean {
    const value = this.next();
    if (typeof value !== "boolean") this.fail("WRONG_TYPE", field, "expected a boolean");
    return value;
  }

  /**
   * An array of byte strings of at most `maxBytes` each, checked in one pass
   * (a block or a batch carries thousands); a bad item is named by its index.
   */
  bytesList(field: string, maxItems: number, maxBytes: number): Uint8Array[] {
    return this.array(field, maxItems).map((item, i) => {
      if (!(item instanceof Uint8Array)) this.fail("WRONG_TYPE", `${field}[${i}]`, "expected bytes");
      if (item.byteLength > maxBytes)
        this.fail("OVERSIZE", `${field}[${i}]`, `${item.byteLength} bytes > ${maxBytes}`);
      return new Uint8Array(item.buffer, item.byteOffset, item.byteLength);
    });
  }

  array(field: string, maxItems: number): readonly unknown[] {
    const value = this.next();
    if (!Array.isArray(value)) this.fail("WRONG_TYPE", field, "expected an array");
    if (value.length > maxItems) this.fail("OVERSIZE", field, `${value.length} items > ${maxItems}`);
    return value;
  }

  /** A nested value of another type, read by `parse` (which gets its own reader). */
  nested<T>(field: string, parse: (value: unknown, type: string) => T): T {
    return parse(this.next(), `${this.type}.${field}`);
  }
}

/** A codec for one protocol type: its canonical encoding and strict decoding. */
export interface Codec<T> {
  readonly type: string;
  readonly maxBytes: number;
  toValue(value: T): Encodable;
  /** Parses an already-unpacked value; throws CodecError. */
  fromValue(value: unknown, type?: string): T;
  /**
   * True when `toValue(fromValue(v))` is `v` itself, field for field, for
   * every unpacked `v` that `fromValue` accepts (it reads fields in place and
   * never reorders, fills in or converts them). Such a value is canonical
   * exactly when each msgpack header in its bytes is the one msgpackr writes,
   * which `decodeWith` then checks on the bytes instead of encoding again.
   */
  readonly structural?: boolean;
}

export function encodeWith<T>(codec: Codec<T>, value: T): Uint8Array {
  return encode(codec.toValue(value));
}

export function decodeWith<T>(codec: Codec<T>, bytes: Uint8Array): T {
  const value = codec.fromValue(unpackValue(codec.type, bytes, codec.maxBytes));
  const canonical = codec.structural === true ? canonicalHeaders(bytes) : null;
  if (canonical === false || (canonical === null && !encodesTo(codec.toValue(value), bytes))) {
    throw new CodecError("NON_CANONICAL", `${codec.type}: not the canonical encoding`, { type: codec.type });
  }
  return value;
}

/** Whether `value` packs to exactly `bytes`: compared in msgpackr's reused buffer, before anything packs again, so no copy. */
export function encodesTo(value: Encodable, bytes: Uint8Array): boolean {
  return Buffer.compare(packr.pack(value), bytes) === 0;
}

/** Nesting deeper than this is left to `encodesTo`: no protocol value comes near it. */
const SCAN_DEPTH_MAX = 32;
const UNDECIDED = -1;
const NOT_CANONICAL = -2;

/**
 * Whether every msgpack header in `bytes` (one whole value, already unpacked
 * without error) is the one msgpackr writes for the value it holds: the
 * shortest integer form (0..127 and -32..-1 inline; a bigint as int 64, or
 * as uint 64 from 2^63), the shortest string, bin and array length forms,
 * and well-formed UTF-8 in strings (msgpackr's encoder writes nothing else).
 * Null where it leaves the question to encoding again: maps, extensions,
 * floats (the protocol has none) and very deep nesting. codec.test.ts checks
 * that it agrees with encoding again.
 */
export function canonicalHeaders(bytes: Uint8Array): boolean | null {
  const end = scanItem(bytes, 0, 0);
  if (end === UNDECIDED) return null;
  return end === bytes.byteLength;
}

/** The offset after the item at `at`, or UNDECIDED, or NOT_CANONICAL. */
function scanItem(b: Uint8Array, at: number, depth: number): number {
  const h = b[at]!;
  if (h < 0x80 || h >= 0xe0 || h === 0xc0 || h === 0xc2 || h === 0xc3) return at + 1;
  if (h >= 0xa0 && h <= 0xbf) return scanUtf8(b, at + 1, h & 0x1f);
  if (h >= 0x90 && h <= 0x9f) return scanArray(b, at + 1, h & 0x0f, depth);
  const u8 = b[at + 1]!;
  const u16 = (u8 << 8) | b[at + 2]!;
  const u32 = u16 * 0x10000 + ((b[at + 3]! << 8) | b[at + 4]!);
  switch (h) {
    case 0xc4: // bin 8: the shortest form for every length below 256
      return at + 2 + u8;
    case 0xc5:
      return u16 < 0x100 ? NOT_CANONICAL : at + 3 + u16;
    case 0xc6:
      return u32 < 0x10000 ? NOT_CANONICAL : at + 5 + u32;
    case 0xca: // float 32: msgpackr writes integers as integers and other numbers as float 64
      return NOT_CANONICAL;
    case 0xcc:
      return u8 < 0x80 ? NOT_CANONICAL : at + 2;
    case 0xcd:
      return u16 < 0x100 ? NOT_CANONICAL : at + 3;
    case 0xce:
      return u32 < 0x10000 ? NOT_CANONICAL : at + 5;
    case 0xcf: // uint 64: a bigint below 2^63 is written as int 64
      return u8 < 0x80 ? NOT_CANONICAL : at + 9;
    case 0xd0: // int 8..32: only for negative values below the next shorter form's range
      return u8 < 0x80 || u8 >= 0xe0 ? NOT_CANONICAL : at + 2;
    case 0xd1:
      return u16 < 0x8000 || u16 >= 0xff80 ? NOT_CANONICAL : at + 3;
    case 0xd2:
      return u32 < 0x80000000 || u32 >= 0xffff8000 ? NOT_CANONICAL : at + 5;
    case 0xd3:
      return at + 9;
    case 0xd9:
      return u8 < 0x20 ? NOT_CANONICAL : scanUtf8(b, at + 2, u8);
    case 0xda:
      return u16 < 0x100 ? NOT_CANONICAL : scanUtf8(b, at + 3, u16);
    case 0xdb:
      return u32 < 0x10000 ? NOT_CANONICAL : scanUtf8(b, at + 5, u32);
    case 0xdc:
      return u16 < 0x10 ? NOT_CANONICAL : scanArray(b, at + 3, u16, depth);
    case 0xdd:
      return u32 < 0x10000 ? NOT_CANONICAL : scanArray(b, at + 5, u32, depth);
    default: // maps, extensions, float 64 and 0xc1
      return UNDECIDED;
  }
}

function scanUtf8(b: Uint8Array, from: number, length: number): number {
  return isUtf8(b.subarray(from, from + length)) ? from + length : NOT_CANONICAL;
}

function scanArray(b: Uint8Array, from: number, count: number, depth: number): number {
  if (depth >= SCAN_DEPTH_MAX) return UNDECIDED;
  let at = from;
  for (let i = 0; i < count; i++) {
    at = scanItem(b, at, depth + 1);
    if (at < 0) return at;
  }
  return at;
}

/** The signature field of a signed value's canonical encoding: bin8 of 64 bytes. */
const SIGNATURE_FIELD_BYTES = 2 + SIGNATURE_BYTES;

/**
 * The canonical encoding of a signed value's body, taken from the value's own
 * canonical encoding without encoding again, as two parts to hash. A signed
 * value is an array of its body's fields followed by the signature, and a
 * msgpack array is its header followed by its fields, so the body's encoding
 * is the shorter array's header, then the value's bytes between its header
 * and its signature field. Null if the bytes do not have that shape (they
 * always do once decoding has found them canonical).
 */
export function signedBodyParts(bytes: Uint8Array, bodyFields: number): [Uint8Array, Uint8Array] | null {
  const signatureAt = bytes.byteLength - SIGNATURE_FIELD_BYTES;
  if (
    bodyFields >= 15 ||
    bytes[0] !== (0x90 | (bodyFields + 1)) ||
    bytes[signatureAt] !== 0xc4 ||
    bytes[signatureAt + 1] !== SIGNATURE_BYTES
  )
    return null;
  return [Uint8Array.of(0x90 | bodyFields), bytes.subarray(1, signatureAt)];
}
