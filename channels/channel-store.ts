import { Bucket, bucketKey, type Store } from "../ledger/index.ts";
import { CodecError, DIGEST_BYTES, toHex } from "../spec/index.ts";
import { ChannelError } from "./errors.ts";
import {
  decodePayeeRecord,
  decodePayerRecord,
  encodePayeeRecord,
  encodePayerRecord,
  type PayeeRecord,
  type PayerRecord,
} from "./local-records.ts";

/**
 * Off-chain channel records in the node's store (bucket channelsLocal):
 *
 *   [channelsLocal] 0x01 channelId -> PayerRecord
 *   [channelsLocal] 0x02 channelId -> PayeeRecord
 *
 * Writes to one key coalesce: while a write is in flight, later values wait
 * and only the newest of them is encoded and written next. Every caller's promise
 * resolves once a value at least as new as its own is durable, so a payer
 * signing a thousand vouchers during one fsync costs two writes, not a
 * thousand, and "persist before sending" still holds for each voucher.
 */

const PAYER_ROLE = 0x01;
const PAYEE_ROLE = 0x02;

function recordKey(role: number, channelId: Uint8Array): Uint8Array {
  if (channelId.byteLength !== DIGEST_BYTES) throw new RangeError("channel ids are 32 bytes");
  const key = new Uint8Array(1 + DIGEST_BYTES);
  key[0] = role;
  key.set(channelId, 1);
  return bucketKey(Bucket.channelsLocal, key);
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** A value to write, encoded only if it is still the newest when its turn comes; null deletes. */
type PendingValue = () => Uint8Array | null;

/** One key's coalescing writer: a single drain loop, at most one write in flight. */
class KeyWriter {
  private pending: PendingValue | undefined = undefined;
  private waiters: Waiter[] = [];
  private running = false;

  constructor(
    private readonly store: Store,
    private readonly key: Uint8Array,
    private readonly onIdle: () => void,
  ) {}

  write(value: PendingValue): Promise<void> {
    this.pending = value;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.running) void this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.pending !== undefined) {
      const pending = this.pending;
      const waiters = this.waiters;
      this.pending = undefined;
      this.waiters = [];
      try {
        const value = pending();
        if (value === null) await this.store.delete(this.key);
        else await this.store.put(this.key, value);
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.running = false;
    this.onIdle();
  }
}

export class ChannelStore {
  private readonly writers = new Map<string, KeyWriter>();

  constructor(readonly store: Store) {}

  private write(key: Uint8Array, value: PendingValue): Promise<void> {
    const id = toHex(key);
    let writer = this.writers.get(id);
    if (writer === undefined) {
      writer = new KeyWriter(this.store, key, () => this.writers.delete(id));
      this.writers.set(id, writer);
    }
    return writer.write(value);
  }

  savePayer(record: PayerRecord): Promise<void> {
    return this.write(recordKey(PAYER_ROLE, record.channelId), () => encodePayerRecord(record));
  }

  savePayee(record: PayeeRecord): Promise<void> {
    return this.write(recordKey(PAYEE_ROLE, record.channelId), () => encodePayeeRecord(record));
  }

  deletePayer(channelId: Uint8Array): Promise<void> {
    return this.write(recordKey(PAYER_ROLE, channelId), () => null);
  }

  deletePayee(channelId: Uint8Array): Promise<void> {
    return this.write(recordKey(PAYEE_ROLE, channelId), () => null);
  }

  async loadPayer(channelId: Uint8Array): Promise<PayerRecord | null> {
    const bytes = await this.store.get(recordKey(PAYER_ROLE, channelId));
    return bytes === null ? null : decodeStored(decodePayerRecord, bytes);
  }

  async loadPayee(channelId: Uint8Array): Promise<PayeeRecord | null> {
    const bytes = await this.store.get(recordKey(PAYEE_ROLE, channelId));
    return bytes === null ? null : decodeStored(decodePayeeRecord, bytes);
  }

  async listPayers(): Promise<PayerRecord[]> {
    return this.list(PAYER_ROLE, decodePayerRecord);
  }

  async listPayees(): Promise<PayeeRecord[]> {
    return this.list(PAYEE_ROLE, decodePayeeRecord);
  }

  private async list<T>(role: number, decode: (bytes: Uint8Array) => T): Promise<T[]> {
    const out: T[] = [];
    for await (const entry of this.store.iterate(bucketKey(Bucket.channelsLocal, Uint8Array.of(role)))) {
      out.push(decodeStored(decode, entry.value));
    }
    return out;
  }
}

function decodeStored<T>(decode: (bytes: Uint8Array) => T, bytes: Uint8Array): T {
  try {
    return decode(bytes);
  } catch (error) {
    if (error instanceof CodecError) throw new ChannelError("CORRUPT_RECORD", error.message, {});
    throw error;
  }
}
