import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import {
  addressFromPublicKey,
  bytesEqual,
  formatAddress,
  fromHex,
  generateKeyPair,
  HyperspaceError,
  type KeyPair,
  toHex,
} from "../spec/index.ts";
import { readKeyFile } from "./keyfile.ts";

/**
 * The keystore: a JSON file (mode 0600) holding an ed25519 key encrypted
 * with a passphrase. The key-encryption key comes from scrypt (@noble/hashes)
 * and the secret is sealed with AES-256-GCM, so a wrong passphrase or a
 * tampered file fails authentication rather than yielding a wrong key.
 *
 * {
 *   "version": 1, "address": "hs1...", "publicKey": hex,
 *   "crypto": { "kdf": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": hex,
 *               "cipher": "aes-256-gcm", "iv": hex, "ciphertext": hex, "tag": hex }
 * }
 */
export type KeystoreErrorCode = "BAD_FILE" | "WRONG_PASSPHRASE" | "NO_PASSPHRASE";

export class KeystoreError extends HyperspaceError<KeystoreErrorCode, { path: string }> {}

/** scrypt cost: N = 2^17 takes about 0.3 s here, enough to slow guessing, fast enough for a node start. */
export const SCRYPT_N = 2 ** 17;
const SCRYPT_R = 8;
const SCRYPT_P = 1;

interface KeystoreFile {
  version: 1;
  address: string;
  publicKey: string;
  crypto: {
    kdf: "scrypt";
    N: number;
    r: number;
    p: number;
    salt: string;
    cipher: "aes-256-gcm";
    iv: string;
    ciphertext: string;
    tag: string;
  };
}

async function deriveKey(
  passphrase: string,
  salt: Uint8Array,
  N: number,
  r: number,
  p: number,
): Promise<Uint8Array> {
  return scryptAsync(new TextEncoder().encode(passphrase), salt, { N, r, p, dkLen: 32, maxmem: 2 ** 31 });
}

export async function writeKeystore(
  path: string,
  keys: KeyPair,
  passphrase: string,
  scryptN = SCRYPT_N,
): Promise<void> {
  const salt = randomBytes(32);
  const iv = randomBytes(12);
  const kek = await deriveKey(passphrase, salt, scryptN, SCRYPT_R, SCRYPT_P);
  const cipher = createCipheriv("aes-256-gcm", kek, iv);
  cipher.setAAD(keys.publicKey);
  const ciphertext = Buffer.concat([cipher.update(keys.secretKey), cipher.final()]);
  const file: KeystoreFile = {
    version: 1,
    address: formatAddress(addressFromPublicKey(keys.publicKey)),
    publicKey: toHex(keys.publicKey),
    crypto: {
      kdf: "scrypt",
      N: scryptN,
      r: SCRYPT_R,
      p: SCRYPT_P,
      salt: toHex(salt),
      cipher: "aes-256-gcm",
      iv: toHex(iv),
      ciphertext: toHex(ciphertext),
      tag: toHex(cipher.getAuthTag()),
    },
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function isEncryptedKeystore(json: unknown): boolean {
  return typeof json === "object" && json !== null && "crypto" in json;
}

export async function readKeystore(path: string, passphrase: string | undefined): Promise<KeyPair> {
  let file: KeystoreFile;
  try {
    file = JSON.parse(readFileSync(path, "utf8")) as KeystoreFile;
  } catch (error) {
    throw new KeystoreError("BAD_FILE", `cannot read keystore ${path}: ${(error as Error).message}`, {
      path,
    });
  }
  if (passphrase === undefined) {
    throw new KeystoreError("NO_PASSPHRASE", `keystore ${path} is encrypted: give a passphrase`, { path });
  }
  const c = file.crypto;
  const publicKey = fromHex(file.publicKey ?? "");
  const salt = fromHex(c?.salt ?? "");
  const iv = fromHex(c?.iv ?? "");
  const ciphertext = fromHex(c?.ciphertext ?? "");
  const tag = fromHex(c?.tag ?? "");
  if (
    file.version !== 1 ||
    c?.kdf !== "scrypt" ||
    c.cipher !== "aes-256-gcm" ||
    !publicKey ||
    !salt ||
    !iv ||
    !ciphertext ||
    !tag ||
    ![c.N, c.r, c.p].every((n) => Number.isSafeInteger(n) && n > 0) ||
    c.N > 2 ** 20
  ) {
    throw new KeystoreError("BAD_FILE", `keystore ${path} is malformed`, { path });
  }
  const kek = await deriveKey(passphrase, salt, c.N, c.r, c.p);
  let secretKey: Uint8Array;
  try {
    const decipher = createDecipheriv("aes-256-gcm", kek, iv);
    decipher.setAAD(publicKey);
    decipher.setAuthTag(tag);
    secretKey = new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    throw new KeystoreError("WRONG_PASSPHRASE", `wrong passphrase for ${path} (or the file was altered)`, {
      path,
    });
  }
  const keys = generateKeyPair(secretKey);
  if (!bytesEqual(keys.publicKey, publicKey)) {
    throw new KeystoreError("BAD_FILE", `keystore ${path}: key does not match its public key`, { path });
  }
  return keys;
}

/**
 * Loads a key from either form of key file: the plain JSON of
 * `hyperspace keys new` or an encrypted keystore, whose passphrase comes
 * from HYPERSPACE_PASSPHRASE or the given passphrase file.
 */
export async function loadKeyPair(path: string, passphraseFile?: string | null): Promise<KeyPair> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new KeystoreError("BAD_FILE", `cannot read key file ${path}: ${(error as Error).message}`, {
      path,
    });
  }
  if (!isEncryptedKeystore(json)) return readKeyFile(path);
  const passphrase =
    process.env.HYPERSPACE_PASSPHRASE ??
    (passphraseFile ? readFileSync(passphraseFile, "utf8").trim() : undefined);
  return readKeystore(path, passphrase);
}
