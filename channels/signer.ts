import { createPrivateKey, sign as cryptoSign, type KeyObject } from "node:crypto";
import {
  type KeyPair,
  SECRET_KEY_BYTES,
  type Voucher,
  type VoucherBody,
  voucherDigest,
} from "../spec/index.ts";

/**
 * The payer's voucher signer for the hot path. ed25519 signing is
 * deterministic (RFC 8032: the nonce is a hash of the key and the message),
 * so OpenSSL through node:crypto produces exactly the bytes @noble/curves
 * does, about 25x faster here. A property test checks the two agree byte for
 * byte; spec's `signVoucher` (noble) stays the reference.
 */
export interface VoucherSigner {
  readonly publicKey: Uint8Array;
  sign(body: VoucherBody): Voucher;
}

/** DER prefix of an ed25519 PKCS#8 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export function createVoucherSigner(keys: KeyPair): VoucherSigner {
  if (keys.secretKey.byteLength !== SECRET_KEY_BYTES) throw new RangeError("ed25519 seed must be 32 bytes");
  const key: KeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, keys.secretKey]),
    format: "der",
    type: "pkcs8",
  });
  return {
    publicKey: keys.publicKey,
    sign(body: VoucherBody): Voucher {
      const signature = new Uint8Array(cryptoSign(null, voucherDigest(body), key));
      return {
        chainId: body.chainId,
        channelId: body.channelId,
        cumulativeAmount: body.cumulativeAmount,
        sequence: body.sequence,
        signature,
      };
    },
  };
}
