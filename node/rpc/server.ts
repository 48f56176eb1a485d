import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { LRUCache } from "lru-cache";
import { type WebSocket, WebSocketServer } from "ws";
import { HyperspaceError } from "../../spec/index.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics.ts";
import { toJson } from "../output.ts";

/**
 * JSON-RPC 2.0 over HTTP POST, with subscriptions over WebSocket on the same
 * port. Bounded: request bodies, batch sizes, per-client request rates and
 * subscriptions per socket. Methods marked `auth` (anything that spends or
 * signs with the node's keys) need `Authorization: Bearer <token>`; the rest
 * is read-only and safe to expose.
 */

/** 256 KiB fits a batch of the largest transactions; bigger bodies are refused with 413. */
export const RPC_BODY_BYTES_MAX = 256 * 1024;
/** A batch larger than this is refused: batches must not become a way around the rate limit. */
export const RPC_BATCH_MAX = 100;
/** Default per-client budget: 1,000 requests per second with a burst of 2,000 (the load generator needs it on loopback). */
export const RPC_RATE_PER_SECOND = 1_000;
export const RPC_RATE_BURST = 2_000;
/** Clients whose buckets are tracked; the oldest is evicted past this. */
const RATE_CLIENTS_MAX = 10_000;
/** Subscriptions one WebSocket may hold. */
export const WS_SUBSCRIPTIONS_MAX = 16;
/** A WebSocket whose unsent buffer grows past this is too slow: it is closed rather than buffering without bound. */
export const WS_BUFFERED_BYTES_MAX = 8 * 1024 * 1024;

export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  Unauthorized: -32001,
  RateLimited: -32005,
  Rejected: -32010,
} as const;

/** A method's expected failure: becomes a JSON-RPC error with this code and data. */
export class RpcError extends HyperspaceError<string, { rpcCode: number; data?: unknown }> {
  constructor(rpcCode: number, message: string, data?: unknown) {
    super(String(rpcCode), message, { rpcCode, data });
    this.message = message;
  }
}

export interface RpcMethod {
  readonly auth?: boolean;
  handler(params: unknown[]): unknown | Promise<unknown>;
}

export interface RpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly methods: Readonly<Record<string, RpcMethod>>;
  readonly authToken: string;
  /** Topics clients may subscribe to with hs_subscribe. */
  readonly topics: readonly string[];
  /** Extra HTTP routes (e.g. /metrics); return true if handled. */
  readonly routes?: (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;
  readonly ratePerSecond?: number;
  readonly rateBurst?: number;
  readonly metrics?: Metrics | null;
  readonly log?: Logger | null;
}

/** Requests of one method and outcome in a batch, for the requests counter. */
interface RequestCount {
  readonly method: string;
  readonly outcome: "ok" | "error";
  count: number;
}

interface JsonRpcRequest {
  jsonrpc: "2.0";
  id?: string | number | null;
  method: string;
  params?: unknown;
}

class TokenBuckets {
  /** The least recently seen client is forgotten first. */
  private readonly buckets = new LRUCache<string, { tokens: number; atMs: number }>({
    max: RATE_CLIENTS_MAX,
  });

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {}

  take(client: string, count: number, nowMs = Date.now()): boolean {
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, atMs: nowMs };
      this.buckets.set(client, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.atMs) / 1000) * this.ratePerSecond);
    bucket.atMs = nowMs;
    if (bucket.tokens < count) return false;
    bucket.tokens -= count;
    return true;
  }
}

export class RpcServer {
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly rate: TokenBuckets;
  private readonly subscriptions = new Map<string, Set<{ socket: WebSocket; id: string }>>();
  /** Each WebSocket's TCP connection, to cork while a batch of notifications goes out. */
  private readonly connections = new WeakMap<WebSocket, Socket>();
  private nextSubscription = 1;

  constructor(private readonly options: RpcServerOptions) {
    this.rate = new TokenBuckets(
      options.ratePerSecond ?? RPC_RATE_PER_SECOND,
      options.rateBurst ?? RPC_RATE_BURST,
    );
    this.server = createServer((request, response) => {
      this.onHttp(request, response).catch((error) => {
        options.log?.error("rpc handler failed", { error: String(error) });
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
    this.wss = new WebSocketServer({ server: this.server, maxPayload: RPC_BODY_BYTES_MAX });
    this.wss.on("connection", (socket, request) => this.onSocket(socket, request));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    return this.url;
  }

  get url(): string {
    const address = this.server.address() as AddressInfo;
    return `http://${address.address}:${address.port}`;
  }

  /** Whether anyone listens on `topic`: callers skip building notifications nobody reads. */
  hasSubscribers(topic: string): boolean {
    return (this.subscriptions.get(topic)?.size ?? 0) > 0;
  }

  /**
   * Publishes each payload in turn, with every subscriber's connection
   * corked meanwhile: a commit's receipts reach a subscriber in one socket
   * write, still one notification each.
   */
  publishAll(topic: string, payloads: readonly unknown[]): void {
    const connections = [...(this.subscriptions.get(topic) ?? [])].map((sub) =>
      this.connections.get(sub.socket),
    );
    for (const connection of connections) connection?.cork();
    try {
      for (const payload of payloads) this.publish(topic, payload);
    } finally {
      for (const connection of connections) connection?.uncork();
    }
  }

  /** Sends `payload` to every subscriber of `topic` as an `hs_subscription` notification. */
  publish(topic: string, payload: unknown): void {
    const subscribers = this.subscriptions.get(topic);
    if (subscribers === undefined) return;
    for (const sub of subscribers) {
      if (sub.socket.bufferedAmount > WS_BUFFERED_BYTES_MAX) {
        this.options.metrics?.countDropped("ws");
        sub.socket.terminate();
        continue;
      }
      sub.socket.send(
        toJson({
          jsonrpc: "2.0",
          method: "hs_subscription",
          params: { subscription: sub.id, result: payload },
        }),
      );
    }
  }

  async close(): Promise<void> {
    for (const socket of this.wss.clients) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private client(request: IncomingMessage): string {
    return request.socket.remoteAddress ?? "unknown";
  }

  private authorized(request: IncomingMessage): boolean {
    const header = request.headers.authorization ?? "";
    const expected = Buffer.from(`Bearer ${this.options.authToken}`);
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async onHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.options.routes && (await this.options.routes(request, response))) return;
    if (request.method !== "POST") {
      response.writeHead(405, { allow: "POST" }).end();
      return;
    }
    const body = await readBody(request, RPC_BODY_BYTES_MAX);
    if (body === null) {
      response.writeHead(413).end();
      return;
    }
    const reply = await this.dispatchText(body, this.client(request), this.authorized(request));
    if (reply === null) {
      response.writeHead(204).end();
      return;
    }
    response.writeHead(200, { "content-type": "application/json" }).end(reply);
  }

  private async dispatchText(
    text: string,
    client: string,
    authorized: boolean,
    socket?: WebSocket,
  ): Promise<string | null> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return toJson(errorReply(null, RpcErrorCode.ParseError, "parse error"));
    }
    const batch = Array.isArray(parsed);
    const requests = batch ? (parsed as unknown[]) : [parsed];
    if (batch && (requests.length === 0 || requests.length > RPC_BATCH_MAX)) {
      return toJson(
        errorReply(null, RpcErrorCode.InvalidRequest, `batch must hold 1 to ${RPC_BATCH_MAX} requests`),
      );
    }
    if (!this.rate.take(client, requests.length)) {
      return toJson(errorReply(null, RpcErrorCode.RateLimited, "rate limit exceeded"));
    }
    // Requests counted per method and outcome once per batch: a batch of submissions is one counter update.
    const counts = new Map<string, RequestCount>();
    const replies = (
      await Promise.all(requests.map((r) => this.dispatchOne(r, authorized, counts, socket)))
    ).filter((r) => r !== null);
    for (const { method, outcome, count } of counts.values())
      this.options.metrics?.rpcRequests.inc({ method, outcome }, count);
    if (replies.length === 0) return null;
    return toJson(batch ? replies : replies[0]);
  }

  private async dispatchOne(
    raw: unknown,
    authorized: boolean,
    counts: Map<string, RequestCount>,
    socket?: WebSocket,
  ): Promise<object | null> {
    const request = raw as JsonRpcRequest;
    const id = typeof request?.id === "string" || typeof request?.id === "number" ? request.id : null;
    if (
      typeof request !== "object" ||
      request === null ||
      request.jsonrpc !== "2.0" ||
      typeof request.method !== "string"
    ) {
      return errorReply(id, RpcErrorCode.InvalidRequest, "invalid request");
    }
    const params = request.params === undefined ? [] : request.params;
    if (!Array.isArray(params)) return errorReply(id, RpcErrorCode.InvalidParams, "params must be an array");
    const notification = !("id" in request);
    let reply: object;
    if (request.method === "hs_subscribe" || request.method === "hs_unsubscribe") {
      reply = socket
        ? this.subscribe(id, request.method, params, socket)
        : errorReply(id, RpcErrorCode.InvalidRequest, "subscriptions need a WebSocket");
    } else {
      const method = Object.hasOwn(this.options.methods, request.method)
        ? this.options.methods[request.method]
        : undefined;
      if (method === undefined) {
        reply = errorReply(id, RpcErrorCode.MethodNotFound, `method not found: ${request.method}`);
      } else if (method.auth && !authorized) {
        reply = errorReply(id, RpcErrorCode.Unauthorized, "this method needs the node's bearer token");
      } else {
        try {
          reply = { jsonrpc: "2.0", id, result: (await method.handler(params)) ?? null };
        } catch (error) {
          reply = this.errorFor(id, error);
        }
      }
    }
    const method = Object.hasOwn(this.options.methods, request.method) ? request.method : "other";
    const outcome = "error" in reply ? "error" : "ok";
    const counted = counts.get(`${method}/${outcome}`);
    if (counted === undefined) counts.set(`${method}/${outcome}`, { method, outcome, count: 1 });
    else counted.count++;
    return notification ? null : reply;
  }

  private errorFor(id: string | number | null, error: unknown): object {
    if (error instanceof RpcError)
      return errorReply(id, error.payload.rpcCode, error.message, error.payload.data);
    if (error instanceof HyperspaceError) {
      return errorReply(id, RpcErrorCode.Rejected, error.message, { code: error.code });
    }
    this.options.log?.error("rpc method crashed", { error: String((error as Error)?.stack ?? error) });
    return errorReply(id, RpcErrorCode.InternalError, "internal error");
  }

  private subscribe(
    id: string | number | null,
    method: string,
    params: unknown[],
    socket: WebSocket,
  ): object {
    if (method === "hs_unsubscribe") {
      const target = String(params[0]);
      let removed = false;
      for (const subs of this.subscriptions.values()) {
        for (const sub of subs) {
          if (sub.socket === socket && sub.id === target) removed = subs.delete(sub);
        }
      }
      return { jsonrpc: "2.0", id, result: removed };
    }
    const topic = params[0];
    if (typeof topic !== "string" || !this.options.topics.includes(topic)) {
      return errorReply(
        id,
        RpcErrorCode.InvalidParams,
        `topic must be one of ${this.options.topics.join(", ")}`,
      );
    }
    let held = 0;
    for (const subs of this.subscriptions.values()) for (const sub of subs) if (sub.socket === socket) held++;
    if (held >= WS_SUBSCRIPTIONS_MAX)
      return errorReply(id, RpcErrorCode.InvalidRequest, "too many subscriptions");
    const sub = { socket, id: `0x${(this.nextSubscription++).toString(16)}` };
    let subs = this.subscriptions.get(topic);
    if (subs === undefined) {
      subs = new Set();
      this.subscriptions.set(topic, subs);
    }
    subs.add(sub);
    return { jsonrpc: "2.0", id, result: sub.id };
  }

  private onSocket(socket: WebSocket, request: IncomingMessage): void {
    const client = this.client(request);
    const authorized = this.authorized(request);
    this.connections.set(socket, request.socket);
    socket.on("message", (data) => {
      void this.dispatchText(String(data), client, authorized, socket).then((reply) => {
        if (reply !== null && socket.readyState === socket.OPEN) socket.send(reply);
      });
    });
    socket.on("close", () => {
      for (const subs of this.subscriptions.values())
        for (const sub of subs) if (sub.socket === socket) subs.delete(sub);
    });
    socket.on("error", () => socket.terminate());
  }
}

function errorReply(id: string | number | null, code: number, message: string, data?: unknown): object {
  return { jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } };
}

async function readBody(request: IncomingMessage, maxBytes: number): Promise<string | null> {
  const declared = Number(request.headers["content-length"] ?? 0);
  if (declared > maxBytes) {
    request.resume();
    return null;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > maxBytes) {
      request.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
