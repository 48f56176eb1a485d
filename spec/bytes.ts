/** Byte helpers shared by every layer. */

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Parses lower- or upper-case hex with an optional 0x prefix; returns null on bad input. */
export function fromHex(text: string): Uint8Array | null {
  const clean = text.startsWith("0x") ? text.slice(2) : text;
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) return null;
  return new Uint8Array(Buffer.from(clean, "hex"));
}

/** Compact map keys for bytes: one latin1 char per byte (order-preserving, cheap). */
export function byteKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

export function fromByteKey(key: string): Uint8Array {
  return new Uint8Array(Buffer.from(key, "latin1"));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export const utf8 = {
  encode: (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "utf8")),
  decode: (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8"),
};
