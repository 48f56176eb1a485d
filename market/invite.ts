import { randomBytes } from "node:crypto";
import {
  CHAIN_ID_BYTES_MAX,
  type Codec,
  CodecError,
  DIGEST_BYTES,
  Domain,
  decodeWith,
  type Encodable,
  encode,
  encodeWith,
  FieldReader,
  hash,
  type KeyPair,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  sign,
  verify,
} from "../spec/index.ts";
import { INVITE_CODE_PREFIX, INVITE_NONCE_BYTES, INVITE_TTL_MS_MAX } from "./constants.ts";
import { MarketError } from "./errors.ts";
import { POD_ROLES, type PodRole, readChoice } from "./model-ref.ts";

/**
 * Signed invite codes: a pod admin signs "whoever holds this may join pod P
 * as ROLE until time T, once (or many times)" and hands the text to people
 * out of band. Joining presents the code in a `market.pod.join`
 * transaction; the chain checks the signature, that the issuer is still an
 * admin of the pod, the expiry against the commit time, and, for a
 * single-use code, that its id was never used. An admin can revoke a code
 * by id.
 *
 * The id is the digest of the body; the signature signs the id. The text
 * form is "hsi_" + base64url of the canonical encoding.
 */
export interface InviteCodeBody {
  readonly chainId: string;
  readonly podId: Uint8Array;
  readonly role: PodRole;
  readonly expiresAtMs: number;
  readonly multiUse: boolean;
  readonly nonce: Uint8Array;
  readonly issuerPublicKey: Uint8Array;
}

export interface InviteCode extends InviteCodeBody {
  readonly signature: Uint8Array;
}

function bodyValue(body: InviteCodeBody): Encodable[] {
  return [
    body.chainId,
    body.podId,
    body.role,
    body.expiresAtMs,
    body.multiUse,
    body.nonce,
    body.issuerPublicKey,
  ];
}

export const InviteCodeCodec: Codec<InviteCode> = {
  type: "InviteCode",
  maxBytes: 256,
  toValue: (code) => [...bodyValue(code), code.signature],
  fromValue(value, type = "InviteCode") {
    const reader = FieldReader.of(type, value, 8);
    return {
      chainId: reader.string("chainId", CHAIN_ID_BYTES_MAX),
      podId: reader.bytes("podId", { exact: DIGEST_BYTES }),
      role: readChoice(reader, "role", POD_ROLES, type),
      expiresAtMs: reader.integer("expiresAtMs"),
      multiUse: reader.boolean("multiUse"),
      nonce: reader.bytes("nonce", { exact: INVITE_NONCE_BYTES }),
      issuerPublicKey: reader.bytes("issuerPublicKey", { exact: PUBLIC_KEY_BYTES }),
      signature: reader.bytes("signature", { exact: SIGNATURE_BYTES }),
    };
  },
};

/** The invite's id: the digest of its body. Single-use and revocation are tracked on chain by it. */
export function inviteId(body: InviteCodeBody): Uint8Array {
  return hash(Domain.MarketInvite, encode(bodyValue(body)));
}

export function verifyInviteSignature(code: InviteCode): boolean {
  return verify(code.signature, inviteId(code), code.issuerPublicKey);
}

export interface CreateInviteOptions {
  readonly chainId: string;
  readonly podId: Uint8Array;
  readonly role: PodRole;
  /** Lifetime from `nowMs`, at most INVITE_TTL_MS_MAX. */
  readonly ttlMs: number;
  readonly multiUse: boolean;
  readonly nowMs: number;
  /** The issuing admin's account keys. */
  readonly keys: KeyPair;
  /** Defaults to random bytes. */
  readonly nonce?: Uint8Array;
}

export function createInviteCode(options: CreateInviteOptions): InviteCode {
  if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs <= 0 || options.ttlMs > INVITE_TTL_MS_MAX) {
    throw new MarketError("BAD_INVITE", `ttl must be in (0, ${INVITE_TTL_MS_MAX}] ms`, {
      ttlMs: options.ttlMs,
    });
  }
  const body: InviteCodeBody = {
    chainId: options.chainId,
    podId: options.podId,
    role: options.role,
    expiresAtMs: options.nowMs + options.ttlMs,
    multiUse: options.multiUse,
    nonce: options.nonce ?? new Uint8Array(randomBytes(INVITE_NONCE_BYTES)),
    issuerPublicKey: options.keys.publicKey,
  };
  return { ...body, signature: sign(inviteId(body), options.keys.secretKey) };
}

export const encodeInviteCode = (code: InviteCode): Uint8Array => encodeWith(InviteCodeCodec, code);
export const decodeInviteCode = (bytes: Uint8Array): InviteCode => decodeWith(InviteCodeCodec, bytes);

export function formatInviteCode(code: InviteCode): string {
  return INVITE_CODE_PREFIX + Buffer.from(encodeInviteCode(code)).toString("base64url");
}

export function isInviteCodeText(text: string): boolean {
  return text.startsWith(INVITE_CODE_PREFIX);
}

/** Parses the text form strictly; a malformed code is BAD_INVITE (the signature is checked on chain). */
export function parseInviteCode(text: string): InviteCode {
  if (!isInviteCodeText(text))
    throw new MarketError("BAD_INVITE", `an invite code starts with ${INVITE_CODE_PREFIX}`, {});
  const body = text.slice(INVITE_CODE_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) throw new MarketError("BAD_INVITE", "an invite code is base64url", {});
  const bytes = new Uint8Array(Buffer.from(body, "base64url"));
  // base64url decoding ignores trailing bits: insist the text is the canonical form of its bytes.
  if (Buffer.from(bytes).toString("base64url") !== body) {
    throw new MarketError("BAD_INVITE", "not the canonical text of an invite code", {});
  }
  try {
    return decodeInviteCode(bytes);
  } catch (error) {
    if (error instanceof CodecError) throw new MarketError("BAD_INVITE", error.message, {});
    throw error;
  }
}
