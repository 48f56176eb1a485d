import {
  type ChannelChain,
  ChannelClient,
  ChannelEndpoint,
  ChannelEventName,
  type ChannelMessage,
  type ChannelRecord,
  ChannelStore,
  ChannelWatcher,
  channelEventsOf,
  decodeChannelRecord,
  messageChannelId,
  PayeeSession,
  readChannelRecord,
  type SubmitOutcome,
} from "../channels/index.ts";
import { Bucket, type Ledger, type Receipt, type Store } from "../ledger/index.ts";
import { LibP2PChannelTransport, type NetworkHost } from "../net/index.ts";
import { bytesEqual, toHex, type Voucher } from "../spec/index.ts";
import type { Logger } from "./logger.ts";
import type { NodeWallet } from "./wallet.ts";

export interface ChannelServiceArgs {
  readonly ledger: Ledger;
  readonly store: Store;
  readonly host: NetworkHost;
  readonly wallet: NodeWallet;
  /** The shortest challenge period (commits) this node accepts channels with as payee. */
  readonly challengePeriodMin: number;
  readonly log: Logger;
}

/**
 * The node's side of payment channels. The node's wallet key is the payee of
 * channels opened to it: when a payer first writes about a channel, the node
 * checks the channel on chain, accepts it and keeps the best voucher (on the
 * node's RocksDB). After every executed commit it feeds the channel events
 * to the watcher and answers a payer's unilateral close with a challenge
 * carrying the newest voucher, then settles once the period ends.
 */
export class ChannelService {
  readonly client: ChannelClient;
  readonly endpoint: ChannelEndpoint;
  private readonly transport: LibP2PChannelTransport;
  private readonly watcher = new ChannelWatcher();
  private actions: Promise<void> = Promise.resolve();
  private readonly accepting = new Map<string, Promise<PayeeSession | null>>();
  /** Channels with a challenge or settle submitted and not yet executed. */
  private readonly inflight = new Set<string>();

  constructor(private readonly args: ChannelServiceArgs) {
    this.transport = new LibP2PChannelTransport(args.host);
    this.endpoint = new ChannelEndpoint(this.transport, {
      onUnknownChannel: (peer, message) => this.acceptFromPayer(peer, message),
      onDrop: (reason, peer, error) =>
        args.log.debug("channel message dropped", { reason, peer, error: String(error ?? "") }),
    });
    this.client = new ChannelClient({
      keys: args.wallet.keys,
      chain: this.chain(),
      store: new ChannelStore(args.store),
      endpoint: this.endpoint,
    });
  }

  get address(): Uint8Array {
    return this.client.address;
  }

  async start(): Promise<void> {
    await this.transport.start();
    this.endpoint.startTimer();
    // After a restart: watch every open channel that pays this node, with the voucher kept for it.
    for (const { channelId, record } of this.channelsOf(this.address)) {
      if (!bytesEqual(record.payee, this.address)) continue;
      const channel = await this.client.payeeChannel(channelId);
      this.watcher.watch(
        channelId,
        channel?.bestVoucher ?? null,
        record.closing === null
          ? null
          : { amount: record.closing.amount, deadlineCommit: record.closing.deadlineCommit },
      );
    }
  }

  /** The channel's on-chain record, or null. */
  getChannel(channelId: Uint8Array): ChannelRecord | null {
    return readChannelRecord(this.args.ledger, channelId);
  }

  /** Open channels whose payer or payee is `address`. */
  channelsOf(address: Uint8Array): { channelId: Uint8Array; record: ChannelRecord }[] {
    return this.args.ledger.scanModuleValues(Bucket.channelsState).flatMap(({ key, value }) => {
      const record = decodeChannelRecord(value);
      if (!bytesEqual(record.payer, address) && !bytesEqual(record.payee, address)) return [];
      return [{ channelId: key.subarray(key.byteLength - 32), record }];
    });
  }

  /** Starts watching a channel this node serves as payee (the market's provider calls it). */
  watch(channelId: Uint8Array): void {
    if (!this.watcher.isWatching(channelId)) this.watcher.watch(channelId);
  }

  /** The best voucher this node holds as payee of a channel. */
  async bestVoucher(channelId: Uint8Array): Promise<Voucher | null> {
    return (await this.client.payeeChannel(channelId))?.bestVoucher ?? null;
  }

  send(peer: string, bytes: Uint8Array): void {
    this.transport.send(peer, bytes);
  }

  /** Called after each executed commit, in order. */
  onCommit(index: number, receipts: readonly Receipt[]): void {
    const events = channelEventsOf(receipts);
    // With no events the watcher still has to see the commit when a close is pending (deadlines pass).
    if (events.length === 0 && this.watcher.size === 0) return;
    this.actions = this.actions.then(async () => {
      for (const event of events) {
        if (event.name === ChannelEventName.CloseStarted && this.watcher.isWatching(event.channelId)) {
          const best = await this.bestVoucher(event.channelId);
          if (best !== null) this.watcher.updateVoucher(event.channelId, best);
        }
      }
      for (const action of this.watcher.onCommit(index, events)) {
        try {
          await this.act(action);
        } catch (error) {
          this.args.log.warn("channel action failed", {
            type: action.type,
            channel: toHex(action.channelId),
            error: String(error),
          });
        }
      }
    });
  }

  /**
   * Carries out one watcher action. A challenge or settle is submitted in the
   * background and tracked until it executes; while it is in flight the
   * watcher's retries for that channel are skipped, so a lagging node does
   * not send the same transaction twice.
   */
  private async act(action: ReturnType<ChannelWatcher["onCommit"]>[number]): Promise<void> {
    const key = toHex(action.channelId);
    switch (action.type) {
      case "challenge":
      case "settle": {
        if (this.inflight.has(key)) return;
        this.inflight.add(key);
        const submit =
          action.type === "challenge"
            ? this.client.challenge(action.channelId)
            : this.client.settle(action.channelId);
        void submit
          .then((outcome) =>
            this.args.log.info(`channel ${action.type}`, { channel: key, success: outcome.success }),
          )
          .catch((error) =>
            this.args.log.warn(`channel ${action.type} failed`, { channel: key, error: String(error) }),
          )
          .finally(() => this.inflight.delete(key));
        break;
      }
      case "stop-serving":
        break;
      case "deposit":
        await (await this.client.payeeChannel(action.channelId))?.setDeposit(action.deposit);
        break;
      case "settled":
        this.watcher.unwatch(action.channelId);
        this.endpoint.remove(action.channelId);
        break;
    }
  }

  /**
   * A payer's first message about a channel: accept the channel if it pays
   * this node, start serving it, then handle the message. Messages that race
   * in while the channel is being accepted wait for the same acceptance.
   */
  private async acceptFromPayer(peer: string, message: ChannelMessage): Promise<void> {
    const channelId = messageChannelId(message);
    const key = toHex(channelId);
    let pending = this.accepting.get(key);
    if (pending === undefined) {
      pending = this.accept(channelId, peer).finally(() => this.accepting.delete(key));
      this.accepting.set(key, pending);
    }
    const session = await pending;
    if (session !== null && session.peer === peer) await session.handle(message);
  }

  private async accept(channelId: Uint8Array, peer: string): Promise<PayeeSession | null> {
    const existing = this.endpoint.get(channelId);
    if (existing instanceof PayeeSession) return existing;
    const record = this.getChannel(channelId);
    if (record === null || !bytesEqual(record.payee, this.address)) return null;
    await this.client.acceptChannel(channelId, {
      payerPeer: peer,
      policy: { challengePeriodMin: this.args.challengePeriodMin },
    });
    const session = await this.client.serve(channelId, { peer, unit: "payment", pricePerUnit: 1n });
    if (!this.watcher.isWatching(channelId)) this.watcher.watch(channelId);
    return session;
  }

  private chain(): ChannelChain {
    const { ledger } = this.args;
    return {
      chainId: async () => ledger.chainId,
      // The wallet hands out nonces, so channel and market transactions of this account never collide.
      nonce: async () => this.args.wallet.reserveNonce(),
      getChannel: async (channelId) => this.getChannel(channelId),
      commitIndex: async () => ledger.lastAppliedIndex,
      submit: async (tx): Promise<SubmitOutcome> => {
        const receipt = await this.args.wallet.submit(tx);
        return {
          txHash: toHex(receipt.txHash),
          success: receipt.success,
          commitIndex: receipt.commitIndex,
          error: receipt.success ? null : `${receipt.errorCode}: ${receipt.errorMessage}`,
        };
      },
    };
  }

  async stop(): Promise<void> {
    this.endpoint.close();
    await this.actions.catch(() => {});
  }
}
