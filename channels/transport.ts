/**
 * The transport the channel protocol runs over: best-effort, unordered
 * delivery of small messages to a named peer. The protocol needs nothing
 * more (cumulative vouchers and resends make loss, duplication and
 * reordering harmless), so a libp2p push stream, a request/response
 * exchange or an in-memory link all fit.
 *
 * `send` may drop the message (a full queue, a broken connection); it must
 * not throw for that. `onMessage` registers the one handler of inbound
 * messages and returns a function that removes it; the handler's promise,
 * if any, tells the transport when the message has been processed (for
 * back-pressure), and it never rejects.
 */
export type ChannelMessageHandler = (peer: string, bytes: Uint8Array) => void | Promise<void>;

export interface ChannelTransport {
  send(peer: string, bytes: Uint8Array): void | Promise<void>;
  onMessage(handler: ChannelMessageHandler): () => void;
}

/** The libp2p protocol id for the channel protocol's push stream. */
export const CHANNEL_PROTOCOL_ID = "/hyperspace/channel/1.0.0";
