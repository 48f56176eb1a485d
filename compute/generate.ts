/**
 * Text generation: a prompt in, tokens out one at a time as an async
 * iterable. Each step runs the model on the last contextLength tokens and
 * samples the next one with a seeded Prng, so the same request at the same
 * thread count yields the same tokens bit for bit.
 *
 * Cancellation: breaking out of the loop stops generation (nothing more is
 * run), and an aborted `signal` ends it with ComputeError("CANCELLED").
 */
import { ComputeError } from "./errors.ts";
import { Prng } from "./prng.ts";
import { sampleToken } from "./sampling.ts";
import { contextWindow, encodeText, TokenStreamDecoder } from "./tokenizer.ts";

/** One request may ask for at most this many tokens: 4,096 bytes is a few pages of text, a minute of CPU at worst. */
export const GENERATE_TOKENS_MAX = 4096;
export const GENERATE_TOKENS_DEFAULT = 200;
/** Prompts are capped at 64 KiB; only the last contextLength bytes are read, the rest is bounded input hygiene. */
export const PROMPT_BYTES_MAX = 64 * 1024;
/** Temperatures above this are indistinguishable from uniform sampling. */
export const TEMPERATURE_MAX = 100;
export const TEMPERATURE_DEFAULT = 0.8;
export const TOP_K_DEFAULT = 0;
export const SEED_DEFAULT = 0;

export interface GenerateRequest {
  readonly prompt: string;
  readonly maxTokens?: number;
  /** 0 is greedy. */
  readonly temperature?: number;
  /** 0 keeps the whole vocabulary. */
  readonly topK?: number;
  /** Any safe non-negative integer. */
  readonly seed?: number;
  readonly signal?: AbortSignal;
}

export interface GeneratedToken {
  /** 0 for the first generated token. */
  readonly index: number;
  /** The token id (a byte). */
  readonly id: number;
  /** The text this token completes: "" inside a multi-byte character. */
  readonly text: string;
}

/** Logits for one context row. The caller reuses `context` once the promise settles: read it before then. */
export type StepFunction = (context: Int32Array) => Promise<Float32Array>;

interface ValidRequest {
  readonly prompt: Uint8Array;
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topK: number;
  readonly seed: number;
  readonly signal: AbortSignal | undefined;
}

function badRequest(message: string, payload: Record<string, unknown>): ComputeError {
  return new ComputeError("BAD_REQUEST", message, payload);
}

export function validateRequest(request: GenerateRequest, vocabSize: number): ValidRequest {
  const maxTokens = request.maxTokens ?? GENERATE_TOKENS_DEFAULT;
  const temperature = request.temperature ?? TEMPERATURE_DEFAULT;
  const topK = request.topK ?? TOP_K_DEFAULT;
  const seed = request.seed ?? SEED_DEFAULT;
  if (typeof request.prompt !== "string") throw badRequest("prompt must be a string", {});
  const prompt = encodeText(request.prompt);
  if (prompt.length > PROMPT_BYTES_MAX)
    throw badRequest(`prompt over ${PROMPT_BYTES_MAX} bytes`, { bytes: prompt.length });
  if (!Number.isInteger(maxTokens) || maxTokens < 0 || maxTokens > GENERATE_TOKENS_MAX) {
    throw badRequest(`maxTokens must be an integer in [0, ${GENERATE_TOKENS_MAX}]`, { maxTokens });
  }
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > TEMPERATURE_MAX) {
    throw badRequest(`temperature must be in [0, ${TEMPERATURE_MAX}]`, { temperature });
  }
  if (!Number.isInteger(topK) || topK < 0 || topK > vocabSize) {
    throw badRequest(`topK must be an integer in [0, ${vocabSize}]`, { topK });
  }
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw badRequest("seed must be a safe non-negative integer", { seed });
  return { prompt, maxTokens, temperature, topK, seed, signal: request.signal };
}

function cancelled(produced: number): ComputeError {
  return new ComputeError("CANCELLED", "generation was cancelled", { produced });
}

/** Validates `request` now (throwing BAD_REQUEST) and returns the token stream. */
export function generateTokens(
  step: StepFunction,
  shape: { readonly contextLength: number; readonly vocabSize: number },
  request: GenerateRequest,
): AsyncIterable<GeneratedToken> {
  const valid = validateRequest(request, shape.vocabSize);
  return run(step, shape.contextLength, valid);
}

async function* run(
  step: StepFunction,
  contextLength: number,
  request: ValidRequest,
): AsyncGenerator<GeneratedToken> {
  const prng = new Prng(request.seed);
  const decoder = new TokenStreamDecoder();
  const tokens = Array.from(request.prompt);
  const settings = { temperature: request.temperature, topK: request.topK };
  // The signal is read through a flag its abort event sets: one property read per check, not a getter call.
  const signal = request.signal;
  if (signal?.aborted) throw cancelled(0);
  let aborted = false;
  const onAbort = () => {
    aborted = true;
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  // One context buffer per generation: the step has read it by the time its logits resolve.
  const context = new Int32Array(contextLength);
  try {
    for (let index = 0; index < request.maxTokens; index++) {
      if (aborted) throw cancelled(index);
      contextWindow(tokens, tokens.length, contextLength, context);
      const logits = await step(context);
      if (aborted) throw cancelled(index);
      const id = sampleToken(logits, settings, prng);
      tokens.push(id);
      // Keep only what the next context can read.
      if (tokens.length > 4 * contextLength) tokens.splice(0, tokens.length - contextLength);
      const last = index === request.maxTokens - 1;
      yield { index, id, text: decoder.push(id) + (last ? decoder.flush() : "") };
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
