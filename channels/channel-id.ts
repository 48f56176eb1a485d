import { ADDRESS_BYTES, assert, Domain, encode, hash } from "../spec/index.ts";

/**
 * A channel's id: hash(Domain.ChannelId, [chainId, payer, payee, nonce])
 * where `nonce` is the nonce of the payer's `channel.open` transaction. A
 * sender's nonces never repeat, so no id is ever opened twice (and a voucher
 * of a settled channel can never meet a new channel with its id), and the
 * payer knows the id before it submits the open.
 */
export function deriveChannelId(
  chainId: string,
  payer: Uint8Array,
  payee: Uint8Array,
  nonce: number,
): Uint8Array {
  assert(payer.byteLength === ADDRESS_BYTES && payee.byteLength === ADDRESS_BYTES, "addresses are 20 bytes");
  assert(Number.isSafeInteger(nonce) && nonce >= 0, "nonces are non-negative integers");
  return hash(Domain.ChannelId, encode([chainId, payer, payee, nonce]));
}
