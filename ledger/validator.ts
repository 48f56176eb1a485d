import {
  addressFromPublicKey,
  type Codec,
  decodeWith,
  encodeWith,
  FieldReader,
  PUBLIC_KEY_BYTES,
} from "../spec/index.ts";
import {
  MULTIADDR_BYTES_MAX,
  MULTIADDRS_MAX,
  PEER_ID_BYTES_MAX,
  VALIDATOR_NAME_BYTES_MAX,
} from "./constants.ts";

/**
 * A registered validator: its signing key, the stake locked for it (always
 * equal to its account's `stake`), and network metadata for peers to find
 * it. Absent metadata is the empty string or list.
 */
export interface ValidatorEntry {
  readonly publicKey: Uint8Array;
  readonly stake: bigint;
  readonly name: string;
  readonly peerId: string;
  readonly multiaddrs: readonly string[];
}

export function validatorAddress(entry: ValidatorEntry): Uint8Array {
  return addressFromPublicKey(entry.publicKey);
}

/** Reads a bounded list of multiaddr strings (shared by ValidatorEntry and the stake payload). */
export function readMultiaddrs(reader: FieldReader, type: string): string[] {
  return reader.array("multiaddrs", MULTIADDRS_MAX).map((item, i) => {
    const one = FieldReader.of(`${type}.multiaddrs[${i}]`, [item], 1);
    return one.string("multiaddr", MULTIADDR_BYTES_MAX);
  });
}

export const ValidatorEntryCodec: Codec<ValidatorEntry> = {
  type: "ValidatorEntry",
  maxBytes: 128 + VALIDATOR_NAME_BYTES_MAX + PEER_ID_BYTES_MAX + MULTIADDRS_MAX * (MULTIADDR_BYTES_MAX + 3),
  toValue: (v) => [v.publicKey, v.stake, v.name, v.peerId, [...v.multiaddrs]],
  fromValue(value, type = "ValidatorEntry") {
    const reader = FieldReader.of(type, value, 5);
    return {
      publicKey: reader.bytes("publicKey", { exact: PUBLIC_KEY_BYTES }),
      stake: reader.amount("stake"),
      name: reader.string("name", VALIDATOR_NAME_BYTES_MAX),
      peerId: reader.string("peerId", PEER_ID_BYTES_MAX),
      multiaddrs: readMultiaddrs(reader, type),
    };
  },
};

export const encodeValidatorEntry = (v: ValidatorEntry): Uint8Array => encodeWith(ValidatorEntryCodec, v);
export const decodeValidatorEntry = (bytes: Uint8Array): ValidatorEntry =>
  decodeWith(ValidatorEntryCodec, bytes);
