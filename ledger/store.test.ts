import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { runSeed } from "../spec/testing.ts";
import { Bucket, bucketKey, indexKey, readIndexKey } from "./buckets.ts";
import { LedgerError } from "./errors.ts";
import { MemoryStore } from "./memory-store.ts";
import { openRocksStore, type RocksStore } from "./rocks-store.ts";
import { collectPrefix, prefixEnd, type Store, WriteBatch } from "./store.ts";

const seed = runSeed("store.test");

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
/** Keys from a tiny alphabet so puts, deletes and prefixes collide often. */
const arbitraryKey = fc
  .uint8Array({ minLength: 1, maxLength: 3 })
  .map((k) => k.map((b) => [0, 1, 255][b % 3] ?? 0));
const arbitraryOp = fc.oneof(
  fc.record({ type: fc.constant("put" as const), key: arbitraryKey, value: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ type: fc.constant("delete" as const), key: arbitraryKey }),
);
const arbitraryStep = fc.oneof(
  arbitraryOp.map((op) => ({ batch: false, ops: [op] })),
  fc.array(arbitraryOp, { maxLength: 6 }).map((ops) => ({ batch: true, ops })),
);

/** The model: a map from hex key to value, sorted on read. */
function modelEntries(model: Map<string, Uint8Array>, prefix: Uint8Array): [string, string][] {
  return [...model.entries()]
    .filter(([k]) => k.startsWith(hex(prefix)))
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a, "hex"), Buffer.from(b, "hex")))
    .map(([k, v]) => [k, hex(v)]);
}

function suite(name: string, open: () => Promise<Store>, numRuns: number): void {
  describe(`${name} store`, () => {
    let store: Store;
    let run = 0;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });

    it("matches a map model under random puts, deletes and batches", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(arbitraryStep, { maxLength: 20 }), arbitraryKey, async (steps, probe) => {
          // Each run works under its own 4-byte namespace so runs do not see each other's keys.
          const namespace = indexKey(run++).subarray(4);
          const key = (k: Uint8Array) => Uint8Array.from([...namespace, ...k]);
          const model = new Map<string, Uint8Array>();
          for (const step of steps) {
            if (step.batch) {
              const batch = new WriteBatch();
              for (const op of step.ops) {
                if (op.type === "put") batch.put(key(op.key), op.value);
                else batch.delete(key(op.key));
              }
              await store.write(batch);
            } else {
              const op = step.ops[0]!;
              if (op.type === "put") await store.put(key(op.key), op.value);
              else await store.delete(key(op.key));
            }
            for (const op of step.ops) {
              if (op.type === "put") model.set(hex(key(op.key)), op.value);
              else model.delete(hex(key(op.key)));
            }
          }
          const got = await store.get(key(probe));
          const expected = model.get(hex(key(probe)));
          assert.equal(got === null ? null : hex(got), expected === undefined ? null : hex(expected));
          for (const prefix of [namespace, key(probe.subarray(0, 1))]) {
            const entries = (await collectPrefix(store, prefix)).map((e) => [hex(e.key), hex(e.value)]);
            assert.deepEqual(entries, modelEntries(model, prefix));
            const reversed: [string, string][] = [];
            for await (const e of store.iterate(prefix, { reverse: true, limit: 2 }))
              reversed.push([hex(e.key), hex(e.value)]);
            assert.deepEqual(reversed, modelEntries(model, prefix).reverse().slice(0, 2));
          }
        }),
        { seed, numRuns },
      );
    });

    it("iterates a bucket without touching its neighbours, including the 0xff edge", async () => {
      await store.put(bucketKey(Bucket.ledgerAccount, Uint8Array.of(0xff, 0xff)), Uint8Array.of(1));
      await store.put(bucketKey(Bucket.ledgerValidator, Uint8Array.of(0)), Uint8Array.of(2));
      await store.put(Uint8Array.of(0xff, 0xff), Uint8Array.of(3));
      const accounts = await collectPrefix(store, Uint8Array.of(Bucket.ledgerAccount));
      assert.deepEqual(
        accounts.map((e) => hex(e.key)),
        [hex(bucketKey(Bucket.ledgerAccount, Uint8Array.of(0xff, 0xff)))],
      );
      const top = await collectPrefix(store, Uint8Array.of(0xff));
      assert.deepEqual(
        top.map((e) => hex(e.value)),
        ["03"],
      );
    });

    it("returns copies the caller may mutate", async () => {
      const key = Uint8Array.of(0xee, 1);
      const value = Uint8Array.of(7, 7);
      await store.put(key, value);
      value[0] = 0;
      const got = (await store.get(key))!;
      assert.equal(hex(got), "0707");
      got[0] = 9;
      assert.equal(hex((await store.get(key))!), "0707");
    });
  });
}

let rocksDir = "";
suite("memory", async () => new MemoryStore(), 200);
suite("rocksdb", async () => {
  rocksDir = mkdtempSync(join(tmpdir(), "hyperspace-store-"));
  return openRocksStore(rocksDir);
}, 60);

describe("rocksdb durability", () => {
  it("keeps a batch across close and reopen, and refuses use after close", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hyperspace-store-"));
    try {
      let store: RocksStore = await openRocksStore(dir);
      await store.write(
        new WriteBatch().put(Uint8Array.of(1, 2), Uint8Array.of(3)).put(Uint8Array.of(1, 3), Uint8Array.of()),
      );
      await store.close();
      await assert.rejects(
        store.get(Uint8Array.of(1, 2)),
        (e) => e instanceof LedgerError && e.code === "STORE_CLOSED",
      );
      store = await openRocksStore(dir);
      assert.equal(hex((await store.get(Uint8Array.of(1, 2)))!), "03");
      assert.equal(hex((await store.get(Uint8Array.of(1, 3)))!), "");
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports a second open of a locked directory as a typed error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hyperspace-store-"));
    const store = await openRocksStore(dir);
    try {
      await assert.rejects(openRocksStore(dir), (e) => e instanceof LedgerError && e.code === "STORE_IO");
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("key helpers", () => {
  it("prefixEnd bounds exactly the keys with the prefix", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 4 }),
        fc.uint8Array({ maxLength: 4 }),
        (prefix, rest) => {
          const end = prefixEnd(prefix);
          const key = Uint8Array.from([...prefix, ...rest]);
          if (end === null) assert.ok(prefix.every((b) => b === 0xff));
          else assert.ok(Buffer.compare(key, end) < 0 && Buffer.compare(prefix, end) < 0);
        },
      ),
      { seed },
    );
  });

  it("index keys sort as numbers and read back", () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (a, b) => {
        assert.equal(readIndexKey(indexKey(a)), a);
        assert.equal(Math.sign(Buffer.compare(indexKey(a), indexKey(b))), Math.sign(a - b));
      }),
      { seed },
    );
  });
});

after(() => {
  if (rocksDir !== "") rmSync(rocksDir, { recursive: true, force: true });
});
