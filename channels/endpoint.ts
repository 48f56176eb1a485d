import { CodecError, HyperspaceError, toHex } from "../spec/index.ts";
import { RESEND_INTERVAL_MS, SESSIONS_MAX } from "./constants.ts";
import { ChannelError } from "./errors.ts";
import { type ChannelMessage, decodeChannelMessage, messageChannelId } from "./messages.ts";
import type { PayeeSession } from "./payee-session.ts";
import type { PayerSession } from "./payer-session.ts";
import type { ChannelTransport } from "./transport.ts";

/**
 * One node's channel protocol endpoint: it owns the transport's inbound
 * handler and routes each message to the session of its channel. A message
 * that does not decode, names no session, or comes from a peer other than
 * the session's is dropped and counted; a message for a channel with no
 * session goes to `onUnknownChannel` (a payee node uses it to open a
 * session when a payer first writes).
 */

export type ChannelSession = PayerSession | PayeeSession;

export type DropReason = "MALFORMED" | "UNKNOWN_CHANNEL" | "WRONG_PEER" | "REFUSED";

export interface ChannelEndpointOptions {
  /** A message for a channel with no session (after decoding). */
  readonly onUnknownChannel?: (peer: string, message: ChannelMessage) => void | Promise<void>;
  /** Called for every dropped message (metrics, logs). */
  readonly onDrop?: (reason: DropReason, peer: string, error?: unknown) => void;
}

export class ChannelEndpoint {
  private readonly sessions = new Map<string, ChannelSession>();
  private readonly unsubscribe: () => void;
  private timer: ReturnType<typeof setInterval> | null = null;
  readonly dropped: Record<DropReason, number> = {
    MALFORMED: 0,
    UNKNOWN_CHANNEL: 0,
    WRONG_PEER: 0,
    REFUSED: 0,
  };

  constructor(
    readonly transport: ChannelTransport,
    private readonly options: ChannelEndpointOptions = {},
  ) {
    this.unsubscribe = transport.onMessage((peer, bytes) => this.receive(peer, bytes));
  }

  /** Adds a session; TOO_MANY_SESSIONS beyond SESSIONS_MAX, CHANNEL_EXISTS when its channel has one. */
  add(session: ChannelSession): void {
    const id = toHex(session.channelId);
    if (this.sessions.has(id))
      throw new ChannelError("CHANNEL_EXISTS", `a session runs on channel ${id}`, {});
    if (this.sessions.size >= SESSIONS_MAX) {
      throw new ChannelError("TOO_MANY_SESSIONS", `${SESSIONS_MAX} sessions already run`, {});
    }
    this.sessions.set(id, session);
  }

  remove(channelId: Uint8Array): void {
    this.sessions.delete(toHex(channelId));
  }

  get(channelId: Uint8Array): ChannelSession | undefined {
    return this.sessions.get(toHex(channelId));
  }

  get size(): number {
    return this.sessions.size;
  }

  private drop(reason: DropReason, peer: string, error?: unknown): void {
    this.dropped[reason]++;
    this.options.onDrop?.(reason, peer, error);
  }

  /** The transport's inbound handler: expected failures are dropped and counted; only a bug rejects. */
  async receive(peer: string, bytes: Uint8Array): Promise<void> {
    let message: ChannelMessage;
    try {
      message = decodeChannelMessage(bytes);
    } catch (error) {
      if (error instanceof CodecError) return this.drop("MALFORMED", peer, error);
      throw error;
    }
    const session = this.sessions.get(toHex(messageChannelId(message)));
    try {
      if (session === undefined) {
        if (this.options.onUnknownChannel === undefined) return this.drop("UNKNOWN_CHANNEL", peer);
        await this.options.onUnknownChannel(peer, message);
        return;
      }
      if (session.peer !== peer) return this.drop("WRONG_PEER", peer);
      await session.handle(message);
    } catch (error) {
      if (error instanceof HyperspaceError) return this.drop("REFUSED", peer, error);
      throw error;
    }
  }

  /** Lets every session resend what may have been lost. */
  tick(): void {
    for (const session of this.sessions.values()) session.tick();
  }

  /** Calls `tick` every `intervalMs` on a timer that does not keep the process alive. */
  startTimer(intervalMs = RESEND_INTERVAL_MS): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe();
    this.sessions.clear();
  }
}
