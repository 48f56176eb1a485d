import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { decodeAccount, encodeAccount, encodeTransaction, toHex, transactionDigest } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { buildTransfer } from "./core-payloads.ts";
import { LedgerError } from "./errors.ts";
import { createGenesis } from "./genesis.ts";
import { Ledger } from "./ledger.ts";
import { MemoryStore } from "./memory-store.ts";
import { verifyProof } from "./proof.ts";
import { openRocksStore } from "./rocks-store.ts";
import { accountKey } from "./state-keys.ts";
import type { Store, WriteBatch } from "./store.ts";
import {
  ADDRESSES,
  arbitraryCommits,
  buildOps,
  CHAIN_ID,
  KEYS,
  testGenesis,
  vaultModule,
} from "./test-fixtures.ts";

const seed = runSeed("ledger.test");

const genesis = testGenesis();
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hyperspace-ledger-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const open = (store: Store, g = genesis) => Ledger.open({ store, genesis: g, modules: [vaultModule] });
const commit = (index: number, transactions: Uint8Array[]) => ({
  index,
  timestampMs: 1_700_000_000_000 + index,
  feeRecipient: ADDRESSES[index % 2 === 0 ? 4 : 5]!,
  transactions,
});
const transfer = (nonce: number, amount: bigint) =>
  encodeTransaction(
    buildTransfer({ chainId: CHAIN_ID, keys: KEYS[0]!, nonce, fee: 3n, to: ADDRESSES[1]!, amount }),
  );

describe("ledger persistence", () => {
  it("gives equal roots on an in-memory and a RocksDB store for the same commits, and after reopening", async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryCommits, fc.nat(), async (commits, reopenAt) => {
        const dir = tempDir();
        let rocks = await openRocksStore(dir);
        let onDisk = await open(rocks);
        const inMemory = await open(new MemoryStore());
        const history: Uint8Array[] = [];
        for (let i = 0; i < commits.length; i++) {
          const txs = buildOps(commits[i]!, (k) => inMemory.getAccount(ADDRESSES[k]!).nonce, history);
          const a = await inMemory.applyCommit(commit(i + 1, txs));
          const b = await onDisk.applyCommit(commit(i + 1, txs));
          assert.equal(toHex(a.stateRoot), toHex(b.stateRoot));
          assert.deepEqual(a.receipts, b.receipts);
          if (i === reopenAt % commits.length) {
            await onDisk.close();
            await rocks.close();
            rocks = await openRocksStore(dir);
            onDisk = await open(rocks);
            assert.equal(onDisk.lastAppliedIndex, i + 1);
            assert.equal(toHex(onDisk.stateRoot), toHex(a.stateRoot));
          }
        }
        assert.deepEqual(onDisk.totals(), inMemory.totals());
        assert.deepEqual(onDisk.getValidators(), inMemory.getValidators());
        await onDisk.close();
        await rocks.close();
        rmSync(dir, { recursive: true, force: true });
      }),
      { seed, numRuns: 25 },
    );
  });

  it("applies commits handed over all at once like one by one", async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryCommits, async (commits) => {
        // The transactions, and the results one commit at a time, from an in-memory ledger.
        const sequential = await open(new MemoryStore());
        const inputs: ReturnType<typeof commit>[] = [];
        const expected: Awaited<ReturnType<Ledger["applyCommit"]>>[] = [];
        const history: Uint8Array[] = [];
        for (let i = 0; i < commits.length; i++) {
          const txs = buildOps(commits[i]!, (k) => sequential.getAccount(ADDRESSES[k]!).nonce, history);
          inputs.push(commit(i + 1, txs));
          expected.push(await sequential.applyCommit(inputs.at(-1)!));
        }
        const dir = tempDir();
        const rocks = await openRocksStore(dir);
        const ledger = await open(rocks);
        const results = await Promise.all(inputs.map((input) => ledger.applyCommit(input)));
        for (const [i, result] of results.entries()) {
          assert.equal(toHex(result.stateRoot), toHex(expected[i]!.stateRoot), `commit ${i + 1}`);
          assert.deepEqual(result.receipts, expected[i]!.receipts);
          assert.deepEqual(result.rejected, expected[i]!.rejected);
        }
        assert.equal(ledger.lastAppliedIndex, inputs.length);
        await ledger.close();
        const reopened = await open(rocks);
        assert.equal(reopened.lastAppliedIndex, inputs.length);
        assert.equal(toHex(reopened.stateRoot), toHex(sequential.stateRoot));
        for (const r of expected.flatMap((e) => e.receipts))
          assert.equal((await reopened.getReceipt(r.txHash))?.commitIndex, r.commitIndex);
        await reopened.close();
        await rocks.close();
        rmSync(dir, { recursive: true, force: true });
      }),
      { seed, numRuns: 25 },
    );
  });

  it("reopens at the last applied commit with its accounts, receipts and commit records", async () => {
    const dir = tempDir();
    let store = await openRocksStore(dir);
    let ledger = await open(store);
    await ledger.applyCommit(commit(1, [transfer(0, 10n)]));
    await ledger.applyCommit(commit(2, [transfer(1, 20n)]));
    const root = toHex(ledger.stateRoot);
    await ledger.close();
    await store.close();

    store = await openRocksStore(dir);
    ledger = await open(store);
    assert.equal(ledger.lastAppliedIndex, 2);
    assert.equal(toHex(ledger.stateRoot), root);
    assert.equal(ledger.getAccount(ADDRESSES[1]!).balance, 50_030n);
    const receipt = await ledger.getReceipt(
      transactionDigest(
        buildTransfer({
          chainId: CHAIN_ID,
          keys: KEYS[0]!,
          nonce: 1,
          fee: 3n,
          to: ADDRESSES[1]!,
          amount: 20n,
        }),
      ),
    );
    assert.equal(receipt?.commitIndex, 2);
    assert.equal((await ledger.getCommitRecord(1))?.executed, 1);
    assert.equal(toHex((await ledger.getCommitRecord(2))!.stateRoot), root);
    await ledger.close();
    await store.close();
  });

  it("treats re-applying an applied commit as a no-op and refuses a gap", async () => {
    const ledger = await open(new MemoryStore());
    const first = await ledger.applyCommit(commit(1, [transfer(0, 10n)]));
    const second = await ledger.applyCommit(commit(2, [transfer(1, 10n)]));
    for (const [index, root] of [
      [1, first.stateRoot],
      [2, second.stateRoot],
    ] as const) {
      const again = await ledger.applyCommit(commit(index, [transfer(2, 10n)]));
      assert.equal(again.alreadyApplied, true);
      assert.equal(toHex(again.stateRoot), toHex(root));
    }
    assert.equal(ledger.getAccount(ADDRESSES[0]!).nonce, 2);
    assert.equal(toHex(ledger.stateRoot), toHex(second.stateRoot));
    await assert.rejects(
      ledger.applyCommit(commit(4, [])),
      (e) => e instanceof LedgerError && e.code === "COMMIT_OUT_OF_ORDER",
    );
  });

  it("refuses a store created from another genesis, and a store whose state was altered", async () => {
    const store = new MemoryStore();
    await (await open(store)).close();
    const other = createGenesis({ ...genesis, chainId: "another-chain" });
    await assert.rejects(
      open(store, other),
      (e) => e instanceof LedgerError && e.code === "GENESIS_MISMATCH",
    );
    await store.put(accountKey(ADDRESSES[0]!), encodeAccount({ balance: 1n, nonce: 0, stake: 0n }));
    await assert.rejects(open(store), (e) => e instanceof LedgerError && e.code === "CORRUPT_STATE");
  });

  it("proves any account under the current root; the proof shows its encoded state", async () => {
    const ledger = await open(new MemoryStore());
    await ledger.applyCommit(commit(1, [transfer(0, 10n)]));
    for (const address of [...ADDRESSES, new Uint8Array(20).fill(7)]) {
      const proof = ledger.prove(address);
      assert.ok(verifyProof(ledger.stateRoot, proof));
      const account = ledger.getAccount(address);
      if (proof.value === null) assert.deepEqual(account, { balance: 0n, nonce: 0, stake: 0n });
      else assert.deepEqual(decodeAccount(proof.value), account);
    }
  });

  it("stops serving after a failed write instead of drifting ahead of disk", async () => {
    class FailingStore extends MemoryStore {
      failNext = false;
      override async write(batch: WriteBatch): Promise<void> {
        if (this.failNext) throw new LedgerError("STORE_IO", "disk full", {});
        return super.write(batch);
      }
    }
    const store = new FailingStore();
    const ledger = await open(store);
    store.failNext = true;
    await assert.rejects(
      ledger.applyCommit(commit(1, [transfer(0, 10n)])),
      (e) => e instanceof LedgerError && e.code === "STORE_IO",
    );
    assert.throws(
      () => ledger.getAccount(ADDRESSES[0]!),
      (e) => e instanceof LedgerError && e.code === "LEDGER_CLOSED",
    );
    store.failNext = false;
    const reopened = await open(store);
    assert.equal(reopened.lastAppliedIndex, 0);
    assert.equal(reopened.getAccount(ADDRESSES[0]!).nonce, 0);
  });

  it("writes the commits executed during a write together, and resolves each once it is written", async () => {
    class GatedStore extends MemoryStore {
      writes = 0;
      private gate: Promise<void> | null = null;
      private open = () => {};
      hold(): void {
        this.gate = new Promise((resolve) => (this.open = resolve));
      }
      release(): void {
        this.open();
      }
      override async write(batch: WriteBatch): Promise<void> {
        this.writes++;
        await this.gate;
        return super.write(batch);
      }
    }
    const txs = [0, 1, 2, 3].map((nonce) => transfer(nonce, 1n));
    // Commit 3 repeats commit 2's transaction, which is executed but not yet written when commit 3 runs.
    const inputs = [[txs[0]!], [txs[1]!], [txs[1]!, txs[2]!], [txs[3]!]].map((t, i) => commit(i + 1, t));
    const sequential = await open(new MemoryStore());
    const expected = [];
    for (const input of inputs) expected.push(await sequential.applyCommit(input));

    const store = new GatedStore();
    const ledger = await open(store);
    store.writes = 0;
    store.hold();
    let resolved = 0;
    const all = Promise.all(inputs.map((input) => ledger.applyCommit(input).finally(() => resolved++)));
    while (ledger.getAccount(ADDRESSES[0]!).nonce < 4) await new Promise((r) => setImmediate(r));
    assert.equal(resolved, 0, "no commit resolves before its write");
    assert.equal(ledger.lastAppliedIndex, 0);
    store.release();
    const results = await all;
    assert.equal(store.writes, 2, "commit 1 alone, then commits 2 to 4 in one batch");
    assert.deepEqual(
      results.map((r) => [toHex(r.stateRoot), r.receipts, r.rejected]),
      expected.map((r) => [toHex(r.stateRoot), r.receipts, r.rejected]),
    );
    assert.equal(results[2]!.receipts.length, 1, "the repeated transaction runs once");
    assert.equal(ledger.lastAppliedIndex, 4);
    assert.equal((await ledger.getCommitRecord(4))?.executed, 1);
  });

  it("serialises concurrent applyCommit calls in call order", async () => {
    const ledger = await open(new MemoryStore());
    const results = await Promise.all(
      [1, 2, 3].map((i) => ledger.applyCommit(commit(i, [transfer(i - 1, 1n)]))),
    );
    assert.deepEqual(
      results.map((r) => r.receipts.length),
      [1, 1, 1],
    );
    assert.equal(ledger.lastAppliedIndex, 3);
  });
});
