import { byteKey, fromByteKey } from "../spec/index.ts";
import { LedgerError } from "./errors.ts";
import type { IterateOptions, Store, StoreEntry, WriteBatch, WriteOptions } from "./store.ts";

/**
 * The in-memory store, for unit tests and the simulator. Keys are held as
 * latin1 strings (one char per byte), whose JS string order is the bytewise
 * order RocksDB uses, in a sorted array beside a map of values. Iteration
 * reads a snapshot of the matching keys taken when it starts.
 */
export class MemoryStore implements Store {
  private readonly values = new Map<string, Uint8Array>();
  /** Sorted keys; insertion is a binary search plus a splice. */
  private readonly sortedKeys: string[] = [];
  private closed = false;

  async get(key: Uint8Array): Promise<Uint8Array | null> {
    this.checkOpen();
    const value = this.values.get(byteKey(key));
    return value === undefined ? null : new Uint8Array(value);
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.checkOpen();
    this.putNow(byteKey(key), value);
  }

  async delete(key: Uint8Array): Promise<void> {
    this.checkOpen();
    this.deleteNow(byteKey(key));
  }

  async *iterate(prefix: Uint8Array, options: IterateOptions = {}): AsyncIterable<StoreEntry> {
    this.checkOpen();
    const start = byteKey(prefix);
    const from = lowerBound(this.sortedKeys, start);
    let to = from;
    while (to < this.sortedKeys.length && (this.sortedKeys[to] as string).startsWith(start)) to++;
    const keys = this.sortedKeys.slice(from, to);
    if (options.reverse) keys.reverse();
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    let count = 0;
    for (const key of keys) {
      if (count >= limit) return;
      const value = this.values.get(key);
      if (value === undefined) continue; // deleted since the snapshot
      count++;
      yield { key: fromByteKey(key), value: new Uint8Array(value) };
    }
  }

  /** Memory has no durability to choose: `options.sync` changes nothing. */
  async write(batch: WriteBatch, _options?: WriteOptions): Promise<void> {
    this.checkOpen();
    for (const op of batch.operations) {
      if (op.type === "put") this.putNow(byteKey(op.key), op.value);
      else this.deleteNow(byteKey(op.key));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Number of keys held (tests). */
  get size(): number {
    return this.values.size;
  }

  private putNow(key: string, value: Uint8Array): void {
    if (!this.values.has(key)) this.sortedKeys.splice(lowerBound(this.sortedKeys, key), 0, key);
    this.values.set(key, new Uint8Array(value));
  }

  private deleteNow(key: string): void {
    if (!this.values.delete(key)) return;
    this.sortedKeys.splice(lowerBound(this.sortedKeys, key), 1);
  }

  private checkOpen(): void {
    if (this.closed) throw new LedgerError("STORE_CLOSED", "memory store is closed", {});
  }
}

/** Index of the first key >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((keys[mid] as string) < key) low = mid + 1;
    else high = mid;
  }
  return low;
}
