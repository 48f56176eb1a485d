import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import {
  addressFromPublicKey,
  bytesEqual,
  formatAddress,
  fromHex,
  generateKeyPair,
  HyperspaceError,
  type KeyPair,
  PUBLIC_KEY_BYTES,
  parseAddress,
  SECRET_KEY_BYTES,
  toHex,
} from "../spec/index.ts";

/**
 * Plain key files, for devnets, demos and tests: a JSON file with mode 0600
 *
 *   { "address": "hs1...", "publicKey": "<hex>", "secretKey": "<hex>" }
 *
 * (the secret is the 32-byte ed25519 seed). Reading checks that the public
 * key and address follow from the secret, so a hand-edited file cannot name
 * one account and sign for another. For keys that guard real value, use the
 * passphrase-encrypted keystore (node/keystore.ts); `readPublicKeyFile`
 * reads the public half of either format.
 */
export type KeyFileErrorCode = "BAD_FILE" | "EXISTS" | "KEY_MISMATCH";

export class KeyFileError extends HyperspaceError<KeyFileErrorCode, { path: string }> {}

interface KeyFileJson {
  address: string;
  publicKey: string;
  secretKey: string;
}

function readJson(path: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not a JSON object");
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new KeyFileError("BAD_FILE", `cannot read key file ${path}: ${(error as Error).message}`, { path });
  }
}

function hexField(json: Record<string, unknown>, field: string, bytes: number, path: string): Uint8Array {
  const value = typeof json[field] === "string" ? fromHex(json[field] as string) : null;
  if (value === null || value.byteLength !== bytes) {
    throw new KeyFileError("BAD_FILE", `key file ${path}: "${field}" must be ${bytes} bytes of hex`, {
      path,
    });
  }
  return value;
}

/**
 * Writes a key file with mode 0600, refusing to replace an existing file
 * unless `force`. The file is written beside its final name and renamed, so
 * a crash never leaves half a key.
 */
export function writeKeyFile(path: string, keys: KeyPair, options: { force?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const json: KeyFileJson = {
    address: formatAddress(addressFromPublicKey(keys.publicKey)),
    publicKey: toHex(keys.publicKey),
    secretKey: toHex(keys.secretKey),
  };
  const text = `${JSON.stringify(json, null, 2)}\n`;
  if (!options.force) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        throw new KeyFileError("EXISTS", `${path} exists; pass --force to replace it`, { path });
      }
      throw error;
    }
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, "w", 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** Generates a fresh key pair and writes it; returns the keys. */
export function createKeyFile(path: string, options: { force?: boolean } = {}): KeyPair {
  const keys = generateKeyPair();
  writeKeyFile(path, keys, options);
  return keys;
}

/** Reads a plain key file and checks that its public key and address follow from its secret. */
export function readKeyFile(path: string): KeyPair {
  const json = readJson(path);
  if ("crypto" in json) {
    throw new KeyFileError("BAD_FILE", `${path} is an encrypted keystore; it needs its passphrase`, { path });
  }
  const secretKey = hexField(json, "secretKey", SECRET_KEY_BYTES, path);
  const keys = generateKeyPair(secretKey);
  const publicKey = hexField(json, "publicKey", PUBLIC_KEY_BYTES, path);
  if (!bytesEqual(publicKey, keys.publicKey)) {
    throw new KeyFileError("KEY_MISMATCH", `key file ${path}: public key does not match the secret key`, {
      path,
    });
  }
  if (
    typeof json.address === "string" &&
    json.address !== formatAddress(addressFromPublicKey(keys.publicKey))
  ) {
    throw new KeyFileError("KEY_MISMATCH", `key file ${path}: address does not match the key`, { path });
  }
  return keys;
}

export interface PublicKeyInfo {
  readonly address: Uint8Array;
  readonly publicKey: Uint8Array;
  /** True for a passphrase-encrypted keystore. */
  readonly encrypted: boolean;
}

/** The public half of a plain key file or an encrypted keystore (no secret is read or decrypted). */
export function readPublicKeyFile(path: string): PublicKeyInfo {
  const json = readJson(path);
  const encrypted = "crypto" in json;
  if (!encrypted) {
    const keys = readKeyFile(path);
    return { address: addressFromPublicKey(keys.publicKey), publicKey: keys.publicKey, encrypted };
  }
  const publicKey = hexField(json, "publicKey", PUBLIC_KEY_BYTES, path);
  const address = addressFromPublicKey(publicKey);
  if (
    typeof json.address === "string" &&
    !bytesEqual(parseAddressOrNull(json.address) ?? new Uint8Array(), address)
  ) {
    throw new KeyFileError("KEY_MISMATCH", `keystore ${path}: address does not match its public key`, {
      path,
    });
  }
  return { address, publicKey, encrypted };
}

function parseAddressOrNull(text: string): Uint8Array | null {
  try {
    return parseAddress(text);
  } catch {
    return null;
  }
}
