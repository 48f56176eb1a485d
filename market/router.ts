import { randomBytes } from "node:crypto";
import {
  GENERATE_TOKENS_DEFAULT,
  GENERATE_TOKENS_MAX,
  PROMPT_BYTES_MAX,
  SEED_DEFAULT,
  TEMPERATURE_DEFAULT,
  TEMPERATURE_MAX,
  TOP_K_DEFAULT,
} from "../compute/index.ts";
import { AMOUNT_MAX, AssertionError, CodecError, HyperspaceError, toHex } from "../spec/index.ts";
import { minAmount } from "./amounts.ts";
import {
  FAILOVER_ATTEMPTS_MAX,
  REQUEST_ID_BYTES,
  ROUTER_CONCURRENT_REQUESTS_MAX,
  STREAM_STALL_TIMEOUT_MS,
  VOUCHER_INTERVAL_TOKENS_DEFAULT,
} from "./constants.ts";
import { MarketError } from "./errors.ts";
import {
  type DoneReason,
  decodeProviderFrame,
  encodeClientFrame,
  type ProviderFrame,
  TEMPERATURE_SCALE,
} from "./frames.ts";
import type { LatencyBook } from "./latency.ts";
import { ClientMeter } from "./metering.ts";
import type { ModelRef } from "./model-ref.ts";
import type { ChannelLease, PayerChannels } from "./payer-channels.ts";
import {
  type CompletionConstraints,
  type ProviderCandidate,
  type RankedCandidate,
  rankProviders,
} from "./ranking.ts";
import type { FrameStream, InferenceTransport } from "./transport.ts";

/**
 * The InferenceRouter: `new InferenceRouter(pod).complete({ prompt,
 * maxTokens, constraints })` picks the best provider of the pod that meets
 * the constraints (ranking.ts), runs the request on a metered stream to it
 * (paying for what it receives through a channel the pool opens or reuses),
 * and, when the provider fails mid-stream, fails over to the next one with
 * the text so far as the new prompt and the tokens still owed, until the
 * request is complete. The client pays each provider for the tokens it
 * received from it, so the request costs exactly its tokens times their
 * prices.
 */

/** What a router needs from the node besides the pod's members (the transport, payments, measurements). */
export interface RoutingServices {
  readonly transport: InferenceTransport;
  readonly channels: PayerChannels;
  readonly latency: LatencyBook;
  /** Called once per request with what it cost (spend tracking per pod and per API key). */
  readonly onSpend?: (podId: Uint8Array, amount: bigint) => void;
}

/** What the router routes over: a pod's id, its providers now, and the services. */
export interface RoutablePod {
  readonly id: Uint8Array;
  candidates(): ProviderCandidate[];
  readonly routing: RoutingServices;
}

export interface CompletionRequest {
  readonly prompt: string;
  readonly maxTokens?: number;
  /** A model name or hex content hash; any model of the chosen provider when absent. */
  readonly model?: string;
  readonly temperature?: number;
  readonly topK?: number;
  readonly seed?: number;
  readonly constraints?: CompletionConstraints;
  readonly signal?: AbortSignal;
  /**
   * When the channel budget cannot fund every token asked for, run on what
   * it can fund (at least one token): the provider serves what the channel's
   * deposit covers and stops, and the request ends with finish reason
   * "budget". Without it such a request fails with BUDGET_EXHAUSTED.
   */
  readonly partial?: boolean;
  /** Called with each token as it arrives. */
  readonly onToken?: (token: RoutedToken) => void;
}

export interface RoutedToken {
  /** 0 for the first token of the whole request, across failovers. */
  readonly index: number;
  readonly id: number;
  readonly text: string;
  readonly peerId: string;
}

/** One provider's part of a request. */
export interface ProviderLeg {
  readonly peerId: string;
  readonly address: Uint8Array;
  readonly pricePerToken: bigint;
  readonly tokens: number;
  /** Tokens received from this provider times its price. */
  readonly cost: bigint;
  /** Why this leg ended: a done reason, or "failed"/"refused" with `error`. */
  readonly outcome: DoneReason | "failed" | "refused";
  readonly error: string | null;
  readonly roundTripMs: number | null;
  readonly timeToFirstTokenMs: number | null;
}

/** "budget": a partial request stopped where its channel budget ran out. */
export type FinishReason = "length" | "cancelled" | "budget";

export interface CompletionResult {
  readonly text: string;
  readonly tokens: number;
  /** Sum over the legs of tokens received times price. */
  readonly cost: bigint;
  readonly model: ModelRef;
  readonly finishReason: FinishReason;
  readonly legs: readonly ProviderLeg[];
  readonly timeToFirstTokenMs: number | null;
}

export interface RouterOptions {
  /** Pay after this many tokens received (and at the end). */
  readonly voucherIntervalTokens?: number;
  /** A provider silent this long is failed over. */
  readonly stallTimeoutMs?: number;
  /** Providers one request may try. */
  readonly attemptsMax?: number;
  readonly concurrentRequestsMax?: number;
}

interface ValidRequest {
  readonly prompt: string;
  readonly maxTokens: number;
  readonly temperatureMilli: number;
  readonly topK: number;
  readonly seed: number;
}

function badRequest(message: string): MarketError {
  return new MarketError("BAD_REQUEST", message, {});
}

function validate(request: CompletionRequest): ValidRequest {
  const maxTokens = request.maxTokens ?? GENERATE_TOKENS_DEFAULT;
  const temperature = request.temperature ?? TEMPERATURE_DEFAULT;
  const topK = request.topK ?? TOP_K_DEFAULT;
  const seed = request.seed ?? SEED_DEFAULT;
  if (typeof request.prompt !== "string") throw badRequest("prompt must be a string");
  if (Buffer.byteLength(request.prompt) > PROMPT_BYTES_MAX)
    throw badRequest(`prompt over ${PROMPT_BYTES_MAX} bytes`);
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > GENERATE_TOKENS_MAX) {
    throw badRequest(`maxTokens must be an integer in [1, ${GENERATE_TOKENS_MAX}]`);
  }
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > TEMPERATURE_MAX) {
    throw badRequest(`temperature must be in [0, ${TEMPERATURE_MAX}]`);
  }
  if (!Number.isInteger(topK) || topK < 0) throw badRequest("topK must be a non-negative integer");
  if (!Number.isSafeInteger(seed) || seed < 0) throw badRequest("seed must be a safe non-negative integer");
  const max = request.constraints?.maxPricePerToken;
  if (max !== undefined && (max < 0n || max > AMOUNT_MAX)) throw badRequest("maxPricePerToken out of range");
  const minVram = request.constraints?.minVramGb;
  if (minVram !== undefined && !(Number.isFinite(minVram) && minVram >= 0))
    throw badRequest("minVramGb must be >= 0");
  return {
    prompt: request.prompt,
    maxTokens,
    temperatureMilli: Math.round(temperature * TEMPERATURE_SCALE),
    topK,
    seed,
  };
}

/** One leg's outcome, before it is added to the result. */
interface LegRun {
  readonly tokens: number;
  readonly text: string;
  readonly cost: bigint;
  readonly pricePerToken: bigint;
  readonly outcome: ProviderLeg["outcome"];
  readonly error: string | null;
  readonly roundTripMs: number | null;
  readonly timeToFirstTokenMs: number | null;
}

/**
 * A fault of this program, not of the provider or the network: it is thrown
 * on, never treated as a failed leg.
 */
function isBug(error: unknown): boolean {
  if (error instanceof HyperspaceError) return false;
  if (!(error instanceof Error)) return true;
  return (
    error instanceof AssertionError ||
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof ReferenceError
  );
}

export class InferenceRouter {
  private running = 0;
  private readonly voucherIntervalTokens: number;
  private readonly stallTimeoutMs: number;
  private readonly attemptsMax: number;
  private readonly concurrentMax: number;

  constructor(
    readonly pod: RoutablePod,
    options: RouterOptions = {},
  ) {
    this.voucherIntervalTokens = options.voucherIntervalTokens ?? VOUCHER_INTERVAL_TOKENS_DEFAULT;
    this.stallTimeoutMs = options.stallTimeoutMs ?? STREAM_STALL_TIMEOUT_MS;
    this.attemptsMax = options.attemptsMax ?? FAILOVER_ATTEMPTS_MAX;
    this.concurrentMax = options.concurrentRequestsMax ?? ROUTER_CONCURRENT_REQUESTS_MAX;
  }

  /** The eligible providers for `request`, best first. */
  rank(request: Pick<CompletionRequest, "model" | "constraints">): RankedCandidate[] {
    const latency = this.pod.routing.latency;
    return rankProviders(this.pod.candidates(), request, (peerId) => latency.expectedMs(peerId));
  }

  /** Runs the request to completion (failing over as needed) and returns the text and its cost. */
  async complete(request: CompletionRequest): Promise<CompletionResult> {
    const valid = validate(request);
    if (this.running >= this.concurrentMax) {
      throw new MarketError("BUSY", `${this.concurrentMax} requests already run`, {});
    }
    this.running++;
    try {
      return await this.route(request, valid);
    } finally {
      this.running--;
    }
  }

  /** The request's tokens as an async iterable, and its result once the tokens end. */
  stream(request: Omit<CompletionRequest, "onToken">): {
    tokens: AsyncIterable<RoutedToken>;
    result: Promise<CompletionResult>;
  } {
    const queue: RoutedToken[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    const result = this.complete({
      ...request,
      onToken: (token) => {
        queue.push(token);
        notify();
      },
    }).finally(() => {
      finished = true;
      notify();
    });
    async function* tokens(): AsyncGenerator<RoutedToken> {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (finished) {
          await result;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    }
    result.catch(() => {});
    return { tokens: tokens(), result };
  }

  private async route(request: CompletionRequest, valid: ValidRequest): Promise<CompletionResult> {
    const ranked = this.rank(request);
    if (ranked.length === 0) {
      throw new MarketError("NO_PROVIDER", "no provider of the pod meets the request's constraints", {
        model: request.model ?? null,
        constraints: {
          ...request.constraints,
          maxPricePerToken: request.constraints?.maxPricePerToken?.toString(),
        },
      });
    }
    const legs: ProviderLeg[] = [];
    let text = "";
    let tokens = 0;
    let model: ModelRef | null = null;
    let firstTokenMs: number | null = null;
    const started = performance.now();
    const tried = new Set<string>();
    // A partial request stops, keeping what it has, once the budget funds no more.
    let budgetSpent = false;
    for (const choice of ranked) {
      if (legs.length >= this.attemptsMax) break;
      if (request.signal?.aborted) break;
      // Every leg runs the same model: the first leg's when the request named none.
      if (model !== null && !choice.candidate.models.some((m) => toHex(m.hash) === toHex(model!.hash)))
        continue;
      if (tried.has(choice.candidate.peerId)) continue;
      tried.add(choice.candidate.peerId);
      const legModel: ModelRef = model ?? choice.model;
      const remaining = valid.maxTokens - tokens;
      let leg: LegRun;
      try {
        leg = await this.runLeg(
          choice.candidate,
          legModel,
          { ...valid, prompt: valid.prompt + text, maxTokens: remaining },
          request,
          (ids, texts) => {
            firstTokenMs ??= performance.now() - started;
            const onToken = request.onToken;
            if (onToken !== undefined) {
              const peerId = choice.candidate.peerId;
              for (let i = 0; i < ids.length; i++)
                onToken({ index: tokens + i, id: ids[i]!, text: texts[i]!, peerId });
            }
            tokens += ids.length;
          },
        );
      } catch (error) {
        const exhausted = error instanceof MarketError && error.code === "BUDGET_EXHAUSTED";
        if (exhausted && request.partial === true && tokens > 0) {
          budgetSpent = true;
          break;
        }
        throw error;
      }
      text += leg.text;
      legs.push({
        peerId: choice.candidate.peerId,
        address: choice.candidate.address,
        pricePerToken: leg.pricePerToken,
        tokens: leg.tokens,
        cost: leg.cost,
        outcome: leg.outcome,
        error: leg.error,
        roundTripMs: leg.roundTripMs,
        timeToFirstTokenMs: leg.timeToFirstTokenMs,
      });
      if (leg.tokens > 0 || leg.outcome === "length") model = legModel;
      if (leg.outcome === "length" || leg.outcome === "cancelled" || tokens >= valid.maxTokens) break;
      // A partial request whose deposit ran out has spent what the budget could fund.
      if (leg.outcome === "deposit" && request.partial === true) {
        budgetSpent = tokens < valid.maxTokens;
        break;
      }
    }
    const cost = legs.reduce((sum, leg) => sum + leg.cost, 0n);
    if (cost > 0n) this.pod.routing.onSpend?.(this.pod.id, cost);
    const last = legs.at(-1);
    const finished = last !== undefined && (last.outcome === "length" || tokens >= valid.maxTokens);
    if (!finished && !budgetSpent && !request.signal?.aborted && last?.outcome !== "cancelled") {
      throw new MarketError(
        "ALL_PROVIDERS_FAILED",
        `the request stopped after ${tokens} of ${valid.maxTokens} tokens`,
        {
          tokens,
          cost,
          legs: legs.map((l) => ({ peerId: l.peerId, tokens: l.tokens, outcome: l.outcome, error: l.error })),
        },
      );
    }
    return {
      text,
      tokens,
      cost,
      model: model ?? ranked[0]!.model,
      finishReason: finished ? "length" : budgetSpent ? "budget" : "cancelled",
      legs,
      timeToFirstTokenMs: firstTokenMs,
    };
  }

  /** One provider's leg: lease a channel, open the stream, receive and pay, settle. Never throws for the provider's faults. */
  private async runLeg(
    candidate: ProviderCandidate,
    model: ModelRef,
    valid: ValidRequest,
    request: CompletionRequest,
    /** Called with each frame's tokens (their ids and texts) as they arrive. */
    onTokens: (ids: readonly number[], texts: readonly string[]) => void,
  ): Promise<LegRun> {
    const { channels, transport, latency } = this.pod.routing;
    const maxPrice = request.constraints?.maxPricePerToken ?? candidate.pricePerToken;
    const price = minAmount(candidate.pricePerToken, maxPrice);
    let received = 0;
    let text = "";
    const failed = (
      outcome: "failed" | "refused",
      error: unknown,
      meter: ClientMeter | null,
      rt: number | null = null,
      ttft: number | null = null,
    ): LegRun => ({
      tokens: received,
      text,
      cost: meter?.cost ?? 0n,
      pricePerToken: meter?.pricePerToken ?? price,
      outcome,
      error: error instanceof Error ? error.message : String(error),
      roundTripMs: rt,
      timeToFirstTokenMs: ttft,
    });

    let lease: ChannelLease;
    try {
      const needed = BigInt(valid.maxTokens) * price;
      lease = await channels.lease(
        candidate.address,
        candidate.peerId,
        needed,
        request.partial === true ? minAmount(price, needed) : needed,
      );
    } catch (error) {
      // No budget is the client's fault, not the provider's: the whole request fails.
      if (error instanceof MarketError && error.code === "BUDGET_EXHAUSTED") throw error;
      return failed("refused", error, null);
    }
    const channel = lease.channel;
    let stream: FrameStream | null = null;
    let meter: ClientMeter | null = null;
    const opened = performance.now();
    let roundTripMs: number | null = null;
    let timeToFirstTokenMs: number | null = null;
    let lastFrameAt = performance.now();
    const watchdog = setInterval(
      () => {
        if (performance.now() - lastFrameAt > this.stallTimeoutMs) stream?.abort("provider stalled");
      },
      Math.max(10, this.stallTimeoutMs / 4),
    );
    // Cancelling asks the provider to stop; it answers `done` (cancelled) and the leg settles as usual.
    const onAbort = () =>
      stream?.send(encodeClientFrame({ type: "cancel", reason: "cancelled by the client" }));
    request.signal?.addEventListener("abort", onAbort, { once: true });
    const pay = async (target: bigint | null) => {
      if (target === null || stream === null) return;
      const voucher = await channel.payUpTo(target);
      stream.send(encodeClientFrame({ type: "pay", voucher }));
    };
    try {
      stream = await transport.open(candidate.peerId, request.signal);
      lastFrameAt = performance.now();
      stream.send(
        encodeClientFrame({
          type: "request",
          requestId: new Uint8Array(randomBytes(REQUEST_ID_BYTES)),
          podId: this.pod.id,
          model: model.hash,
          prompt: valid.prompt,
          maxTokens: valid.maxTokens,
          temperatureMilli: valid.temperatureMilli,
          topK: valid.topK,
          seed: valid.seed,
          channelId: channel.channelId,
          maxPricePerToken: maxPrice,
        }),
      );
      for await (const bytes of stream.frames) {
        lastFrameAt = performance.now();
        let frame: ProviderFrame;
        try {
          frame = decodeProviderFrame(bytes);
        } catch (error) {
          if (error instanceof CodecError) throw new MarketError("PROTOCOL", error.message, {});
          throw error;
        }
        if (frame.type === "accepted") {
          if (meter !== null) throw new MarketError("PROTOCOL", "accepted twice", {});
          if (frame.pricePerToken > maxPrice)
            throw new MarketError("PRICE_TOO_HIGH", `provider asks ${frame.pricePerToken}`, {});
          roundTripMs = performance.now() - opened;
          meter = new ClientMeter(
            frame.pricePerToken,
            Math.min(this.voucherIntervalTokens, Math.max(1, Math.floor(frame.creditWindowTokens / 2))),
            channel.spent,
          );
        } else if (frame.type === "tokens") {
          if (meter === null) throw new MarketError("PROTOCOL", "a token before acceptance", {});
          const { ids, texts } = frame;
          if (frame.index !== received) throw new MarketError("PROTOCOL", "tokens out of order", {});
          if (received + ids.length > valid.maxTokens)
            throw new MarketError("PROTOCOL", "more tokens than asked for", {});
          timeToFirstTokenMs ??= lastFrameAt - opened;
          received += ids.length;
          onTokens(ids, texts);
          text += ids.length === 1 ? texts[0]! : texts.join("");
          const target = meter.onTokens(ids.length);
          if (target !== null) await pay(target);
        } else if (frame.type === "token") {
          if (meter === null) throw new MarketError("PROTOCOL", "a token before acceptance", {});
          if (received >= valid.maxTokens)
            throw new MarketError("PROTOCOL", "more tokens than asked for", {});
          timeToFirstTokenMs ??= lastFrameAt - opened;
          received++;
          text += frame.text;
          onTokens([frame.id], [frame.text]);
          const target = meter.onTokens(1);
          if (target !== null) await pay(target);
        } else if (frame.type === "done") {
          if (meter === null) throw new MarketError("PROTOCOL", "done before acceptance", {});
          if (frame.tokens !== received)
            throw new MarketError("PROTOCOL", `done after ${frame.tokens} tokens, ${received} received`, {});
          await pay(meter.settle());
          stream.close();
          if (roundTripMs !== null && timeToFirstTokenMs !== null)
            latency.record(candidate.peerId, roundTripMs, timeToFirstTokenMs);
          return {
            tokens: received,
            text,
            cost: meter.cost,
            pricePerToken: meter.pricePerToken,
            outcome: frame.reason,
            error: null,
            roundTripMs,
            timeToFirstTokenMs,
          };
        } else {
          stream.close();
          return failed(
            "refused",
            new MarketError("STREAM_FAILED", `${frame.code}: ${frame.message}`, {}),
            meter,
            roundTripMs,
          );
        }
      }
      throw new MarketError("STREAM_FAILED", "the provider closed the stream mid-request", {});
    } catch (error) {
      if (isBug(error)) throw error;
      // Pay for what was received (best effort: the voucher is signed and kept even if it cannot be sent now).
      if (meter !== null) await pay(meter.settle()).catch(() => {});
      if (request.signal?.aborted === true) {
        stream?.close();
        return {
          ...failed("failed", error, meter, roundTripMs, timeToFirstTokenMs),
          outcome: "cancelled",
          error: null,
        };
      }
      stream?.abort("client gave up on the stream");
      latency.recordFailure(candidate.peerId);
      return failed("failed", error, meter, roundTripMs, timeToFirstTokenMs);
    } finally {
      clearInterval(watchdog);
      request.signal?.removeEventListener("abort", onAbort);
      lease.release();
    }
  }
}
