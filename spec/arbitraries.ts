/**
 * fast-check arbitraries for the spec types, shared by the property tests of
 * every layer.
 */
import fc from "fast-check";
import type { Account } from "./account.ts";
import type { Block, BlockRef } from "./block.ts";
import type { Commit } from "./commit.ts";
import { AMOUNT_MAX, DIGEST_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "./constants.ts";
import type { Transaction } from "./transaction.ts";
import type { Voucher } from "./voucher.ts";

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
export const arbitraryAmount = fc.bigInt({ min: 0n, max: AMOUNT_MAX });
const safeInt = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const name = fc.string({ minLength: 0, maxLength: 16 });

export const arbitraryTransaction: fc.Arbitrary<Transaction> = fc.record({
  chainId: name,
  sender: bytes(PUBLIC_KEY_BYTES),
  nonce: safeInt,
  fee: arbitraryAmount,
  kind: name,
  payload: fc.uint8Array({ maxLength: 256 }),
  signature: bytes(SIGNATURE_BYTES),
});

export const arbitraryBlockRef: fc.Arbitrary<BlockRef> = fc.record({
  round: safeInt,
  author: fc.integer({ min: 0, max: 1023 }),
  digest: bytes(DIGEST_BYTES),
});

export const arbitraryBlock: fc.Arbitrary<Block> = fc.record({
  epoch: safeInt,
  round: safeInt,
  author: fc.integer({ min: 0, max: 1023 }),
  timestampMs: safeInt,
  ancestors: fc.array(arbitraryBlockRef, { maxLength: 8 }),
  transactions: fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
  signature: bytes(SIGNATURE_BYTES),
});

export const arbitraryCommit: fc.Arbitrary<Commit> = fc.record({
  index: safeInt,
  previousDigest: bytes(DIGEST_BYTES),
  leader: arbitraryBlockRef,
  blocks: fc.array(arbitraryBlockRef, { maxLength: 8 }),
  timestampMs: safeInt,
});

export const arbitraryAccount: fc.Arbitrary<Account> = fc.record({
  balance: arbitraryAmount,
  nonce: safeInt,
  stake: arbitraryAmount,
});

export const arbitraryVoucher: fc.Arbitrary<Voucher> = fc.record({
  chainId: name,
  channelId: bytes(DIGEST_BYTES),
  cumulativeAmount: arbitraryAmount,
  sequence: safeInt,
  signature: bytes(SIGNATURE_BYTES),
});
