import type { PayeeChannel } from "../channels/index.ts";
import {
  ComputeError,
  GENERATE_TOKENS_MAX,
  type GeneratedToken,
  type GenerateRequest,
  type LanguageModel,
} from "../compute/index.ts";
import { bytesEqual, CodecError, fromHex, HyperspaceError, toHex } from "../spec/index.ts";
import {
  CREDIT_WINDOW_TOKENS_DEFAULT,
  LOAD_PERMILLE_MAX,
  PROVIDER_CONCURRENT_REQUESTS_MAX,
  STREAM_STALL_TIMEOUT_MS,
  TOKENS_PER_SECOND_MAX,
  TOKENS_PER_SECOND_MIN,
} from "./constants.ts";
import { MarketError } from "./errors.ts";
import {
  type ClientFrame,
  type DoneReason,
  decodeClientFrame,
  encodeProviderFrame,
  type ProviderFrame,
  type RequestFrame,
  TEMPERATURE_SCALE,
  truncateText,
} from "./frames.ts";
import { ProviderMeter } from "./metering.ts";
import type { ModelRef } from "./model-ref.ts";
import type { PayeeChannels } from "./payee-channels.ts";
import { isPodMember, type MarketState } from "./state.ts";
import { TokenBatcher } from "./token-batcher.ts";
import type { FrameStream } from "./transport.ts";

/**
 * The provider's side of metered inference: it serves each inbound stream
 * (one request) by generating tokens with compute/ and metering every token
 * against the request's channel. A token goes out only while the
 * ProviderMeter allows it (paid plus the credit window covers it, and the
 * deposit could pay for it); when payment stops, generation stops within
 * one token. Requests come only from members of a pod this provider also
 * belongs to.
 */

/** What generates tokens: a loaded model (compute's LanguageModel fits through `generatorOf`). */
export interface TokenGenerator {
  readonly model: ModelRef;
  generate(request: GenerateRequest): AsyncIterable<GeneratedToken>;
}

/** A LanguageModel as a TokenGenerator, named by its manifest (or file) and content hash. */
export function generatorOf(model: LanguageModel): TokenGenerator {
  const hash = fromHex(model.info.sha256);
  if (hash === null) throw new MarketError("BAD_REQUEST", "the model's hash is not hex", {});
  const file = model.info.path.split("/").pop() ?? "model";
  const name = model.info.manifest?.name ?? file.replace(/\.onnx$/, "");
  return { model: { hash, name }, generate: (request) => model.generate(request) };
}

export interface ProviderServiceOptions {
  /** This provider's account address and peer id. */
  readonly self: { readonly address: Uint8Array; readonly peerId: string };
  readonly state: MarketState;
  readonly generators: readonly TokenGenerator[];
  readonly pricePerToken: bigint;
  readonly channels: PayeeChannels;
  readonly creditWindowTokens?: number;
  /** How long a stalled request waits for a voucher (or the first frame) before it ends. */
  readonly paymentWaitMs?: number;
  readonly concurrentRequestsMax?: number;
  /**
   * Most tokens per second one request is served at (none when absent): a
   * provider sharing its machine with other work paces each stream, the
   * first token included, so token i goes out no earlier than (i + 1) /
   * rate seconds after the request is accepted.
   */
  readonly tokensPerSecondMax?: number;
  /** Called after each request with what it delivered and what was paid (metrics, logs). */
  readonly onServed?: (outcome: ServedRequest) => void;
}

export interface ServedRequest {
  readonly peerId: string;
  readonly podId: Uint8Array;
  readonly tokens: number;
  readonly reason: DoneReason | "refused" | "failed";
  readonly deliveredAmount: bigint;
  readonly paidAmount: bigint;
}

/** Live figures for this provider's offer. */
export interface ProviderLoad {
  readonly activeRequests: number;
  readonly queueLength: number;
  readonly loadPermille: number;
}

/** Why a request's abort signal fires when the request ends (anything still running for it stops). */
const REQUEST_ENDED = "the request ended";

class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export class ProviderService {
  private active = 0;
  private waiting = 0;
  readonly creditWindowTokens: number;
  private readonly paymentWaitMs: number;
  private readonly concurrentMax: number;
  /** Milliseconds between paced tokens, or 0 when tokens are not paced. */
  private readonly tokenIntervalMs: number;

  constructor(private readonly options: ProviderServiceOptions) {
    this.creditWindowTokens = options.creditWindowTokens ?? CREDIT_WINDOW_TOKENS_DEFAULT;
    this.paymentWaitMs = options.paymentWaitMs ?? STREAM_STALL_TIMEOUT_MS;
    this.concurrentMax = options.concurrentRequestsMax ?? PROVIDER_CONCURRENT_REQUESTS_MAX;
    const rate = options.tokensPerSecondMax;
    if (rate !== undefined && !(rate >= TOKENS_PER_SECOND_MIN && rate <= TOKENS_PER_SECOND_MAX)) {
      throw new MarketError(
        "BAD_REQUEST",
        `tokensPerSecondMax must be in [${TOKENS_PER_SECOND_MIN}, ${TOKENS_PER_SECOND_MAX}]`,
        { tokensPerSecondMax: rate },
      );
    }
    this.tokenIntervalMs = rate === undefined ? 0 : 1000 / rate;
  }

  get models(): ModelRef[] {
    return this.options.generators.map((g) => g.model);
  }

  get load(): ProviderLoad {
    return {
      activeRequests: this.active,
      queueLength: this.waiting,
      loadPermille: Math.min(LOAD_PERMILLE_MAX, Math.round((this.active * 1000) / this.concurrentMax)),
    };
  }

  /** The node's stream handler for INFERENCE_PROTOCOL: serves one request on `stream` from `peerId`. */
  readonly handleStream = async (peerId: string, stream: FrameStream): Promise<void> => {
    const send = (frame: ProviderFrame) => stream.send(encodeProviderFrame(frame));
    const frames = stream.frames[Symbol.asyncIterator]();
    const abort = new AbortController();
    let request: RequestFrame | null = null;
    let channel: PayeeChannel | null = null;
    let meter: ProviderMeter | null = null;
    let reason: ServedRequest["reason"] = "failed";
    this.waiting++;
    try {
      request = await this.readRequest(frames);
      const generator = this.admit(peerId, request);
      channel = await this.options.channels.acquire(request.channelId, peerId).catch((error: unknown) => {
        if (error instanceof HyperspaceError) throw new Refusal(error.code, error.message);
        throw error;
      });
      this.waiting--;
      this.active++;
      meter = new ProviderMeter(
        this.options.pricePerToken,
        this.creditWindowTokens,
        channel.paid,
        channel.record.deposit,
      );
      const tokens = this.startGeneration(generator, request, abort.signal);
      send({
        type: "accepted",
        requestId: request.requestId,
        pricePerToken: this.options.pricePerToken,
        creditWindowTokens: this.creditWindowTokens,
      });
      const client = new ClientReader(frames, channel, abort);
      reason = await this.serve(tokens, client, channel, meter, stream, abort.signal);
      send({ type: "done", tokens: meter.delivered, reason });
      if (reason !== "cancelled") await this.awaitFinalPayment(client, meter, channel, abort.signal);
      stream.close();
    } catch (error) {
      if (error instanceof Refusal) {
        reason = "refused";
        send({ type: "refused", code: error.code, message: truncateText(error.message) });
        stream.close();
      } else if (error instanceof HyperspaceError) {
        reason = "failed";
        send({ type: "refused", code: error.code, message: truncateText(error.message) });
        stream.abort(error.message);
      } else {
        stream.abort("internal error");
        throw error;
      }
    } finally {
      // A plain reason: the default one is a DOMException, whose stack costs more than the rest of the cleanup.
      abort.abort(REQUEST_ENDED);
      if (channel !== null) {
        this.active--;
        this.options.channels.release(channel.channelId);
        if (meter !== null && meter.delivered > 0)
          await channel.addDelivered(meter.deliveredAmount).catch(() => {});
      } else {
        this.waiting--;
      }
      this.options.onServed?.({
        peerId,
        podId: request?.podId ?? new Uint8Array(32),
        tokens: meter?.delivered ?? 0,
        reason,
        deliveredAmount: meter?.deliveredAmount ?? 0n,
        paidAmount: channel === null || meter === null ? 0n : channel.paid - meter.paidBaseline,
      });
    }
  };

  private async readRequest(frames: AsyncIterator<Uint8Array>): Promise<RequestFrame> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.paymentWaitMs);
    });
    const first = await Promise.race([frames.next(), timedOut]);
    clearTimeout(timer);
    if (first === null || first.done) throw new Refusal("PROTOCOL", "no request arrived");
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(first.value);
    } catch (error) {
      if (error instanceof CodecError) throw new Refusal("PROTOCOL", error.message);
      throw error;
    }
    if (frame.type !== "request") throw new Refusal("PROTOCOL", "the first frame must be a request");
    return frame;
  }

  /** Every check before a channel is touched; returns the generator of the requested model. */
  private admit(peerId: string, request: RequestFrame): TokenGenerator {
    const { state, self, pricePerToken, generators } = this.options;
    if (!isPodMember(state, request.podId, peerId)) {
      throw new Refusal(
        "NOT_POD_MEMBER",
        `peer ${peerId.slice(0, 64)} is not a member of pod ${toHex(request.podId)}`,
      );
    }
    if (!isPodMember(state, request.podId, self.peerId)) {
      throw new Refusal("NOT_POD_MEMBER", `this provider is not a member of pod ${toHex(request.podId)}`);
    }
    const generator = generators.find((g) => bytesEqual(g.model.hash, request.model));
    if (generator === undefined)
      throw new Refusal("MODEL_NOT_SERVED", `model ${toHex(request.model)} is not served here`);
    if (request.maxPricePerToken < pricePerToken) {
      throw new Refusal(
        "PRICE_TOO_HIGH",
        `price ${pricePerToken} > the client's ${request.maxPricePerToken}`,
      );
    }
    if (request.maxTokens > GENERATE_TOKENS_MAX) {
      throw new Refusal("BAD_REQUEST", `maxTokens over ${GENERATE_TOKENS_MAX}`);
    }
    if (this.active >= this.concurrentMax)
      throw new Refusal("BUSY", `${this.concurrentMax} requests already run`);
    return generator;
  }

  private startGeneration(
    generator: TokenGenerator,
    request: RequestFrame,
    signal: AbortSignal,
  ): AsyncIterator<GeneratedToken> {
    try {
      return generator
        .generate({
          prompt: request.prompt,
          maxTokens: request.maxTokens,
          temperature: request.temperatureMilli / TEMPERATURE_SCALE,
          topK: request.topK,
          seed: request.seed,
          signal,
        })
        [Symbol.asyncIterator]();
    } catch (error) {
      if (error instanceof ComputeError) throw new Refusal(error.code, error.message);
      throw error;
    }
  }

  /** Streams tokens while the meter allows; returns why it stopped. */
  private async serve(
    tokens: AsyncIterator<GeneratedToken>,
    client: ClientReader,
    channel: PayeeChannel,
    meter: ProviderMeter,
    stream: FrameStream,
    signal: AbortSignal,
  ): Promise<DoneReason> {
    const acceptedAtMs = performance.now();
    const paced = this.tokenIntervalMs > 0;
    const batch = new TokenBatcher((frame) => stream.send(frame));
    try {
      for (;;) {
        let next: IteratorResult<GeneratedToken>;
        try {
          next = await tokens.next();
        } catch (error) {
          if (error instanceof ComputeError && error.code === "CANCELLED") break;
          throw error;
        }
        if (next.done) return "length";
        if (!meter.depositCovers()) return "deposit";
        // The token is computed; it goes out only when covered. Otherwise wait for a voucher, then stop.
        let paid = channel.paid;
        if (!meter.canDeliver(paid)) {
          // The client pays for what it has received: everything counted out goes on the wire first.
          batch.flush();
          await client.paymentOrTimeout(this.paymentWaitMs, signal);
          if (signal.aborted) break;
          paid = channel.paid;
          if (!meter.canDeliver(paid)) return "unpaid";
        }
        if (paced) {
          const dueMs = acceptedAtMs + (meter.delivered + 1) * this.tokenIntervalMs;
          const waitMs = dueMs - performance.now();
          if (waitMs > 0) await sleep(waitMs, signal);
          if (signal.aborted) break;
        }
        meter.deliver(paid);
        const token = next.value;
        batch.add(token.index, token.id, token.text, paced);
      }
      client.rethrow();
      return "cancelled";
    } finally {
      // Every token the meter counted out reaches the wire before `done` reports the count.
      batch.close();
      void tokens.return?.();
    }
  }

  /** After `done`, waits (bounded) for the voucher that pays for the rest. */
  private async awaitFinalPayment(
    client: ClientReader,
    meter: ProviderMeter,
    channel: PayeeChannel,
    signal: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + this.paymentWaitMs;
    while (meter.unpaid(channel.paid) > 0n && !signal.aborted && !client.closed && Date.now() < deadline) {
      await client.paymentOrTimeout(deadline - Date.now(), signal);
    }
  }
}

/**
 * Reads the client's frames while a request is served: applies each
 * voucher to the channel at once, and records a cancel, the client closing
 * its side, or the stream breaking (which aborts the request).
 */
class ClientReader {
  closed = false;
  cancelled = false;
  private failure: unknown = null;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly frames: AsyncIterator<Uint8Array>,
    private readonly channel: PayeeChannel,
    private readonly abort: AbortController,
  ) {
    void this.run();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        const next = await this.frames.next();
        if (next.done) break;
        const frame = decodeClientFrame(next.value);
        if (frame.type === "pay") {
          this.channel.accept(frame.voucher);
          void this.channel.flush().catch(() => {});
          this.wake();
        } else if (frame.type === "cancel") {
          this.cancelled = true;
          this.abort.abort();
        } else {
          throw new MarketError("PROTOCOL", "a second request on one stream", {});
        }
      }
      this.closed = true;
    } catch (error) {
      this.failure = error;
      this.abort.abort();
    }
    this.wake();
  }

  /** Resolves on the next voucher, the end of the client's frames, `ms` passing, or `signal` aborting. */
  paymentOrTimeout(ms: number, signal: AbortSignal): Promise<void> {
    if (this.closed || this.failure !== null || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.waiters.push(done);
    });
  }

  /** Throws what broke the stream, if anything did. */
  rethrow(): void {
    if (this.failure === null) return;
    if (this.failure instanceof HyperspaceError) throw this.failure;
    throw new MarketError("STREAM_FAILED", String(this.failure), {});
  }
}

export { Refusal as ProviderRefusal };
