import { bootstrap } from "@libp2p/bootstrap";
import { gossipsub, TopicValidatorResult } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Connection, PeerId, PrivateKey, Stream } from "@libp2p/interface";
import { kadDHT, removePublicAddressesMapper } from "@libp2p/kad-dht";
import { noise } from "@libp2p/noise";
import { peerIdFromString } from "@libp2p/peer-id";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { type LengthPrefixedStream, lpStream } from "@libp2p/utils";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p, type Libp2p } from "libp2p";
import { CodecError, encode, sha256, unpackValue } from "../spec/index.ts";
import {
  FRAME_BYTES_MAX,
  GOSSIP_BYTES_MAX,
  INBOUND_REQUESTS_MAX,
  PROTOCOL_PREFIX,
  PUSH_QUEUE_FRAMES_MAX,
  REQUEST_BYTES_MAX,
  REQUEST_TIMEOUT_MS,
  RESPONSE_BYTES_MAX,
} from "./constants.ts";
import { NetError } from "./errors.ts";
import { type Offence, PeerScoreBook } from "./peer-score.ts";
import { type Topic, topicName } from "./topics.ts";
import { classify, type ValidationMetrics } from "./validation.ts";

export interface NetMetrics extends ValidationMetrics {
  countDropped(queue: string): void;
  setPeers(count: number): void;
}

export interface NetLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export interface HostOptions {
  readonly privateKey: PrivateKey;
  readonly chainId: string;
  /** Multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/7000. */
  readonly listen: readonly string[];
  /** Addresses to announce instead of the listen addresses (for NAT or containers). */
  readonly announce?: readonly string[];
  /** Multiaddrs (with /p2p/<peer id>) dialled at start and kept connected. */
  readonly bootstrap: readonly string[];
  readonly metrics?: NetMetrics | null;
  readonly log?: NetLogger | null;
}

export type RequestHandler = (request: Uint8Array, peer: string) => Promise<Uint8Array>;
export type FrameHandler = (frame: Uint8Array, peer: string) => void;

/** Response status byte: the first byte of every response frame. */
enum ResponseStatus {
  Ok = 0,
  Error = 1,
}

/** The longest varint length prefix (a 64-bit length). */
const LENGTH_PREFIX_BYTES_MAX = 10;
/** A push stream waits this long before reconnecting after a failure; doubled per failure up to the max. */
const PUSH_RETRY_MIN_MS = 100;
const PUSH_RETRY_MAX_MS = 5_000;

/**
 * The libp2p host: tcp + noise + yamux, identify, ping, kad-dht, bootstrap and
 * gossipsub, plus the stream protocols hyperspace runs on top: request/
 * response and long-lived push streams with bounded frames and queues. Peers
 * that send invalid data lose score; past the threshold they are
 * disconnected and refused for a while.
 */
export class NetworkHost {
  readonly scores = new PeerScoreBook();
  /** Peers an operator refused by hand (admin RPC); refused like banned peers until allowed again. */
  private readonly denied = new Set<string>();
  private readonly pushers = new Map<string, PushSender>();
  private readonly inflight = new Map<string, number>();
  private readonly decodedGossip = new WeakMap<Uint8Array, unknown>();
  private readonly metrics: NetMetrics | null;
  private readonly log: NetLogger | null;

  private constructor(
    readonly libp2p: Libp2p<{ pubsub: ReturnType<ReturnType<typeof gossipsub>> } & Record<string, unknown>>,
    readonly chainId: string,
    options: HostOptions,
  ) {
    this.metrics = options.metrics ?? null;
    this.log = options.log ?? null;
  }

  static async create(options: HostOptions): Promise<NetworkHost> {
    let host: NetworkHost | null = null;
    const isBanned = (peer: PeerId) => host?.isRefused(peer.toString()) ?? false;
    const libp2p = await createLibp2p({
      privateKey: options.privateKey,
      addresses: { listen: [...options.listen], announce: options.announce ? [...options.announce] : [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: isBanned,
        denyInboundEncryptedConnection: isBanned,
        // Loopback and private addresses are how devnets and LAN validators talk: allow them.
        denyDialMultiaddr: () => false,
      },
      peerDiscovery: options.bootstrap.length > 0 ? [bootstrap({ list: [...options.bootstrap] })] : [],
      services: {
        identify: identify(),
        ping: ping(),
        dht: kadDHT({
          protocol: `${PROTOCOL_PREFIX}/${options.chainId}/kad/1.0.0`,
          clientMode: false,
          peerInfoMapper: removePublicAddressesMapper,
        }),
        pubsub: gossipsub({
          allowPublishToZeroTopicPeers: true,
          emitSelf: false,
          // Everything we gossip is signed by its author already (transactions, votes, offers):
          // a second libp2p signature per message and hop would only cost CPU. Messages are
          // identified by the hash of their content, so the same payload is deduplicated
          // whoever relays it.
          globalSignaturePolicy: "StrictNoSign",
          msgIdFn: (message) => sha256(message.data),
          maxInboundDataLength: GOSSIP_BYTES_MAX + 1024,
        }),
      },
    });
    host = new NetworkHost(libp2p as never, options.chainId, options);
    libp2p.addEventListener("connection:open", () => host?.metrics?.setPeers(libp2p.getPeers().length));
    libp2p.addEventListener("connection:close", () => host?.metrics?.setPeers(libp2p.getPeers().length));
    await host.dialBootstrap(options.bootstrap);
    return host;
  }

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map(String);
  }

  peers(): string[] {
    return this.libp2p.getPeers().map(String);
  }

  /** Dials the bootstrap peers now rather than waiting for discovery; failures are logged, not fatal. */
  private async dialBootstrap(list: readonly string[]): Promise<void> {
    await Promise.all(
      list.map(async (address) => {
        try {
          await this.libp2p.dial(multiaddr(address), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        } catch (error) {
          this.log?.debug("bootstrap dial failed", { address, error: String(error) });
        }
      }),
    );
  }

  async dial(address: string): Promise<void> {
    await this.libp2p.dial(multiaddr(address), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  }

  /** Adds known addresses for a peer (e.g. a validator from genesis) so streams can dial it. */
  async addPeerAddresses(peer: string, addresses: readonly string[]): Promise<void> {
    if (peer === this.peerId || addresses.length === 0) return;
    await this.libp2p.peerStore.merge(peerIdFromString(peer), {
      multiaddrs: addresses.map((a) => multiaddr(a)),
    });
  }

  isRefused(peer: string): boolean {
    return this.denied.has(peer) || this.scores.isBanned(peer);
  }

  /** Refuses a peer until `allowPeer`: hangs up and gates its connections. */
  async denyPeer(peer: string): Promise<void> {
    this.denied.add(peer);
    for (const sender of [...this.pushers.keys()].filter((k) => k.startsWith(`${peer} `))) {
      this.pushers.get(sender)?.stop();
      this.pushers.delete(sender);
    }
    await this.libp2p.hangUp(peerIdFromString(peer)).catch(() => {});
  }

  async allowPeer(peer: string): Promise<void> {
    this.denied.delete(peer);
    const known = await this.libp2p.peerStore.get(peerIdFromString(peer)).catch(() => null);
    if (known !== null && known.addresses.length > 0) {
      await this.libp2p
        .dial(peerIdFromString(peer), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
        .catch(() => {});
    }
  }

  /** Score and state of every peer we are connected to or have scored. */
  peerTable(): { peerId: string; connected: boolean; score: number; refused: boolean }[] {
    const connected = new Set(this.peers());
    const ids = new Set([...connected, ...this.scores.peers(), ...this.denied]);
    return [...ids].map((peerId) => ({
      peerId,
      connected: connected.has(peerId),
      score: this.scores.score(peerId),
      refused: this.isRefused(peerId),
    }));
  }

  /** Records an offence; past the threshold the peer is disconnected and refused for a while. */
  penalise(peer: string, offence: Offence): void {
    if (this.scores.penalise(peer, offence)) {
      this.log?.warn("peer banned", { peer, offence, score: this.scores.score(peer) });
      void this.libp2p.hangUp(peerIdFromString(peer)).catch(() => {});
    }
  }

  protocolId(protocol: string): string {
    return `${PROTOCOL_PREFIX}/${this.chainId}/${protocol}`;
  }

  // Gossip -------------------------------------------------------------------

  /**
   * Subscribes to a typed topic. Messages are decoded and passed to
   * `validate` (which throws ValidationError to IGNORE or REJECT) before
   * gossipsub forwards them; accepted messages then reach `handler`.
   */
  subscribe<T>(
    topic: Topic<T>,
    handler: (message: T, from: string) => void,
    validate?: (message: T, from: string) => void,
  ): void {
    const name = topicName(this.chainId, topic);
    const pubsub = this.libp2p.services.pubsub;
    pubsub.topicValidators.set(name, (peer, message) => {
      let error: unknown = null;
      try {
        if (message.data.byteLength > topic.maxBytes) {
          throw new NetError("OVERSIZE", `${topic.name}: ${message.data.byteLength} bytes`, {});
        }
        const decoded = topic.decode(message.data);
        validate?.(decoded, peer.toString());
        this.decodedGossip.set(message.data, decoded);
      } catch (caught) {
        error = caught;
      }
      const action = classify(`gossip:${topic.name}`, error, this.metrics);
      if (action === "REJECT") this.penalise(peer.toString(), "Malformed");
      return action === "ACCEPT"
        ? TopicValidatorResult.Accept
        : action === "IGNORE"
          ? TopicValidatorResult.Ignore
          : TopicValidatorResult.Reject;
    });
    pubsub.addEventListener("message", (event) => {
      const message = event.detail;
      if (message.topic !== name) return;
      const decoded = this.decodedGossip.get(message.data) ?? topic.decode(message.data);
      handler(decoded as T, event.detail.type === "signed" ? event.detail.from.toString() : "");
    });
    pubsub.subscribe(name);
  }

  async publish<T>(topic: Topic<T>, value: T): Promise<number> {
    const result = await this.libp2p.services.pubsub.publish(
      topicName(this.chainId, topic),
      topic.encode(value),
    );
    return result.recipients.length;
  }

  // Request / response --------------------------------------------------------

  /**
   * Serves one request per stream: read a frame of at most `maxRequestBytes`,
   * answer with a status byte and the handler's bytes. A handler's typed
   * error goes back as an error response; an oversize request costs the
   * sender score. At most INBOUND_REQUESTS_MAX requests run at once per
   * protocol; more are refused.
   */
  async handleRequests(
    protocol: string,
    handler: RequestHandler,
    maxRequestBytes = REQUEST_BYTES_MAX,
  ): Promise<void> {
    await this.libp2p.handle(
      this.protocolId(protocol),
      async (stream: Stream, connection: Connection) => {
        const peer = connection.remotePeer.toString();
        const running = this.inflight.get(protocol) ?? 0;
        if (running >= INBOUND_REQUESTS_MAX) {
          this.metrics?.countDropped(`request:${protocol}`);
          stream.abort(new NetError("PROTOCOL_ERROR", "too many concurrent requests", { protocol }));
          return;
        }
        this.inflight.set(protocol, running + 1);
        const lp = framedStream(stream, Math.max(maxRequestBytes, RESPONSE_BYTES_MAX));
        try {
          const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
          const request = plain((await lp.read({ signal })).subarray());
          if (request.byteLength > maxRequestBytes) {
            this.penalise(peer, "Oversize");
            throw new NetError("OVERSIZE", `request of ${request.byteLength} bytes`, { peer, protocol });
          }
          let response: Uint8Array;
          try {
            response = concat(ResponseStatus.Ok, await handler(request, peer));
          } catch (error) {
            response = concat(
              ResponseStatus.Error,
              new TextEncoder().encode(String((error as Error).message)),
            );
          }
          await lp.write(response, { signal });
          await stream.close({ signal });
        } catch (error) {
          if (isLengthError(error)) this.penalise(peer, "Oversize");
          stream.abort(error as Error);
        } finally {
          this.inflight.set(protocol, (this.inflight.get(protocol) ?? 1) - 1);
        }
      },
      { maxInboundStreams: INBOUND_REQUESTS_MAX, force: true },
    );
  }

  async request(
    peer: string,
    protocol: string,
    request: Uint8Array,
    options: { timeoutMs?: number; maxResponseBytes?: number } = {},
  ): Promise<Uint8Array> {
    const signal = AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS);
    let stream: Stream;
    try {
      stream = await this.libp2p.dialProtocol(peerIdFromString(peer), this.protocolId(protocol), { signal });
    } catch (error) {
      throw new NetError("PEER_UNREACHABLE", `${peer}: ${(error as Error).message}`, { peer, protocol });
    }
    const lp = framedStream(stream, options.maxResponseBytes ?? RESPONSE_BYTES_MAX);
    try {
      await lp.write(request, { signal });
      const response = plain((await lp.read({ signal })).subarray());
      await stream.close({ signal }).catch(() => {});
      if (response[0] === ResponseStatus.Ok) return response.subarray(1);
      throw new NetError("REMOTE_ERROR", new TextDecoder().decode(response.subarray(1)), { peer, protocol });
    } catch (error) {
      stream.abort(error as Error);
      if (error instanceof NetError) throw error;
      if (signal.aborted) throw new NetError("TIMEOUT", `${protocol} to ${peer}`, { peer, protocol });
      if (isLengthError(error)) {
        this.penalise(peer, "Oversize");
        throw new NetError("OVERSIZE", `response from ${peer} too large`, { peer, protocol });
      }
      throw new NetError("PROTOCOL_ERROR", `${peer}: ${(error as Error).message}`, { peer, protocol });
    }
  }

  /**
   * `request` with a msgpack array for a request and a strictly decoded
   * msgpack value (`type` names it in errors) for a reply of at most
   * `maxResponseBytes`. A reply that does not decode costs the peer score
   * and throws the CodecError.
   */
  async requestValue(
    peer: string,
    protocol: string,
    request: unknown[],
    type: string,
    maxResponseBytes = RESPONSE_BYTES_MAX,
  ): Promise<unknown> {
    const response = await this.request(peer, protocol, encode(request as never), { maxResponseBytes });
    try {
      return unpackValue(type, response, maxResponseBytes);
    } catch (error) {
      if (error instanceof CodecError) this.penalise(peer, "Malformed");
      throw error;
    }
  }

  // Push streams --------------------------------------------------------------

  /** Accepts long-lived inbound push streams; each frame goes to `handler`. Oversize frames cost score and end the stream. */
  async handlePush(protocol: string, handler: FrameHandler, maxFrameBytes = FRAME_BYTES_MAX): Promise<void> {
    await this.libp2p.handle(
      this.protocolId(protocol),
      async (stream: Stream, connection: Connection) => {
        const peer = connection.remotePeer.toString();
        const lp = framedStream(stream, maxFrameBytes);
        try {
          for (;;) {
            handler(plain((await lp.read()).subarray()), peer);
          }
        } catch (error) {
          if (isLengthError(error)) {
            this.penalise(peer, "Oversize");
            this.metrics?.countValidation(`push:${protocol}`, "REJECT", "OVERSIZE");
          }
          stream.abort(error as Error);
        }
      },
      { force: true, maxInboundStreams: 8 },
    );
  }

  /** Queues a frame for `peer` on its push stream. Returns false when the queue was full and the oldest frame was dropped. */
  push(peer: string, protocol: string, frame: Uint8Array): boolean {
    const key = `${peer} ${protocol}`;
    let sender = this.pushers.get(key);
    if (sender === undefined) {
      sender = new PushSender(this, peer, this.protocolId(protocol), () =>
        this.metrics?.countDropped(`push:${protocol}`),
      );
      this.pushers.set(key, sender);
    }
    return sender.enqueue(frame);
  }

  async stop(): Promise<void> {
    for (const sender of this.pushers.values()) sender.stop();
    this.pushers.clear();
    await this.libp2p.stop();
  }
}

/**
 * Length-prefixed frames of at most `maxFrameBytes` on a stream. The read
 * buffer must hold a whole frame and its prefix: left at its default (4 MiB)
 * it would refuse any frame past that, below the 8 MiB block frame and the
 * 16 MiB response this layer allows.
 */
export function framedStream(stream: Stream, maxFrameBytes: number): LengthPrefixedStream<Stream> {
  return lpStream(stream, {
    maxDataLength: maxFrameBytes,
    maxBufferSize: maxFrameBytes + LENGTH_PREFIX_BYTES_MAX,
  });
}

/** Streams hand out Buffers; everything above net/ works with plain Uint8Arrays. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function concat(status: ResponseStatus, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.byteLength + 1);
  out[0] = status;
  out.set(body, 1);
  return out;
}

function isLengthError(error: unknown): boolean {
  const name = (error as { name?: string })?.name ?? "";
  return (
    name === "InvalidDataLengthError" ||
    name === "InvalidMessageLengthError" ||
    name === "InvalidDataLengthLengthError"
  );
}

/**
 * One outbound push stream to one peer: a bounded FIFO drained by a single
 * writer. When the queue is full the oldest frame is dropped (and counted).
 * A broken stream is reopened with exponential backoff.
 */
class PushSender {
  private readonly queue: Uint8Array[] = [];
  private stream: LengthPrefixedStream<Stream> | null = null;
  private running = false;
  private stopped = false;
  private retryMs = PUSH_RETRY_MIN_MS;

  constructor(
    private readonly host: NetworkHost,
    private readonly peer: string,
    private readonly protocolId: string,
    private readonly onDrop: () => void,
  ) {}

  enqueue(frame: Uint8Array): boolean {
    let kept = true;
    if (this.queue.length >= PUSH_QUEUE_FRAMES_MAX) {
      this.queue.shift();
      this.onDrop();
      kept = false;
    }
    this.queue.push(frame);
    if (!this.running) void this.drain();
    return kept;
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (!this.stopped && this.queue.length > 0) {
      try {
        if (this.stream === null) {
          const raw = await this.host.libp2p.dialProtocol(peerIdFromString(this.peer), this.protocolId, {
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          this.stream = framedStream(raw, FRAME_BYTES_MAX);
        }
        const frame = this.queue[0];
        if (frame === undefined) break;
        // A peer that stops reading stalls the write; the watchdog aborts the stream and the loop reopens it.
        // (A timer per write costs far less than an AbortSignal per write, which every stream layer listens on.)
        const stream = this.stream;
        const watchdog = setTimeout(
          () => stream.unwrap().abort(new Error("push write timed out")),
          REQUEST_TIMEOUT_MS,
        );
        try {
          await stream.write(frame);
        } finally {
          clearTimeout(watchdog);
        }
        this.queue.shift();
        this.retryMs = PUSH_RETRY_MIN_MS;
      } catch {
        this.stream?.unwrap().abort(new Error("push stream failed"));
        this.stream = null;
        await new Promise((resolve) => setTimeout(resolve, this.retryMs));
        this.retryMs = Math.min(this.retryMs * 2, PUSH_RETRY_MAX_MS);
      }
    }
    this.running = false;
  }

  stop(): void {
    this.stopped = true;
    this.stream?.unwrap().abort(new Error("host stopping"));
    this.stream = null;
  }
}
