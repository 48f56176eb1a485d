import {
  ChannelError,
  type ChannelRecord,
  type ChannelStore,
  PayeeChannel,
  type PayeePolicy,
  payeeInitFromChain,
} from "../channels/index.ts";
import { toHex } from "../spec/index.ts";
import { MarketError } from "./errors.ts";

/**
 * The provider's channels: the payee record of each channel a client pays
 * it through, created from the chain's record on first use and refreshed
 * from it at every request (a top-up raises the deposit; a pending close
 * stops service). One request uses a channel at a time.
 */

/** The chain's record of a channel, or null when it is not open (the node reads its ledger). */
export type ChannelLookup = (channelId: Uint8Array) => ChannelRecord | null;

export interface PayeeChannelsOptions {
  readonly chainId: string;
  /** This provider's account address: the payee every served channel must name. */
  readonly self: Uint8Array;
  readonly store: ChannelStore;
  readonly lookup: ChannelLookup;
  readonly policy?: PayeePolicy;
}

export class PayeeChannels {
  private readonly inUse = new Set<string>();

  constructor(private readonly options: PayeeChannelsOptions) {}

  /**
   * Takes the channel for one request: refreshed from chain, and exclusive
   * until `release`. Throws ChannelError UNACCEPTABLE_CHANNEL for a channel
   * we do not serve on, MarketError BUSY when another request holds it.
   */
  async acquire(channelId: Uint8Array, payerPeer: string): Promise<PayeeChannel> {
    const id = toHex(channelId);
    if (this.inUse.has(id)) throw new MarketError("BUSY", `channel ${id} serves another request`, {});
    this.inUse.add(id);
    try {
      const { chainId, self, store, lookup, policy } = this.options;
      const record = lookup(channelId);
      const init = payeeInitFromChain(chainId, channelId, record, self, policy);
      let channel = await PayeeChannel.load(store, channelId);
      if (channel === null) {
        channel = await PayeeChannel.create(store, { ...init, payerPeer });
      } else if (channel.record.deposit !== init.deposit) {
        await channel.setDeposit(init.deposit);
      }
      if (channel.record.payerPeer !== payerPeer) await channel.setPayerPeer(payerPeer);
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

export function isChannelError(error: unknown): error is ChannelError {
  return error instanceof ChannelError;
}
