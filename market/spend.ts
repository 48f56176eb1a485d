import type { Store } from "../ledger/index.ts";
import { AMOUNT_MAX, assert, DIGEST_BYTES, decodeWith, encode, FieldReader, toHex } from "../spec/index.ts";
import { localKey, localPrefix, MarketLocalKind } from "./local-keys.ts";

/**
 * What this node has spent on inference in each pod (tokens received times
 * price, summed over requests), kept in the local store so `pod status`
 * survives restarts. Writes to one pod coalesce: at most one in flight.
 */
const SpendCodec = {
  type: "PodSpend",
  maxBytes: 16,
  toValue: (amount: bigint) => [amount],
  fromValue: (value: unknown, type = "PodSpend") => FieldReader.of(type, value, 1).amount("amount"),
};

export class SpendBook {
  private readonly totals = new Map<string, bigint>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly store: Store) {}

  static async open(store: Store): Promise<SpendBook> {
    const book = new SpendBook(store);
    for await (const entry of store.iterate(localPrefix(MarketLocalKind.podSpend))) {
      const podId = entry.key.subarray(entry.key.byteLength - DIGEST_BYTES);
      book.totals.set(toHex(podId), decodeWith(SpendCodec, entry.value));
    }
    return book;
  }

  get(podId: Uint8Array): bigint {
    return this.totals.get(toHex(podId)) ?? 0n;
  }

  /** Adds `amount` to the pod's spend; the write is queued (see `flush`). */
  add(podId: Uint8Array, amount: bigint): void {
    assert(amount >= 0n, "spend only grows");
    const id = toHex(podId);
    const total = (this.totals.get(id) ?? 0n) + amount;
    const capped = total > AMOUNT_MAX ? AMOUNT_MAX : total;
    this.totals.set(id, capped);
    this.writing = this.writing.then(() =>
      this.store.put(localKey(MarketLocalKind.podSpend, podId), encode([capped])),
    );
  }

  /** Resolves once every spend added so far is written. */
  flush(): Promise<void> {
    return this.writing;
  }
}
