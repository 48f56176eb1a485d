import { assert, compareBytes } from "../spec/index.ts";
import type { CommitRecord } from "./meta.ts";
import type { StoreEntry } from "./store.ts";

/**
 * A frozen copy of the ledger state after one commit, for serving to nodes
 * that start from a checkpoint instead of replaying the chain. Taking one
 * costs a shallow copy of the state maps (values are immutable, so they are
 * shared, not re-encoded); the entries are encoded and sorted by store key
 * only when a peer first asks for a page, so a checkpoint nobody downloads
 * costs little.
 */
export class StateSnapshot {
  private sorted: StoreEntry[] | null = null;

  constructor(
    /** The record of the commit this state follows (its index and state root). */
    readonly record: CommitRecord,
    private readonly source: () => Iterable<StoreEntry>,
  ) {}

  get index(): number {
    return this.record.index;
  }

  /** Every entry in store-key order. */
  entries(): readonly StoreEntry[] {
    if (this.sorted === null) this.sorted = [...this.source()].sort((a, b) => compareBytes(a.key, b.key));
    return this.sorted;
  }

  /**
   * The entries whose key is at least `fromKey`, in key order, as many as fit
   * `maxBytes` (keys plus values) but always at least one; `nextKey` is the
   * key a caller continues from, or null after the last entry.
   */
  page(fromKey: Uint8Array, maxBytes: number): SnapshotPage {
    const all = this.entries();
    let low = 0;
    let high = all.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareBytes(all[middle]!.key, fromKey) < 0) low = middle + 1;
      else high = middle;
    }
    const entries: StoreEntry[] = [];
    let bytes = 0;
    let position = low;
    for (; position < all.length; position++) {
      const entry = all[position]!;
      const size = snapshotEntryBytes(entry);
      if (entries.length > 0 && bytes + size > maxBytes) break;
      entries.push(entry);
      bytes += size;
    }
    assert(entries.length > 0 || position === all.length, "a page holds at least one entry");
    return { entries, nextKey: position < all.length ? all[position]!.key : null };
  }
}

export interface SnapshotPage {
  readonly entries: readonly StoreEntry[];
  /** The key of the first entry after this page; null when the page ends the snapshot. */
  readonly nextKey: Uint8Array | null;
}

/** An entry's share of a page's byte budget: key, value and a little framing. */
export function snapshotEntryBytes(entry: StoreEntry): number {
  return entry.key.byteLength + entry.value.byteLength + 8;
}
