/**
 * The deterministic workload of the ledger crash test: a genesis and a
 * sequence of commits that the child process applies to RocksDB and the
 * test re-applies to an in-memory reference. Both sides build the same
 * bytes from the same index.
 */

import { buildTransfer, type CommitInput, createGenesis, type Genesis } from "../ledger/index.ts";
import { addressFromPublicKey, encodeTransaction, generateKeyPair, type KeyPair } from "../spec/index.ts";

export const CRASH_CHAIN_ID = "hyperspace-crash-test";
/** Senders per commit: each sends one transfer per commit, so its nonce in commit i is i - 1. */
export const CRASH_SENDERS = 40;

export const crashKeys: KeyPair[] = Array.from({ length: CRASH_SENDERS }, (_, i) => {
  const seed = new Uint8Array(32);
  seed[0] = i;
  seed[31] = 0xc7;
  return generateKeyPair(seed);
});
export const crashAddresses: Uint8Array[] = crashKeys.map((k) => addressFromPublicKey(k.publicKey));

export function crashGenesis(): Genesis {
  return createGenesis({
    chainId: CRASH_CHAIN_ID,
    genesisTimeMs: 1_700_000_000_000,
    accounts: crashAddresses.map((address) => ({ address, balance: 1_000_000_000n })),
    validators: [{ publicKey: crashKeys[0]!.publicKey, stake: 10_000n, name: "v0" }],
  });
}

/** Commit `index` (from 1): one transfer per sender; every 17th is too large and fails (fee still paid). */
export function crashCommit(index: number): CommitInput {
  const transactions = crashKeys.map((keys, j) => {
    const tooLarge = (index + j) % 17 === 0;
    return encodeTransaction(
      buildTransfer({
        chainId: CRASH_CHAIN_ID,
        keys,
        nonce: index - 1,
        fee: 10n + BigInt(j),
        to: crashAddresses[(j + index) % CRASH_SENDERS]!,
        amount: tooLarge ? 10n ** 15n : BigInt(((index * (j + 1)) % 1000) + 1),
      }),
    );
  });
  return {
    index,
    timestampMs: 1_700_000_000_000 + index * 100,
    feeRecipient: crashAddresses[index % 3]!,
    transactions,
  };
}
