import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AssertionError, encodeTransaction, toHex, transactionDigest, utf8 } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { Bucket, bucketKey } from "./buckets.ts";
import { coreModule } from "./core-module.ts";
import { buildStake, buildTransaction, buildTransfer, buildUnstake } from "./core-payloads.ts";
import { executeCommit } from "./execute.ts";
import { genesisState, genesisSupply } from "./genesis.ts";
import { Ledger } from "./ledger.ts";
import { MemoryStore } from "./memory-store.ts";
import { ModuleRegistry, type TxContext } from "./module.ts";
import { verifyProof } from "./proof.ts";
import {
  ADDRESSES,
  arbitraryCommits,
  buildOps,
  CHAIN_ID,
  encodeVault,
  KEYS,
  MIN_STAKE,
  testGenesis,
  vaultModule,
} from "./test-fixtures.ts";

const seed = runSeed("execute.test");

const genesis = testGenesis();
const SUPPLY = genesisSupply(genesis);
const hex = toHex;

async function openLedger(): Promise<Ledger> {
  return Ledger.open({ store: new MemoryStore(), genesis, modules: [vaultModule] });
}

async function apply(ledger: Ledger, txs: Uint8Array[], feeRecipient: Uint8Array | null = ADDRESSES[4]!) {
  const index = ledger.lastAppliedIndex + 1;
  return ledger.applyCommit({
    index,
    timestampMs: 1_700_000_000_000 + index,
    feeRecipient,
    transactions: txs,
  });
}

function checkInvariants(ledger: Ledger): void {
  const totals = ledger.totals();
  assert.equal(totals.supply + totals.burned, SUPPLY, "supply + burned is constant");
  for (const v of ledger.getValidators())
    assert.ok(v.stake >= MIN_STAKE, "a validator holds at least the minimum stake");
  for (let i = 0; i < ADDRESSES.length; i++) {
    const account = ledger.getAccount(ADDRESSES[i]!);
    const validator = ledger.getValidator(ADDRESSES[i]!);
    assert.equal(validator?.stake ?? 0n, account.stake, "a validator's stake is its account's stake");
  }
}

describe("execution: core kinds", () => {
  it("a transfer moves value, splits the fee between burn and recipient, and bumps the nonce", async () => {
    const ledger = await openLedger();
    const tx = buildTransfer({
      chainId: CHAIN_ID,
      keys: KEYS[0]!,
      nonce: 0,
      fee: 101n,
      to: ADDRESSES[1]!,
      amount: 700n,
    });
    const result = await apply(ledger, [encodeTransaction(tx)], ADDRESSES[4]!);
    assert.equal(result.receipts.length, 1);
    assert.equal(result.receipts[0]!.success, true);
    assert.equal(result.receipts[0]!.feeBurned, 50n);
    assert.deepEqual(ledger.getAccount(ADDRESSES[0]!), {
      balance: 50_000n - 700n - 101n,
      nonce: 1,
      stake: 0n,
    });
    assert.equal(ledger.getAccount(ADDRESSES[1]!).balance, 50_700n);
    assert.equal(ledger.getAccount(ADDRESSES[4]!).balance, 2_000n + 51n);
    assert.equal(ledger.totals().burned, 50n);
    const receipt = await ledger.getReceipt(transactionDigest(tx));
    assert.equal(receipt?.commitIndex, 1);
    checkInvariants(ledger);
  });

  it("with no fee recipient the whole fee is burned", async () => {
    const ledger = await openLedger();
    const tx = buildTransfer({
      chainId: CHAIN_ID,
      keys: KEYS[0]!,
      nonce: 0,
      fee: 9n,
      to: ADDRESSES[1]!,
      amount: 1n,
    });
    await apply(ledger, [encodeTransaction(tx)], null);
    assert.equal(ledger.totals().burned, 9n);
    checkInvariants(ledger);
  });

  it("a transfer beyond the balance fails but still pays its fee and bumps the nonce", async () => {
    const ledger = await openLedger();
    const tx = buildTransfer({
      chainId: CHAIN_ID,
      keys: KEYS[0]!,
      nonce: 0,
      fee: 10n,
      to: ADDRESSES[1]!,
      amount: 50_000n,
    });
    const result = await apply(ledger, [encodeTransaction(tx)]);
    const receipt = result.receipts[0]!;
    assert.equal(receipt.success, false);
    assert.equal(receipt.errorCode, "INSUFFICIENT_BALANCE");
    assert.deepEqual(ledger.getAccount(ADDRESSES[0]!), { balance: 49_990n, nonce: 1, stake: 0n });
    assert.equal(ledger.getAccount(ADDRESSES[1]!).balance, 50_000n);
    checkInvariants(ledger);
  });

  it("an unknown kind and an undecodable payload fail with a receipt and pay the fee", async () => {
    const ledger = await openLedger();
    const env = (nonce: number) => ({ chainId: CHAIN_ID, keys: KEYS[0]!, nonce, fee: 5n });
    const result = await apply(ledger, [
      encodeTransaction(buildTransaction(env(0), "nobody.handles", new Uint8Array([1]))),
      encodeTransaction(buildTransaction(env(1), "transfer", new Uint8Array([0xc0]))),
    ]);
    assert.deepEqual(
      result.receipts.map((r) => [r.success, r.errorCode]),
      [
        [false, "UNKNOWN_KIND"],
        [false, "BAD_PAYLOAD"],
      ],
    );
    assert.deepEqual(ledger.getAccount(ADDRESSES[0]!), { balance: 49_990n, nonce: 2, stake: 0n });
  });

  it("stake registers a validator with metadata; below the minimum it fails; unstake follows the rules", async () => {
    const ledger = await openLedger();
    const env = (nonce: number) => ({ chainId: CHAIN_ID, keys: KEYS[1]!, nonce, fee: 1n });
    const r1 = await apply(ledger, [encodeTransaction(buildStake({ ...env(0), amount: MIN_STAKE - 1n }))]);
    assert.equal(r1.receipts[0]!.errorCode, "STAKE_TOO_LOW");
    assert.equal(ledger.getValidator(ADDRESSES[1]!), null);
    assert.equal(ledger.getAccount(ADDRESSES[1]!).stake, 0n);

    await apply(ledger, [
      encodeTransaction(
        buildStake({
          ...env(1),
          amount: 1_500n,
          name: "n1",
          peerId: "12D3KooW",
          multiaddrs: ["/ip4/1.2.3.4/tcp/9"],
        }),
      ),
    ]);
    const entry = ledger.getValidator(ADDRESSES[1]!)!;
    assert.equal(entry.stake, 1_500n);
    assert.equal(entry.peerId, "12D3KooW");
    assert.deepEqual(entry.multiaddrs, ["/ip4/1.2.3.4/tcp/9"]);
    assert.equal(ledger.getValidators().length, 3);

    const r3 = await apply(ledger, [
      encodeTransaction(buildUnstake({ ...env(2), amount: 600n })), // would leave 900 < 1000
      encodeTransaction(buildUnstake({ ...env(3), amount: 2_000n })), // more than staked
      encodeTransaction(buildUnstake({ ...env(4), amount: 500n })), // leaves 1000
    ]);
    assert.deepEqual(
      r3.receipts.map((r) => r.errorCode),
      ["STAKE_TOO_LOW", "INSUFFICIENT_STAKE", ""],
    );
    assert.equal(ledger.getValidator(ADDRESSES[1]!)!.stake, 1_000n);
    await apply(ledger, [encodeTransaction(buildUnstake({ ...env(5), amount: 1_000n }))]);
    assert.equal(ledger.getValidator(ADDRESSES[1]!), null);
    assert.deepEqual(ledger.getAccount(ADDRESSES[1]!), { balance: 50_000n - 6n, nonce: 6, stake: 0n });
    const r5 = await apply(ledger, [encodeTransaction(buildUnstake({ ...env(6), amount: 1n }))]);
    assert.equal(r5.receipts[0]!.errorCode, "NOT_A_VALIDATOR");
    checkInvariants(ledger);
  });
});

describe("execution: admission", () => {
  it("rejects undecodable, badly signed, wrong-chain, wrong-nonce, underpaid and unaffordable transactions without any change", async () => {
    const ledger = await openLedger();
    const good = buildTransfer({
      chainId: CHAIN_ID,
      keys: KEYS[0]!,
      nonce: 0,
      fee: 5n,
      to: ADDRESSES[1]!,
      amount: 1n,
    });
    const badSignature = {
      ...good,
      signature: new Uint8Array(good.signature).map((b, i) => (i === 0 ? b ^ 1 : b)),
    };
    const cases: [Uint8Array, string][] = [
      [new Uint8Array([0x90]), "MALFORMED"],
      [encodeTransaction(badSignature), "BAD_SIGNATURE"],
      [
        encodeTransaction(
          buildTransfer({
            chainId: "elsewhere",
            keys: KEYS[0]!,
            nonce: 0,
            fee: 5n,
            to: ADDRESSES[1]!,
            amount: 1n,
          }),
        ),
        "WRONG_CHAIN",
      ],
      [
        encodeTransaction(
          buildTransfer({
            chainId: CHAIN_ID,
            keys: KEYS[0]!,
            nonce: 1,
            fee: 5n,
            to: ADDRESSES[1]!,
            amount: 1n,
          }),
        ),
        "BAD_NONCE",
      ],
      [
        encodeTransaction(
          buildTransfer({
            chainId: CHAIN_ID,
            keys: KEYS[0]!,
            nonce: 0,
            fee: 0n,
            to: ADDRESSES[1]!,
            amount: 1n,
          }),
        ),
        "FEE_TOO_LOW",
      ],
      [
        encodeTransaction(
          buildTransfer({
            chainId: CHAIN_ID,
            keys: KEYS[0]!,
            nonce: 0,
            fee: 50_001n,
            to: ADDRESSES[1]!,
            amount: 0n,
          }),
        ),
        "CANNOT_PAY_FEE",
      ],
    ];
    const root = hex(ledger.stateRoot);
    for (const [bytes, reason] of cases) {
      const result = await apply(ledger, [bytes]);
      assert.deepEqual(result.receipts, []);
      assert.equal(result.rejected[0]!.reason, reason);
      assert.equal(hex(result.stateRoot), root, `${reason} changed the state`);
    }
    assert.equal(ledger.getAccount(ADDRESSES[0]!).nonce, 0);
  });

  it("executes a transaction included twice in a commit, and again later, exactly once", async () => {
    const ledger = await openLedger();
    const tx = encodeTransaction(
      buildTransfer({ chainId: CHAIN_ID, keys: KEYS[0]!, nonce: 0, fee: 5n, to: ADDRESSES[1]!, amount: 10n }),
    );
    const first = await apply(ledger, [tx, tx]);
    assert.equal(first.receipts.length, 1);
    assert.deepEqual(
      first.rejected.map((r) => r.reason),
      ["DUPLICATE"],
    );
    const root = hex(ledger.stateRoot);
    const again = await apply(ledger, [tx]);
    assert.deepEqual(
      again.rejected.map((r) => r.reason),
      ["DUPLICATE"],
    );
    assert.equal(hex(again.stateRoot), root);
    assert.equal(ledger.getAccount(ADDRESSES[1]!).balance, 50_010n);
    assert.equal(
      (
        await ledger.getReceipt(
          transactionDigest(
            buildTransfer({
              chainId: CHAIN_ID,
              keys: KEYS[0]!,
              nonce: 0,
              fee: 5n,
              to: ADDRESSES[1]!,
              amount: 10n,
            }),
          ),
        )
      )?.commitIndex,
      1,
    );
  });
});

describe("execution: modules", () => {
  it("a module locks value in escrow, keeps its own state under the state root, and releases it", async () => {
    const ledger = await openLedger();
    const env = (nonce: number) => ({ chainId: CHAIN_ID, keys: KEYS[2]!, nonce, fee: 2n });
    const r = await apply(ledger, [
      encodeTransaction(buildTransaction(env(0), "vault.deposit", encodeVault({ amount: 300n, tag: "a" }))),
      encodeTransaction(buildTransaction(env(1), "vault.withdraw", encodeVault({ amount: 100n, tag: "" }))),
    ]);
    assert.deepEqual(
      r.receipts.map((x) => x.success),
      [true, true],
    );
    assert.deepEqual(r.receipts[0]!.events, [{ name: "vault.deposited", data: utf8.encode("a") }]);
    assert.equal(ledger.totals().escrows, 200n);
    assert.equal(ledger.getAccount(ADDRESSES[2]!).balance, 50_000n - 200n - 4n);
    const key = bucketKey(Bucket.channelsState, ADDRESSES[2]!);
    const proof = ledger.proveKey(key);
    assert.ok(proof.value !== null && verifyProof(ledger.stateRoot, proof));
    assert.deepEqual(
      ledger.scanModuleValues(Bucket.channelsState).map((e) => hex(e.key)),
      [hex(ADDRESSES[2]!)],
    );
    checkInvariants(ledger);
  });

  it("a failing handler's writes, escrow moves and events are all undone, but its fee is paid", async () => {
    const ledger = await openLedger();
    const env = { chainId: CHAIN_ID, keys: KEYS[2]!, nonce: 0, fee: 2n };
    const before = ledger.totals();
    const r = await apply(ledger, [
      encodeTransaction(buildTransaction(env, "vault.deposit", encodeVault({ amount: 300n, tag: "fail" }))),
    ]);
    assert.equal(r.receipts[0]!.success, false);
    assert.deepEqual(r.receipts[0]!.events, []);
    assert.equal(ledger.totals().escrows, before.escrows);
    assert.equal(ledger.getStateValue(bucketKey(Bucket.channelsState, ADDRESSES[2]!)), null);
    assert.deepEqual(ledger.getAccount(ADDRESSES[2]!), { balance: 49_998n, nonce: 1, stake: 0n });
  });

  it("gives a handler the transaction's facts: nonce, hash, sender, commit index and time", async () => {
    const seen: unknown[] = [];
    const probe = {
      name: "probe",
      bucket: null,
      kinds: {
        "probe.facts": {
          decode: (payload: Uint8Array) => payload,
          apply(context: TxContext) {
            seen.push([
              context.nonce,
              hex(context.txHash),
              hex(context.sender),
              context.commitIndex,
              context.timestampMs,
              context.chainId,
            ]);
          },
        },
      },
    };
    const ledger = await Ledger.open({ store: new MemoryStore(), genesis, modules: [probe] });
    const env = (nonce: number) => ({ chainId: CHAIN_ID, keys: KEYS[3]!, nonce, fee: 1n });
    const txs = [
      buildTransaction(env(0), "probe.facts", new Uint8Array()),
      buildTransaction(env(1), "probe.facts", new Uint8Array()),
    ];
    await apply(ledger, txs.map(encodeTransaction));
    const t = 1_700_000_000_001;
    assert.deepEqual(seen, [
      [0, hex(transactionDigest(txs[0]!)), hex(ADDRESSES[3]!), 1, t, CHAIN_ID],
      [1, hex(transactionDigest(txs[1]!)), hex(ADDRESSES[3]!), 1, t, CHAIN_ID],
    ]);
  });

  it("the registry refuses duplicate kinds, duplicate names and the ledger's own buckets", () => {
    assert.throws(
      () =>
        new ModuleRegistry([
          coreModule,
          { name: "x", bucket: null, kinds: { transfer: coreModule.kinds.transfer! } },
        ]),
      AssertionError,
    );
    assert.throws(() => new ModuleRegistry([coreModule, { ...vaultModule, name: "core" }]), AssertionError);
    assert.throws(
      () => new ModuleRegistry([{ name: "evil", bucket: Bucket.ledgerAccount, kinds: {} }]),
      AssertionError,
    );
    assert.throws(
      () => new ModuleRegistry([{ name: "local", bucket: Bucket.channelsLocal, kinds: {} }]),
      AssertionError,
    );
  });
});

describe("execution: properties", () => {
  it("conserves value across random transaction sequences (supply + burned is constant, stakes included)", async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(arbitraryCommits, async (commits) => {
        const ledger = await openLedger();
        const history: Uint8Array[] = [];
        for (const ops of commits) {
          const txs = buildOps(ops, (i) => ledger.getAccount(ADDRESSES[i]!).nonce, history);
          const result = await apply(ledger, txs, ops.length % 2 === 0 ? ADDRESSES[5]! : null);
          assert.equal(result.receipts.length + result.rejected.length, txs.length);
          for (const r of result.receipts) outcomes.add(`${r.kind}:${r.errorCode}`);
          for (const r of result.rejected) outcomes.add(r.reason);
          checkInvariants(ledger);
        }
      }),
      { seed, numRuns: 80 },
    );
    // The mix must reach every path, or the property says little.
    for (const expected of [
      "transfer:",
      "stake:",
      "unstake:",
      "vault.deposit:",
      "vault.withdraw:",
      "transfer:INSUFFICIENT_BALANCE",
      "DUPLICATE",
      "BAD_NONCE",
      "BAD_SIGNATURE",
      "MALFORMED",
      "WRONG_CHAIN",
      "CANNOT_PAY_FEE",
    ]) {
      assert.ok(outcomes.has(expected), `no ${expected} in ${[...outcomes].join(" ")}`);
    }
  });

  it("is pure: executing twice from one state gives the same outcome and leaves the state untouched", () => {
    const registry = new ModuleRegistry([coreModule, vaultModule]);
    fc.assert(
      fc.property(arbitraryCommits, (commits) => {
        const state = genesisState(genesis);
        const root = hex(state.root());
        const txs = buildOps(commits.flat(), () => 0, []);
        const input = { index: 1, timestampMs: 1, feeRecipient: ADDRESSES[4]!, transactions: txs };
        const a = executeCommit(state, registry, input);
        const b = executeCommit(state, registry, input);
        assert.deepEqual(a.receipts, b.receipts);
        assert.deepEqual(a.rejected, b.rejected);
        assert.deepEqual([...a.changes.accounts], [...b.changes.accounts]);
        assert.equal(hex(state.root()), root);
      }),
      { seed, numRuns: 30 },
    );
  });
});
