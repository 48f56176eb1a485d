import { assert } from "../spec/index.ts";
import { STREAM_QUEUE_FRAMES_MAX } from "./constants.ts";
import { MarketError } from "./errors.ts";

/**
 * The transport seam of metered inference. The node implements it over
 * net/ (one libp2p stream per request, length-prefixed frames, protocol
 * INFERENCE_PROTOCOL); tests and the bench use the in-memory pipe below.
 *
 * A FrameStream is one end of a reliable, ordered, bidirectional stream of
 * frames. `send` queues a frame (it never blocks; a stream whose queue
 * passes STREAM_QUEUE_FRAMES_MAX is broken off, the peer being too slow);
 * `frames` yields what the other end sent and ends when it closes, or
 * throws when the stream breaks; `close` ends our side; `abort` breaks the
 * stream for both ends.
 */
export interface FrameStream {
  send(frame: Uint8Array): void;
  readonly frames: AsyncIterable<Uint8Array>;
  close(): void;
  abort(reason: string): void;
}

/** The client's side: open a stream to a provider's peer id. */
export interface InferenceTransport {
  open(peerId: string, signal?: AbortSignal): Promise<FrameStream>;
}

/** The protocol name under the node's protocol prefix (net's `protocolId`). */
export const INFERENCE_PROTOCOL = "market/infer/1";

/** One direction of a pipe: a bounded FIFO with one reader. */
class FrameQueue {
  private readonly frames: Uint8Array[] = [];
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  push(frame: Uint8Array): boolean {
    if (this.ended || this.failure !== null) return true;
    if (this.frames.length >= STREAM_QUEUE_FRAMES_MAX) return false;
    this.frames.push(frame);
    this.notify();
    return true;
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *read(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.failure !== null) throw this.failure;
      const frame = this.frames.shift();
      if (frame !== undefined) {
        yield frame;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

/**
 * Two connected in-memory stream ends. Frames are copied on send, as a
 * socket would, so neither side can alter what the other holds.
 */
export function createFramePipe(): [FrameStream, FrameStream] {
  const toB = new FrameQueue();
  const toA = new FrameQueue();
  const broken = (reason: string) => new MarketError("STREAM_FAILED", `stream aborted: ${reason}`, {});
  const end = (inbound: FrameQueue, outbound: FrameQueue): FrameStream => {
    let consumed = false;
    return {
      send(frame) {
        if (!outbound.push(new Uint8Array(frame))) {
          const error = broken("queue full");
          outbound.fail(error);
          inbound.fail(error);
        }
      },
      get frames() {
        assert(!consumed, "a stream's frames are read once");
        consumed = true;
        return inbound.read();
      },
      close() {
        outbound.end();
      },
      abort(reason) {
        const error = broken(reason);
        outbound.fail(error);
        inbound.fail(error);
      },
    };
  };
  return [end(toA, toB), end(toB, toA)];
}

/** A provider's stream handler: the node calls it for each inbound inference stream with the remote peer id. */
export type InferenceStreamHandler = (peerId: string, stream: FrameStream) => Promise<void>;

/**
 * An in-process transport: each peer id maps to a provider's handler, and
 * `open` runs the handler on the far end of a new pipe, as the client's
 * peer id. `kill(peerId)` breaks every open stream to that peer, as a
 * crashed provider would; later opens fail until `revive`.
 */
export class LoopbackTransport implements InferenceTransport {
  private readonly handlers = new Map<string, InferenceStreamHandler>();
  private readonly open_ = new Map<string, Set<FrameStream>>();
  private readonly dead = new Set<string>();

  constructor(readonly clientPeerId: string) {}

  register(peerId: string, handler: InferenceStreamHandler): void {
    this.handlers.set(peerId, handler);
  }

  async open(peerId: string): Promise<FrameStream> {
    const handler = this.handlers.get(peerId);
    if (handler === undefined || this.dead.has(peerId)) {
      throw new MarketError("STREAM_FAILED", `peer ${peerId} unreachable`, { peerId });
    }
    const [client, provider] = createFramePipe();
    let streams = this.open_.get(peerId);
    if (streams === undefined) {
      streams = new Set();
      this.open_.set(peerId, streams);
    }
    streams.add(client);
    void handler(this.clientPeerId, provider)
      .catch(() => provider.abort("handler failed"))
      .finally(() => streams.delete(client));
    return client;
  }

  kill(peerId: string): void {
    this.dead.add(peerId);
    for (const stream of this.open_.get(peerId) ?? []) stream.abort("peer died");
  }

  revive(peerId: string): void {
    this.dead.delete(peerId);
  }
}
