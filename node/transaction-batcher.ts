import { GOSSIP_BYTES_MAX, TX_BATCH_TRANSACTIONS_MAX } from "../net/index.ts";

/**
 * How long admitted transactions wait to be sent on together (gossiped by a
 * full node, pushed to their proposer by a validator). Every message costs
 * its receiver a read and a decryption whatever its size, so the message
 * count matters more than the bytes; 20 ms adds little to the time to
 * finality (a round is 50 ms or more) and caps a node at 50 transaction
 * messages per second per destination.
 */
export const GOSSIP_FLUSH_MS = 20;

/** msgpack framing of a batch: the array header plus a bin header per transaction (at most 5 bytes each). */
const FRAMING_BYTES = 5;

/**
 * Collects the transactions this node admits and hands them on as batches:
 * everything admitted within `flushMs` of the first leaves as one message,
 * and a batch that would pass the message bounds (count or bytes) is sent at
 * once.
 */
export class TransactionBatcher {
  private pending: Uint8Array[] = [];
  private bytes = FRAMING_BYTES;
  private scheduled: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (batch: readonly Uint8Array[]) => void,
    private readonly flushMs = GOSSIP_FLUSH_MS,
  ) {}

  add(transaction: Uint8Array): void {
    const size = transaction.byteLength + FRAMING_BYTES;
    if (this.pending.length >= TX_BATCH_TRANSACTIONS_MAX || this.bytes + size > GOSSIP_BYTES_MAX)
      this.flush();
    this.pending.push(transaction);
    this.bytes += size;
    this.scheduled ??= setTimeout(() => this.flush(), this.flushMs);
  }

  flush(): void {
    if (this.scheduled !== null) clearTimeout(this.scheduled);
    this.scheduled = null;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.bytes = FRAMING_BYTES;
    this.send(batch);
  }
}
