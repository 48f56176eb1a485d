/**
 * Shared fixtures for the ledger's own tests: fixed keys, a small genesis,
 * a test module that uses escrow and module state, and a generator of
 * random transaction mixes (valid, failing and invalid). Not exported from
 * index.ts.
 */
import fc from "fast-check";
import {
  addressFromPublicKey,
  type Codec,
  decodeWith,
  encodeTransaction,
  encodeWith,
  FieldReader,
  signTransaction,
  type Transaction,
  utf8,
} from "../spec/index.ts";
import { seededKeys } from "../spec/testing.ts";
import { Bucket } from "./buckets.ts";
import { buildStake, buildTransaction, buildTransfer, buildUnstake, CoreKind } from "./core-payloads.ts";
import { LedgerError } from "./errors.ts";
import { createGenesis, type Genesis } from "./genesis.ts";
import type { LedgerModule } from "./module.ts";

export const CHAIN_ID = "hyperspace-test";
export const MIN_STAKE = 1_000n;

/** Keys 0-3 hold balances; keys 4-5 are genesis validators (with some balance for fees). */
export const KEYS = seededKeys(6, 0, 0x5e);
export const ADDRESSES = KEYS.map((k) => addressFromPublicKey(k.publicKey));

export function testGenesis(): Genesis {
  return createGenesis({
    chainId: CHAIN_ID,
    genesisTimeMs: 1_700_000_000_000,
    minValidatorStake: MIN_STAKE,
    minFee: 1n,
    accounts: ADDRESSES.map((address, i) => ({ address, balance: i < 4 ? 50_000n : 2_000n })),
    validators: KEYS.slice(4).map((k, i) => ({ publicKey: k.publicKey, stake: 5_000n, name: `v${i}` })),
  });
}

// ---- a test module: a vault that holds deposits in escrow ----

interface VaultPayload {
  readonly amount: bigint;
  readonly tag: string;
}

const VaultPayloadCodec: Codec<VaultPayload> = {
  type: "VaultPayload",
  maxBytes: 64,
  toValue: (p) => [p.amount, p.tag],
  fromValue(value, type = "VaultPayload") {
    const reader = FieldReader.of(type, value, 2);
    return { amount: reader.amount("amount"), tag: reader.string("tag", 16) };
  },
};

const decodeVault = (b: Uint8Array) => decodeWith(VaultPayloadCodec, b);
export const encodeVault = (p: VaultPayload): Uint8Array => encodeWith(VaultPayloadCodec, p);

function readDeposit(value: Uint8Array | null): bigint {
  return value === null ? 0n : Buffer.from(value).readBigUInt64BE(0);
}

function depositBytes(amount: bigint): Uint8Array {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(amount);
  return new Uint8Array(out);
}

/**
 * vault.deposit locks the amount in escrow and records it under the sender;
 * vault.withdraw releases up to the recorded deposit; vault.deposit with tag
 * "fail" writes everything and then throws, so the test can see the rollback.
 */
export const vaultModule: LedgerModule = {
  name: "vault",
  bucket: Bucket.channelsState,
  kinds: {
    "vault.deposit": {
      decode: decodeVault,
      apply(context, payload: VaultPayload) {
        context.lockFromSender(payload.amount);
        const held = readDeposit(context.getModuleValue(context.sender));
        context.setModuleValue(context.sender, depositBytes(held + payload.amount));
        context.emit("vault.deposited", utf8.encode(payload.tag));
        if (payload.tag === "fail") throw new LedgerError("BAD_PAYLOAD", "asked to fail after writing", {});
      },
    },
    "vault.withdraw": {
      decode: decodeVault,
      apply(context, payload: VaultPayload) {
        const held = readDeposit(context.getModuleValue(context.sender));
        if (held < payload.amount) throw new LedgerError("INSUFFICIENT_BALANCE", "deposit too small", {});
        context.releaseTo(context.sender, payload.amount);
        if (held === payload.amount) context.deleteModuleValue(context.sender);
        else context.setModuleValue(context.sender, depositBytes(held - payload.amount));
      },
    },
  },
};

// ---- random transaction mixes ----

export type TxOp =
  | { kind: "transfer"; from: number; to: number; amount: bigint; fee: bigint; nonceSkew: number }
  | { kind: "stake"; from: number; amount: bigint; fee: bigint; nonceSkew: number }
  | { kind: "unstake"; from: number; amount: bigint; fee: bigint; nonceSkew: number }
  | { kind: "deposit"; from: number; amount: bigint; fee: bigint; nonceSkew: number; fail: boolean }
  | { kind: "withdraw"; from: number; amount: bigint; fee: bigint; nonceSkew: number }
  | { kind: "unknown-kind"; from: number; fee: bigint; nonceSkew: number }
  | { kind: "bad-payload"; from: number; fee: bigint; nonceSkew: number }
  | { kind: "bad-signature"; from: number; fee: bigint; nonceSkew: number }
  | { kind: "wrong-chain"; from: number; fee: bigint; nonceSkew: number }
  | { kind: "garbage"; bytes: Uint8Array }
  | { kind: "replay"; back: number };

const who = fc.integer({ min: 0, max: KEYS.length - 1 });
const amount = fc.oneof(fc.bigInt({ min: 0n, max: 3_000n }), fc.bigInt({ min: 0n, max: 80_000n }));
const fee = fc.oneof(
  fc.constant(1n),
  fc.bigInt({ min: 0n, max: 500n }),
  fc.bigInt({ min: 0n, max: 60_000n }),
);
/** Withdrawals ask for little, so they often fit an earlier deposit. */
const smallAmount = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 500n }));
/** Mostly the right nonce; sometimes one behind or ahead. */
const nonceSkew = fc.oneof(
  { weight: 8, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 1) },
);

export const arbitraryOp: fc.Arbitrary<TxOp> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("transfer" as const),
      from: who,
      to: who,
      amount,
      fee,
      nonceSkew,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("stake" as const), from: who, amount, fee, nonceSkew }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("unstake" as const), from: who, amount, fee, nonceSkew }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("deposit" as const),
      from: who,
      amount,
      fee,
      nonceSkew,
      fail: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("withdraw" as const),
      from: who,
      amount: smallAmount,
      fee,
      nonceSkew,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("unknown-kind" as const), from: who, fee, nonceSkew }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("bad-payload" as const), from: who, fee, nonceSkew }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("bad-signature" as const), from: who, fee, nonceSkew }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("wrong-chain" as const), from: who, fee, nonceSkew }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("garbage" as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("replay" as const), back: fc.nat() }) },
);

/** Commits of random ops: a few commits of a few transactions each. */
export const arbitraryCommits = fc.array(fc.array(arbitraryOp, { maxLength: 8 }), {
  minLength: 1,
  maxLength: 6,
});

/**
 * Turns ops into signed transaction bytes. `nonceOf` gives each sender's
 * nonce at the start of the commit; later transactions of the same sender
 * in the commit count on the earlier ones being admitted. `history` holds
 * every transaction built so far, for replays.
 */
export function buildOps(
  ops: readonly TxOp[],
  nonceOf: (index: number) => number,
  history: Uint8Array[],
): Uint8Array[] {
  const used = new Map<number, number>();
  const nextNonce = (from: number, skew: number) => {
    const n = (used.get(from) ?? nonceOf(from)) + skew;
    used.set(from, (used.get(from) ?? nonceOf(from)) + (skew === 0 ? 1 : 0));
    return Math.max(0, n);
  };
  const out: Uint8Array[] = [];
  for (const op of ops) {
    let tx: Transaction | null = null;
    let bytes: Uint8Array | null = null;
    if (op.kind === "garbage") bytes = op.bytes;
    else if (op.kind === "replay")
      bytes = history.length === 0 ? new Uint8Array() : history[op.back % history.length]!;
    else {
      const keys = KEYS[op.from]!;
      const envelope = { chainId: CHAIN_ID, keys, nonce: nextNonce(op.from, op.nonceSkew), fee: op.fee };
      switch (op.kind) {
        case "transfer":
          tx = buildTransfer({ ...envelope, to: ADDRESSES[op.to]!, amount: op.amount });
          break;
        case "stake":
          tx = buildStake({
            ...envelope,
            amount: op.amount,
            name: "staker",
            multiaddrs: ["/ip4/127.0.0.1/tcp/1"],
          });
          break;
        case "unstake":
          tx = buildUnstake({ ...envelope, amount: op.amount });
          break;
        case "deposit":
          tx = buildTransaction(
            envelope,
            "vault.deposit",
            encodeVault({ amount: op.amount, tag: op.fail ? "fail" : "ok" }),
          );
          break;
        case "withdraw":
          tx = buildTransaction(envelope, "vault.withdraw", encodeVault({ amount: op.amount, tag: "" }));
          break;
        case "unknown-kind":
          tx = buildTransaction(envelope, "nobody.handles", new Uint8Array([1, 2, 3]));
          break;
        case "bad-payload":
          tx = buildTransaction(envelope, CoreKind.Transfer, new Uint8Array([0x93, 1, 2, 3]));
          break;
        case "bad-signature": {
          const good = buildTransfer({ ...envelope, to: ADDRESSES[0]!, amount: 1n });
          const signature = new Uint8Array(good.signature);
          signature[5]! ^= 0x40;
          tx = { ...good, signature };
          break;
        }
        case "wrong-chain":
          tx = signTransaction(
            {
              chainId: "other-chain",
              sender: keys.publicKey,
              nonce: envelope.nonce,
              fee: op.fee,
              kind: CoreKind.Transfer,
              payload: new Uint8Array([0x92, 0xc4, 0x00, 0]),
            },
            keys,
          );
          break;
      }
      bytes = encodeTransaction(tx);
    }
    out.push(bytes);
    history.push(bytes);
  }
  return out;
}
