import { type Codec, decodeWith, encode, encodeWith, FieldReader } from "./codec.ts";
import { CHAIN_ID_BYTES_MAX, DIGEST_BYTES, Domain, SIGNATURE_BYTES } from "./constants.ts";
import { hash } from "./hash.ts";
import { sign, verify } from "./keys.ts";

/**
 * A payment-channel voucher: the payer's signed promise that the payee may
 * redeem `cumulativeAmount` in total from the channel. The chain id and the
 * channel id are in the signed digest, so a voucher is worthless in any other
 * channel or on any other chain.
 */
export interface VoucherBody {
  readonly chainId: string;
  readonly channelId: Uint8Array;
  readonly cumulativeAmount: bigint;
  readonly sequence: number;
}

export interface Voucher extends VoucherBody {
  readonly signature: Uint8Array;
}

export const VoucherCodec: Codec<Voucher> = {
  type: "Voucher",
  maxBytes: 256,
  toValue: (v) => [v.chainId, v.channelId, v.cumulativeAmount, v.sequence, v.signature],
  fromValue(value, type = "Voucher") {
    const reader = FieldReader.of(type, value, 5);
    return {
      chainId: reader.string("chainId", CHAIN_ID_BYTES_MAX),
      channelId: reader.bytes("channelId", { exact: DIGEST_BYTES }),
      cumulativeAmount: reader.amount("cumulativeAmount"),
      sequence: reader.integer("sequence"),
      signature: reader.bytes("signature", { exact: SIGNATURE_BYTES }),
    };
  },
};

export function voucherDigest(v: VoucherBody): Uint8Array {
  return hash(Domain.Voucher, encode([v.chainId, v.channelId, v.cumulativeAmount, v.sequence]));
}

export function signVoucher(body: VoucherBody, secretKey: Uint8Array): Voucher {
  return { ...body, signature: sign(voucherDigest(body), secretKey) };
}

export function verifyVoucher(voucher: Voucher, payerPublicKey: Uint8Array): boolean {
  return verify(voucher.signature, voucherDigest(voucher), payerPublicKey);
}

export const encodeVoucher = (v: Voucher): Uint8Array => encodeWith(VoucherCodec, v);
export const decodeVoucher = (bytes: Uint8Array): Voucher => decodeWith(VoucherCodec, bytes);
