import {
  CHANNEL_MESSAGE_BYTES_MAX,
  type ChannelMessageHandler,
  type ChannelTransport,
} from "../channels/index.ts";
import { Protocol } from "./constants.ts";
import type { NetworkHost } from "./host.ts";

/**
 * The payment-channel protocol over libp2p: each peer pair shares one
 * long-lived push stream per direction. Delivery is best effort, which is all
 * the protocol needs (cumulative vouchers and resends make loss and reordering
 * harmless); frames larger than a channel message are refused and cost the
 * sender score.
 */
export class LibP2PChannelTransport implements ChannelTransport {
  private handler: ChannelMessageHandler | null = null;

  constructor(private readonly host: NetworkHost) {}

  async start(): Promise<void> {
    await this.host.handlePush(
      Protocol.Channel,
      (frame, peer) => {
        void this.handler?.(peer, frame);
      },
      CHANNEL_MESSAGE_BYTES_MAX,
    );
  }

  send(peer: string, bytes: Uint8Array): void {
    this.host.push(peer, Protocol.Channel, bytes);
  }

  onMessage(handler: ChannelMessageHandler): () => void {
    this.handler = handler;
    return () => {
      if (this.handler === handler) this.handler = null;
    };
  }
}
