import { bech32m } from "@scure/base";
import { ADDRESS_BYTES, Domain, PUBLIC_KEY_BYTES } from "./constants.ts";
import { AddressError } from "./errors.ts";
import { hash } from "./hash.ts";

/**
 * An address is the first 20 bytes of H(address-domain, public key). Its text
 * form is bech32m with the prefix "hs": a checksum catches every error of up
 * to four characters, and the alphabet avoids look-alike characters.
 */
export const ADDRESS_PREFIX = "hs";

export function addressFromPublicKey(publicKey: Uint8Array): Uint8Array {
  if (publicKey.byteLength !== PUBLIC_KEY_BYTES) throw new RangeError("public key must be 32 bytes");
  return hash(Domain.Address, publicKey).subarray(0, ADDRESS_BYTES);
}

export function formatAddress(address: Uint8Array): string {
  if (address.byteLength !== ADDRESS_BYTES) throw new RangeError("address must be 20 bytes");
  return bech32m.encode(ADDRESS_PREFIX, bech32m.toWords(address));
}

export function parseAddress(text: string): Uint8Array {
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32m.decode(text as `${string}1${string}`);
  } catch (error) {
    throw new AddressError("BAD_ADDRESS", `not a bech32m address: ${(error as Error).message}`, { text });
  }
  if (decoded.prefix !== ADDRESS_PREFIX) {
    throw new AddressError("BAD_ADDRESS", `prefix must be "${ADDRESS_PREFIX}"`, { text });
  }
  const bytes = bech32m.fromWordsUnsafe(decoded.words);
  if (bytes === undefined || bytes.byteLength !== ADDRESS_BYTES) {
    throw new AddressError("BAD_ADDRESS", "address must hold 20 bytes", { text });
  }
  return bytes;
}
