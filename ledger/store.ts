/**
 * The storage contract of the node: a sorted byte-key/byte-value store with
 * prefix iteration and an atomic write batch. Implemented once on RocksDB
 * (rocks-store.ts) and once in memory (memory-store.ts, for unit tests and
 * the simulator). Keys are a bucket byte plus the bucket's key (buckets.ts).
 *
 * Values handed out are the caller's to keep: a store never mutates a value
 * it returned, and copies what it is given.
 */

export type BatchOperation =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "delete"; readonly key: Uint8Array };

/**
 * An ordered list of writes applied all together or not at all by
 * `Store.write`. Building one does no I/O, so pure code can fill it.
 * A later write to the same key wins.
 */
export class WriteBatch {
  private readonly ops: BatchOperation[] = [];

  put(key: Uint8Array, value: Uint8Array): this {
    this.ops.push({ type: "put", key, value });
    return this;
  }

  delete(key: Uint8Array): this {
    this.ops.push({ type: "delete", key });
    return this;
  }

  get operations(): readonly BatchOperation[] {
    return this.ops;
  }

  get size(): number {
    return this.ops.length;
  }
}

export interface IterateOptions {
  /** Stop after this many entries. */
  readonly limit?: number;
  /** Iterate from the largest key down. */
  readonly reverse?: boolean;
}

export interface StoreEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface WriteOptions {
  /** fsync before resolving (default true). */
  readonly sync?: boolean;
}

export interface Store {
  get(key: Uint8Array): Promise<Uint8Array | null>;
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  delete(key: Uint8Array): Promise<void>;
  /** Every entry whose key starts with `prefix`, in key order (bytewise). */
  iterate(prefix: Uint8Array, options?: IterateOptions): AsyncIterable<StoreEntry>;
  /**
   * Applies every operation of the batch atomically and, by default,
   * durably: after it resolves, a crash keeps all of it. With `sync: false`
   * it survives a crash of the process but a power cut may lose it (and any
   * later unsynced write), never half of it; the next synced write makes it
   * durable too.
   */
  write(batch: WriteBatch, options?: WriteOptions): Promise<void>;
  close(): Promise<void>;
}

/** The smallest key greater than every key that starts with `prefix`; null when there is none (all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | null {
  const end = new Uint8Array(prefix);
  for (let i = end.byteLength - 1; i >= 0; i--) {
    const byte = end[i] ?? 0;
    if (byte < 0xff) {
      end[i] = byte + 1;
      return end.subarray(0, i + 1);
    }
  }
  return null;
}

/** Collects every entry under `prefix` (tests, open-time loading of small buckets). */
export async function collectPrefix(store: Store, prefix: Uint8Array): Promise<StoreEntry[]> {
  const out: StoreEntry[] = [];
  for await (const entry of store.iterate(prefix)) out.push(entry);
  return out;
}
