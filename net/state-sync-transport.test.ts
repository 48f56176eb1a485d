import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CodecError, compareBytes, encode } from "../spec/index.ts";
import { Protocol, STATE_PAGE_BYTES_MAX } from "./constants.ts";
import { NetError } from "./errors.ts";
import type { NetworkHost } from "./host.ts";
import { isSnapshotGone, type StateEntry, StateSyncTransport } from "./state-sync-transport.ts";
import { loopbackHost } from "./testing.ts";

const CHAIN = "state-sync-net-test";

const host = (bootstrap: string[] = []) => loopbackHost(CHAIN, { bootstrap });

/** 3,000 entries of about 1 KB: three pages or so. */
const ENTRIES: StateEntry[] = Array.from({ length: 3_000 }, (_, i) => ({
  key: Uint8Array.of(0x10, i >> 8, i & 0xff),
  value: new Uint8Array(1_000).fill(i & 0xff),
}));

describe("state sync over loopback sockets", () => {
  let server: NetworkHost;
  let rogue: NetworkHost;
  let client: NetworkHost;
  let transport: StateSyncTransport;
  let offer: Uint8Array | null = null;
  let held = 7;

  before(async () => {
    server = await host();
    rogue = await host();
    client = await host([...server.multiaddrs(), ...rogue.multiaddrs()]);
    await new StateSyncTransport(server).serve({
      checkpointOffer: () => offer,
      statePage(index, fromKey, maxBytes) {
        if (index !== held) return null;
        const start = ENTRIES.findIndex((e) => compareBytes(e.key, fromKey) >= 0);
        if (start < 0) return { entries: [], nextKey: null };
        const entries: StateEntry[] = [];
        let bytes = 0;
        let i = start;
        for (; i < ENTRIES.length && (entries.length === 0 || bytes + 1_011 <= maxBytes); i++) {
          entries.push(ENTRIES[i]!);
          bytes += 1_011;
        }
        return { entries, nextKey: i < ENTRIES.length ? ENTRIES[i]!.key : null };
      },
    });
    // A peer that answers pages out of key order, or with a next key that goes back.
    await rogue.handleRequests(Protocol.StateSync, async (request) => {
      const goesBack = request.at(-1) === 1;
      return goesBack
        ? encode([[[Uint8Array.of(5), Uint8Array.of(0)]], Uint8Array.of(4)])
        : encode([
            [
              [Uint8Array.of(9), Uint8Array.of(0)],
              [Uint8Array.of(8), Uint8Array.of(0)],
            ],
            null,
          ]);
    });
    transport = new StateSyncTransport(client);
  });

  after(async () => {
    await Promise.all([server.stop(), rogue.stop(), client.stop()]);
  });

  it("returns the offered checkpoint bytes, or null when the peer has none", async () => {
    assert.equal(await transport.fetchCheckpointOffer(server.peerId), null);
    offer = Uint8Array.of(1, 2, 3);
    assert.deepEqual(await transport.fetchCheckpointOffer(server.peerId), offer);
  });

  it("downloads every entry once, in key order, in pages within the byte budget", async () => {
    const got: StateEntry[] = [];
    let fromKey: Uint8Array | null = new Uint8Array();
    let pages = 0;
    while (fromKey !== null) {
      const page = await transport.fetchStatePage(server.peerId, held, fromKey);
      assert.ok(page.entries.length * 1_011 <= STATE_PAGE_BYTES_MAX);
      got.push(...page.entries);
      fromKey = page.nextKey;
      pages++;
    }
    assert.ok(pages >= 3, `${pages} pages`);
    assert.deepEqual(got, ENTRIES);
  });

  it("says SNAPSHOT_GONE for a checkpoint the peer no longer holds", async () => {
    held = 8;
    await assert.rejects(
      transport.fetchStatePage(server.peerId, 7, new Uint8Array()),
      (e: unknown) => isSnapshotGone(e) && e instanceof NetError,
    );
  });

  it("refuses pages out of key order, below the asked key, or whose next key goes back", async () => {
    const refused = (e: unknown) => e instanceof CodecError && e.code === "OUT_OF_RANGE";
    await assert.rejects(transport.fetchStatePage(rogue.peerId, 1, new Uint8Array()), refused);
    await assert.rejects(transport.fetchStatePage(rogue.peerId, 1, Uint8Array.of(10)), refused);
    await assert.rejects(transport.fetchStatePage(rogue.peerId, 1, Uint8Array.of(1)), refused);
    assert.ok(client.scores.score(rogue.peerId) < 0, "the rogue peer lost score");
  });
});
