import {
  type ChannelClient,
  type ChannelRecord,
  type PayeeChannel,
  type PayeePolicy,
  payeeInitFromChain,
} from "../channels/index.ts";
import { toHex } from "../spec/index.ts";
import { CHANNEL_VISIBLE_POLL_MS, CHANNEL_VISIBLE_WAIT_MS } from "./constants.ts";
import { MarketError } from "./errors.ts";

/**
 * The provider's channels: the payee record of each channel a client pays
 * it through, taken from the channels SDK (so the node's watcher and this
 * provider hold one PayeeChannel object per channel, with the newest
 * voucher), checked against the chain's record at every request (it must
 * pay this node and have no close pending; a top-up raises the deposit).
 * One request uses a channel at a time.
 */

/** The chain's record of a channel, or null when it is not open (the node reads its ledger). */
export type ChannelLookup = (channelId: Uint8Array) => ChannelRecord | null;

/** Where the payee records come from: the node's ChannelClient (`sdkPayeeSource`). */
export interface PayeeChannelSource {
  /** The payee record of a channel that pays this node, started on first use. */
  accept(channelId: Uint8Array, payerPeer: string, policy: PayeePolicy | undefined): Promise<PayeeChannel>;
}

export function sdkPayeeSource(client: ChannelClient): PayeeChannelSource {
  return {
    accept: (channelId, payerPeer, policy) =>
      client.acceptChannel(channelId, { payerPeer, ...(policy ? { policy } : {}) }),
  };
}

export interface PayeeChannelsOptions {
  readonly chainId: string;
  /** This provider's account address: the payee every served channel must name. */
  readonly self: Uint8Array;
  readonly source: PayeeChannelSource;
  readonly lookup: ChannelLookup;
  readonly policy?: PayeePolicy;
  /** Called once per channel this provider starts serving on (the node watches it for stale closes). */
  readonly onAccept?: (channelId: Uint8Array) => void;
  /** Waits `ms` (injected in tests; a timer by default). */
  readonly sleep?: (ms: number) => Promise<void>;
}

const timerSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PayeeChannels {
  private readonly inUse = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(private readonly options: PayeeChannelsOptions) {}

  /**
   * Takes the channel for one request: checked against the chain, and
   * exclusive until `release`. A channel this node does not see open yet
   * (the client saw its open committed a moment before this node applied
   * that commit) is waited for, up to CHANNEL_VISIBLE_WAIT_MS. Throws
   * ChannelError UNACCEPTABLE_CHANNEL for a channel we do not serve on,
   * MarketError BUSY when another request holds it.
   */
  async acquire(channelId: Uint8Array, payerPeer: string): Promise<PayeeChannel> {
    const id = toHex(channelId);
    if (this.inUse.has(id)) throw new MarketError("BUSY", `channel ${id} serves another request`, {});
    this.inUse.add(id);
    try {
      const { chainId, self, source, lookup, policy } = this.options;
      const sleep = this.options.sleep ?? timerSleep;
      let record = lookup(channelId);
      for (let waitedMs = 0; record === null && waitedMs < CHANNEL_VISIBLE_WAIT_MS; ) {
        await sleep(CHANNEL_VISIBLE_POLL_MS);
        waitedMs += CHANNEL_VISIBLE_POLL_MS;
        record = lookup(channelId);
      }
      const init = payeeInitFromChain(chainId, channelId, record, self, policy);
      const channel = await source.accept(channelId, payerPeer, policy);
      if (channel.record.deposit !== init.deposit) await channel.setDeposit(init.deposit);
      if (channel.record.payerPeer !== payerPeer) await channel.setPayerPeer(payerPeer);
      if (!this.seen.has(id)) {
        this.seen.add(id);
        this.options.onAccept?.(channelId);
      }
      return channel;
    } catch (error) {
      this.inUse.delete(id);
      throw error;
    }
  }

  release(channelId: Uint8Array): void {
    this.inUse.delete(toHex(channelId));
  }

  get busy(): number {
    return this.inUse.size;
  }
}
