/**
 * The base error class. Expected failures (bad input, an invalid block from a
 * peer, an overdrawn voucher) are typed errors: a subclass with a `code` from
 * a closed union and a structured payload. Broken invariants use `assert`.
 */
export class HyperspaceError<Code extends string = string, Payload = Record<string, unknown>> extends Error {
  readonly code: Code;
  readonly payload: Payload;

  constructor(code: Code, message: string, payload: Payload) {
    super(`${code}: ${message}`);
    this.name = new.target.name;
    this.code = code;
    this.payload = payload;
  }
}

export type CodecErrorCode =
  | "MALFORMED"
  | "TRAILING_BYTES"
  | "WRONG_FIELD_COUNT"
  | "WRONG_TYPE"
  | "OVERSIZE"
  | "OUT_OF_RANGE"
  | "NON_CANONICAL";

export class CodecError extends HyperspaceError<CodecErrorCode, { type: string; field?: string }> {}

export type SignatureErrorCode = "BAD_SIGNATURE" | "BAD_PUBLIC_KEY";

export class SignatureError extends HyperspaceError<SignatureErrorCode, { what: string }> {}

export type AddressErrorCode = "BAD_ADDRESS";

export class AddressError extends HyperspaceError<AddressErrorCode, { text: string }> {}

/** An invariant the code itself guarantees. Failing it is a bug: crash loudly. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
