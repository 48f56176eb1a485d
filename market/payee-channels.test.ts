import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChannelError, type ChannelRecord, type PayeeChannel } from "../channels/index.ts";
import { CHANNEL_VISIBLE_POLL_MS, CHANNEL_VISIBLE_WAIT_MS } from "./constants.ts";
import { PayeeChannels } from "./payee-channels.ts";
import { ACTORS, CHAIN_ID } from "./test-fixtures.ts";

const payer = ACTORS[0]!;
const provider = ACTORS[1]!;
const channelId = new Uint8Array(32).fill(7);
const record: ChannelRecord = {
  payer: payer.address,
  payerPublicKey: payer.keys.publicKey,
  payee: provider.address,
  deposit: 500n,
  challengePeriod: 600,
  openedAtCommit: 3,
  closing: null,
};

/** PayeeChannels over a chain that shows the channel after `visibleAfter` looks, counting the time it waited. */
function setup(visibleAfter: number) {
  let looks = 0;
  let waitedMs = 0;
  const accepted: PayeeChannel = {
    record: { deposit: record.deposit, payerPeer: payer.peerId },
  } as unknown as PayeeChannel;
  const channels = new PayeeChannels({
    chainId: CHAIN_ID,
    self: provider.address,
    source: { accept: async () => accepted },
    lookup: () => (looks++ >= visibleAfter ? record : null),
    sleep: async (ms) => {
      waitedMs += ms;
    },
  });
  return { channels, accepted, waited: () => waitedMs, looks: () => looks };
}

describe("PayeeChannels", () => {
  it("waits for a channel this node does not see open yet, then serves on it", async () => {
    const { channels, accepted, waited } = setup(3);
    assert.equal(await channels.acquire(channelId, payer.peerId), accepted);
    assert.equal(waited(), 3 * CHANNEL_VISIBLE_POLL_MS);
    assert.equal(channels.busy, 1);
  });

  it("refuses a channel still not open after CHANNEL_VISIBLE_WAIT_MS, and frees it", async () => {
    const { channels, waited, looks } = setup(Number.POSITIVE_INFINITY);
    await assert.rejects(
      channels.acquire(channelId, payer.peerId),
      (e: unknown) => e instanceof ChannelError && e.code === "UNACCEPTABLE_CHANNEL",
    );
    assert.equal(waited(), CHANNEL_VISIBLE_WAIT_MS);
    assert.equal(looks(), CHANNEL_VISIBLE_WAIT_MS / CHANNEL_VISIBLE_POLL_MS + 1);
    assert.equal(channels.busy, 0);
  });

  it("takes a visible channel at once, and one request at a time", async () => {
    const { channels, waited } = setup(0);
    await channels.acquire(channelId, payer.peerId);
    assert.equal(waited(), 0);
    await assert.rejects(channels.acquire(channelId, payer.peerId), /serves another request/);
    channels.release(channelId);
    await channels.acquire(channelId, payer.peerId);
  });
});
