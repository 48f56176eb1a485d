import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { compareBytes, toHex, utf8 } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { Bucket, bucketKey } from "./buckets.ts";
import { LedgerError } from "./errors.ts";
import { Ledger, SNAPSHOTS_KEPT } from "./ledger.ts";
import { MemoryStore } from "./memory-store.ts";
import { openRocksStore } from "./rocks-store.ts";
import { snapshotEntryBytes } from "./snapshot.ts";
import { LedgerState } from "./state.ts";
import { type StoreEntry, WriteBatch } from "./store.ts";
import { ADDRESSES, arbitraryCommits, buildOps, testGenesis, vaultModule } from "./test-fixtures.ts";

const seed = runSeed("snapshot.test");
const genesis = testGenesis();
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const open = (store: MemoryStore | Awaited<ReturnType<typeof openRocksStore>>, every = 0) =>
  Ledger.open({ store, genesis, modules: [vaultModule], snapshotIntervalCommits: every });
const commitInput = (index: number, transactions: Uint8Array[]) => ({
  index,
  timestampMs: 1_700_000_000_000 + index,
  feeRecipient: ADDRESSES[4]!,
  transactions,
});

/** A ledger that has applied `commits` (random ops), taking a snapshot every `every` commits. */
async function runLedger(commits: Parameters<typeof buildOps>[0][], every: number) {
  const ledger = await open(new MemoryStore(), every);
  const history: Uint8Array[] = [];
  const inputs = [];
  for (let i = 0; i < commits.length; i++) {
    const txs = buildOps(commits[i]!, (k) => ledger.getAccount(ADDRESSES[k]!).nonce, history);
    inputs.push(commitInput(i + 1, txs));
    await ledger.applyCommit(inputs.at(-1)!);
  }
  return { ledger, inputs };
}

const rootOf = (entries: Iterable<StoreEntry>) => toHex(LedgerState.fromEntries(entries).root());

describe("checkpoint snapshots", () => {
  it("keeps the newest snapshots at multiples of the interval, frozen against later commits", async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryCommits, fc.integer({ min: 1, max: 3 }), async (commits, every) => {
        const { ledger } = await runLedger(commits, every);
        const expected = Array.from({ length: commits.length }, (_, i) => i + 1)
          .filter((index) => index % every === 0)
          .slice(-SNAPSHOTS_KEPT);
        assert.deepEqual(
          ledger.checkpointSnapshots.map((s) => s.index),
          expected,
        );
        for (const snapshot of ledger.checkpointSnapshots) {
          const record = await ledger.getCommitRecord(snapshot.index);
          assert.equal(rootOf(snapshot.entries()), toHex(record!.stateRoot));
          assert.equal(toHex(snapshot.record.stateRoot), toHex(record!.stateRoot));
        }
      }),
      { seed, numRuns: 30 },
    );
  });

  it("pages cover every entry once, in key order, within the byte budget (one entry at least)", async () => {
    const { ledger } = await runLedger(
      fc.sample(arbitraryCommits, { seed, numRuns: 1 })[0]!.concat([[], []]),
      1,
    );
    const snapshot = ledger.checkpointSnapshots.at(-1)!;
    const all = snapshot.entries();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.nat(all.length), (maxBytes, start) => {
        let fromKey: Uint8Array | null = start === all.length ? new Uint8Array([0xff]) : all[start]!.key;
        const seen: StoreEntry[] = [];
        while (fromKey !== null) {
          const page = snapshot.page(fromKey, maxBytes);
          const bytes = page.entries.reduce((sum, e) => sum + snapshotEntryBytes(e), 0);
          assert.ok(page.entries.length === 1 || bytes <= maxBytes, `page of ${bytes} > ${maxBytes}`);
          assert.ok(page.entries.length > 0 || page.nextKey === null);
          seen.push(...page.entries);
          fromKey = page.nextKey;
        }
        assert.deepEqual(
          seen.map((e) => toHex(e.key)),
          all.slice(Math.min(start, all.length)).map((e) => toHex(e.key)),
        );
        for (let i = 1; i < all.length; i++) assert.ok(compareBytes(all[i - 1]!.key, all[i]!.key) < 0);
      }),
      { seed, numRuns: 100 },
    );
  });
});

describe("installing a snapshot", () => {
  it("starts a fresh RocksDB ledger at the checkpoint: same root, same next commits, survives a reopen, no older history", async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryCommits, arbitraryCommits, async (before, afterwards) => {
        const { ledger: source, inputs } = await runLedger(before, before.length);
        const snapshot = source.snapshotAt(before.length)!;
        assert.ok(snapshot !== null);

        const dir = mkdtempSync(join(tmpdir(), "hyperspace-snapshot-"));
        dirs.push(dir);
        let store = await openRocksStore(dir);
        let target = await open(store, before.length);
        const marker = bucketKey(Bucket.nodeMeta, utf8.encode("installed-with"));
        await target.installSnapshot(
          { record: snapshot.record, entries: snapshot.entries() },
          new WriteBatch().put(marker, Uint8Array.of(1)),
        );
        assert.equal(target.lastAppliedIndex, before.length);
        assert.equal(toHex(target.stateRoot), toHex(source.stateRoot));
        assert.deepEqual(await store.get(marker), Uint8Array.of(1));
        assert.equal(
          target.snapshotAt(before.length)?.index,
          before.length,
          "it can serve the checkpoint too",
        );

        const history: Uint8Array[] = inputs.flatMap((i) => [...i.transactions]);
        for (let i = 0; i < afterwards.length; i++) {
          const index = before.length + i + 1;
          const txs = buildOps(afterwards[i]!, (k) => source.getAccount(ADDRESSES[k]!).nonce, history);
          const a = await source.applyCommit(commitInput(index, txs));
          const b = await target.applyCommit(commitInput(index, txs));
          assert.equal(toHex(b.stateRoot), toHex(a.stateRoot), `root after commit ${index}`);
        }
        await target.close();
        await store.close();
        store = await openRocksStore(dir);
        target = await open(store);
        assert.equal(target.lastAppliedIndex, source.lastAppliedIndex);
        assert.equal(toHex(target.stateRoot), toHex(source.stateRoot));
        assert.deepEqual(target.totals(), source.totals());
        if (before.length > 1)
          assert.equal(await target.getCommitRecord(1), null, "no record before the checkpoint");
        await target.close();
        await store.close();
      }),
      { seed, numRuns: 8 },
    );
  });

  it("rejects a tampered, incomplete or reordered snapshot with SNAPSHOT_MISMATCH and changes nothing", async () => {
    const { ledger: source } = await runLedger(
      fc.sample(arbitraryCommits, { seed, numRuns: 1 })[0]!.concat([[]]),
      1,
    );
    const snapshot = source.checkpointSnapshots.at(-1)!;
    const entries = [...snapshot.entries()];
    const isMismatch = (error: unknown) => error instanceof LedgerError && error.code === "SNAPSHOT_MISMATCH";
    await fc.assert(
      fc.asyncProperty(
        fc.nat(entries.length - 1),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (at, byte, xor) => {
          const target = await open(new MemoryStore());
          const genesisRoot = toHex(target.stateRoot);
          const value = new Uint8Array(entries[at]!.value);
          value[byte % value.byteLength]! ^= xor;
          const tampered = entries.map((e, i) => (i === at ? { key: e.key, value } : e));
          await assert.rejects(
            target.installSnapshot({ record: snapshot.record, entries: tampered }),
            isMismatch,
          );
          const missing = entries.filter((_, i) => i !== at);
          await assert.rejects(
            target.installSnapshot({ record: snapshot.record, entries: missing }),
            isMismatch,
          );
          if (entries.length > 1) {
            const swapped = [...entries];
            const other = (at + 1) % entries.length;
            [swapped[at], swapped[other]] = [swapped[other]!, swapped[at]!];
            await assert.rejects(
              target.installSnapshot({ record: snapshot.record, entries: swapped }),
              isMismatch,
            );
          }
          const repeated = [...entries.slice(0, at + 1), entries[at]!, ...entries.slice(at + 1)];
          await assert.rejects(
            target.installSnapshot({ record: snapshot.record, entries: repeated }),
            isMismatch,
          );
          assert.equal(target.lastAppliedIndex, 0);
          assert.equal(toHex(target.stateRoot), genesisRoot);
        },
      ),
      { seed, numRuns: 40 },
    );
    const applied = await open(new MemoryStore());
    await applied.applyCommit(commitInput(1, []));
    await assert.rejects(
      applied.installSnapshot({ record: snapshot.record, entries }),
      (error: unknown) => error instanceof LedgerError && error.code === "LEDGER_NOT_FRESH",
    );
  });
});
