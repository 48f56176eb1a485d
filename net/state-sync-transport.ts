import { CodecError, compareBytes, encode, FieldReader, unpackValue } from "../spec/index.ts";
import {
  Protocol,
  RESPONSE_BYTES_MAX,
  STATE_KEY_BYTES_MAX,
  STATE_PAGE_BYTES_MAX,
  STATE_SYNC_REQUEST_BYTES_MAX,
} from "./constants.ts";
import { NetError } from "./errors.ts";
import type { NetworkHost } from "./host.ts";

/**
 * State sync over request/response: a node starting from a checkpoint asks
 * a peer for the checkpoint it offers (opaque bytes here: the node layer
 * encodes and verifies the certificate, commit and record), then for that
 * checkpoint's state entries in pages, each a key range in store-key order
 * of at most STATE_PAGE_BYTES_MAX. A page names the key the next one starts
 * from, so a download resumes from any peer that holds the same checkpoint.
 * This layer checks only shape and bounds (keys strictly increasing and not
 * below the asked key); whether the entries are the certified state is
 * checked by the node against the state root.
 */

export interface StateEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface StatePage {
  readonly entries: readonly StateEntry[];
  /** The key the next page starts from; null when this page ends the snapshot. */
  readonly nextKey: Uint8Array | null;
}

/** What a serving node answers with. */
export interface StateSyncService {
  /** The encoded offer of the newest checkpoint whose state this node can serve, or null if none. */
  checkpointOffer(): Promise<Uint8Array | null> | Uint8Array | null;
  /** Entries of checkpoint `index` from `fromKey` on, up to `maxBytes`; null when that checkpoint is no longer held. */
  statePage(
    index: number,
    fromKey: Uint8Array,
    maxBytes: number,
  ): Promise<StatePage | null> | StatePage | null;
}

enum StateSyncKind {
  Checkpoint = 0,
  Page = 1,
}

/** The answer of a peer that no longer holds the asked checkpoint (it moved on); ask another, or start over. */
export const SNAPSHOT_GONE = "SNAPSHOT_GONE";

/** Whether a page request failed because the peer no longer holds that checkpoint. */
export function isSnapshotGone(error: unknown): boolean {
  return error instanceof NetError && error.code === "REMOTE_ERROR" && error.message.endsWith(SNAPSHOT_GONE);
}

export class StateSyncTransport {
  constructor(private readonly host: NetworkHost) {}

  async serve(service: StateSyncService): Promise<void> {
    await this.host.handleRequests(
      Protocol.StateSync,
      async (request, peer) => {
        let kind: number;
        let reader: FieldReader;
        try {
          const value = unpackValue("StateSyncRequest", request, STATE_SYNC_REQUEST_BYTES_MAX);
          const array = Array.isArray(value) ? value : [];
          reader = FieldReader.of("StateSyncRequest", value, array[0] === StateSyncKind.Page ? 3 : 1);
          kind = reader.integer("kind", 1);
        } catch (error) {
          this.host.penalise(peer, "Malformed");
          throw error;
        }
        if (kind === StateSyncKind.Checkpoint) return encode([await service.checkpointOffer()]);
        const index = reader.integer("index");
        const fromKey = reader.bytes("fromKey", { max: STATE_KEY_BYTES_MAX });
        const page = await service.statePage(index, fromKey, STATE_PAGE_BYTES_MAX);
        if (page === null)
          throw new NetError("REMOTE_ERROR", SNAPSHOT_GONE, { protocol: Protocol.StateSync });
        return encode([page.entries.map((e) => [e.key, e.value]), page.nextKey]);
      },
      STATE_SYNC_REQUEST_BYTES_MAX,
    );
  }

  /** The peer's encoded checkpoint offer, or null when it has none to serve. */
  async fetchCheckpointOffer(peer: string): Promise<Uint8Array | null> {
    const value = await this.call(peer, [StateSyncKind.Checkpoint]);
    return this.parse(peer, () => {
      const reader = FieldReader.of("CheckpointOfferResponse", value, 1);
      const [offer] = value as unknown[];
      return offer === null ? null : reader.bytes("offer", { max: RESPONSE_BYTES_MAX });
    });
  }

  /**
   * One page of checkpoint `index`'s entries from `fromKey` on. Throws
   * NetError REMOTE_ERROR with message SNAPSHOT_GONE when the peer no longer
   * holds that checkpoint, and a CodecError (costing the peer score) for a
   * malformed page.
   */
  async fetchStatePage(peer: string, index: number, fromKey: Uint8Array): Promise<StatePage> {
    const value = await this.call(peer, [StateSyncKind.Page, index, fromKey]);
    return this.parse(peer, () => {
      const reader = FieldReader.of("StatePage", value, 2);
      // Every entry costs at least a few bytes, so a page within the response bound holds fewer than this.
      const items = reader.array("entries", RESPONSE_BYTES_MAX / 4);
      let previous: Uint8Array | null = null;
      const entries = items.map((item, i) => {
        const field = FieldReader.of(`StatePage.entries[${i}]`, item, 2);
        const key = field.bytes("key", { max: STATE_KEY_BYTES_MAX });
        const value = field.bytes("value", { max: RESPONSE_BYTES_MAX });
        const floor = previous ?? fromKey;
        if (previous === null ? compareBytes(key, floor) < 0 : compareBytes(key, floor) <= 0) {
          throw new CodecError("OUT_OF_RANGE", `StatePage.entries[${i}]: key out of order`, {
            type: "StatePage",
          });
        }
        previous = key;
        return { key, value };
      });
      const [, next] = value as unknown[];
      const nextKey = next === null ? null : reader.bytes("nextKey", { max: STATE_KEY_BYTES_MAX });
      if (nextKey !== null && (entries.length === 0 || compareBytes(nextKey, previous!) <= 0)) {
        throw new CodecError("OUT_OF_RANGE", "StatePage.nextKey: does not move past the page", {
          type: "StatePage",
        });
      }
      return { entries, nextKey };
    });
  }

  private call(peer: string, request: unknown[]): Promise<unknown> {
    return this.host.requestValue(peer, Protocol.StateSync, request, "StateSyncResponse");
  }

  private parse<T>(peer: string, read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof CodecError) this.host.penalise(peer, "Malformed");
      throw error;
    }
  }
}
