/**
 * OpenAI-compatible HTTP endpoints, so existing OpenAI clients can buy
 * inference from a pod with no new code:
 *
 *   POST /v1/completions        (streaming with SSE, and not)
 *   POST /v1/chat/completions   (streaming with SSE, and not)
 *   GET  /v1/models, GET /v1/models/{model}
 *
 * Each request needs an API key the node issued (`hyperspace pod keys
 * create`), sent as `Authorization: Bearer hs-...`. The key names the pod
 * that serves it and carries its own spend limit, rate limit and model
 * allowlist. A request is refused with OpenAI's status code and error body
 * ({ error: { message, type, param, code } }) once a limit is reached:
 * 401 invalid_api_key, 429 rate_limit_exceeded, 429 insufficient_quota (the
 * key's budget), 402 insufficient_quota (the node's channel budget), 404
 * model_not_found, 400 invalid_request_error, 503 when no provider can serve.
 *
 * `createOpenAiHandler` returns a route for the node's HTTP server (the
 * RPC server's `routes` option): it answers /v1/* and returns false for
 * everything else.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { GENERATE_TOKENS_MAX, TEMPERATURE_MAX } from "../compute/index.ts";
import {
  type ApiKeyEntry,
  type ApiKeyReservation,
  type ApiKeyStore,
  type BackendModel,
  CHAT_MESSAGES_MAX,
  type CompletionBackend,
  type CompletionResult,
  MarketError,
  OPENAI_BODY_BYTES_MAX,
} from "../market/index.ts";
import { HyperspaceError, toHex } from "../spec/index.ts";

export interface OpenAiHandlerOptions {
  readonly keys: ApiKeyStore;
  /** The completion backend of a pod (null when this node has none for it). */
  readonly backendFor: (podId: Uint8Array) => CompletionBackend | null;
  readonly clock?: () => number;
}

/** OpenAI's default max_tokens for /v1/completions. */
const COMPLETIONS_MAX_TOKENS_DEFAULT = 16;
/** Chat requests without a limit get this many tokens: the byte-level model's tokens are characters. */
const CHAT_MAX_TOKENS_DEFAULT = 256;
/** Stop sequences per request, as OpenAI allows. */
const STOP_SEQUENCES_MAX = 4;
/** Characters of a stop sequence. */
const STOP_SEQUENCE_CHARS_MAX = 64;

type ErrorType = "invalid_request_error" | "requests" | "insufficient_quota" | "server_error";

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType,
    readonly code: string | null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const invalid = (message: string, param: string | null = null) =>
  new ApiError(400, message, "invalid_request_error", null, param);

function modelNotFound(model: string): ApiError {
  return new ApiError(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    "invalid_request_error",
    "model_not_found",
    "model",
  );
}

/** Maps the market's typed errors onto OpenAI's statuses and codes. */
function apiErrorOf(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof MarketError) {
    switch (error.code) {
      case "INVALID_API_KEY":
        return new ApiError(
          401,
          "Incorrect API key provided. You can create a key with `hyperspace pod keys create`.",
          "invalid_request_error",
          "invalid_api_key",
        );
      case "RATE_LIMITED": {
        const retryAfterMs = Number(error.payload.retryAfterMs ?? 1000);
        return new ApiError(
          429,
          `Rate limit reached for requests: ${error.message}`,
          "requests",
          "rate_limit_exceeded",
          null,
          {
            "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
            "x-ratelimit-limit-requests": String(error.payload.ratePerMinute ?? ""),
          },
        );
      }
      case "QUOTA_EXCEEDED":
        return new ApiError(
          429,
          `You exceeded your current quota: ${error.message}.`,
          "insufficient_quota",
          "insufficient_quota",
        );
      case "BUDGET_EXHAUSTED":
        return new ApiError(
          402,
          `The node's channel budget is spent: ${error.message}.`,
          "insufficient_quota",
          "insufficient_quota",
        );
      case "MODEL_NOT_ALLOWED":
        return modelNotFound(String(error.payload.model ?? ""));
      case "BAD_REQUEST":
        return invalid(error.message);
      case "NO_PROVIDER":
      case "ALL_PROVIDERS_FAILED":
      case "BUSY":
        return new ApiError(
          503,
          `No provider of the pod could serve the request: ${error.message}`,
          "server_error",
          null,
        );
      default:
        return new ApiError(500, error.message, "server_error", null);
    }
  }
  if (error instanceof HyperspaceError) return new ApiError(500, error.message, "server_error", null);
  throw error;
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: ApiError): void {
  if (response.headersSent) {
    // Mid-stream: report in the stream, as OpenAI does, and end it.
    response.end(`data: ${JSON.stringify({ error: bodyOf(error).error })}\n\n`);
    return;
  }
  sendJson(response, error.status, bodyOf(error), error.headers);
}

function bodyOf(error: ApiError) {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(request.headers["content-length"] ?? 0);
  if (declared > OPENAI_BODY_BYTES_MAX) {
    request.resume();
    throw new ApiError(
      413,
      `Request body over ${OPENAI_BODY_BYTES_MAX} bytes.`,
      "invalid_request_error",
      null,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > OPENAI_BODY_BYTES_MAX) {
      throw new ApiError(
        413,
        `Request body over ${OPENAI_BODY_BYTES_MAX} bytes.`,
        "invalid_request_error",
        null,
      );
    }
    chunks.push(chunk as Buffer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw invalid("We could not parse the JSON body of your request.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw invalid("The body must be a JSON object.");
  return parsed as Record<string, unknown>;
}

function bearer(request: IncomingMessage): string | null {
  const header = request.headers.authorization;
  if (typeof header !== "string" || !header.startsWith("Bearer ")) return null;
  return header.slice("Bearer ".length).trim();
}

/** The parameters both completion endpoints share, validated. */
interface Sampling {
  readonly model: string;
  readonly maxTokens: number;
  readonly temperature: number;
  readonly seed: number | undefined;
  readonly stream: boolean;
  readonly stop: readonly string[];
}

function integerField(
  body: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`'${name}' must be an integer from ${min} to ${max}.`, name);
  }
  return value;
}

function sampling(
  body: Record<string, unknown>,
  maxTokensDefault: number,
  maxTokensFields: readonly string[],
): Sampling {
  const model = body.model;
  if (typeof model !== "string" || model.length === 0)
    throw invalid("you must provide a model parameter", "model");
  let maxTokens: number | undefined;
  for (const field of maxTokensFields) maxTokens ??= integerField(body, field, 1, GENERATE_TOKENS_MAX);
  const temperature = body.temperature ?? 1;
  if (typeof temperature !== "number" || !(temperature >= 0 && temperature <= Math.min(2, TEMPERATURE_MAX))) {
    throw invalid("'temperature' must be a number from 0 to 2.", "temperature");
  }
  const n = integerField(body, "n", 1, 1_000_000);
  if (n !== undefined && n !== 1) throw invalid("Only n = 1 is supported.", "n");
  const stream = body.stream ?? false;
  if (typeof stream !== "boolean") throw invalid("'stream' must be a boolean.", "stream");
  const stopValue = body.stop ?? [];
  const stop = typeof stopValue === "string" ? [stopValue] : stopValue;
  if (
    !Array.isArray(stop) ||
    stop.length > STOP_SEQUENCES_MAX ||
    !stop.every((s) => typeof s === "string" && s.length > 0 && s.length <= STOP_SEQUENCE_CHARS_MAX)
  ) {
    throw invalid(`'stop' must be a string or up to ${STOP_SEQUENCES_MAX} strings.`, "stop");
  }
  return {
    model,
    maxTokens: maxTokens ?? maxTokensDefault,
    temperature,
    seed: integerField(body, "seed", 0, Number.MAX_SAFE_INTEGER),
    stream,
    stop: stop as string[],
  };
}

function completionPrompt(body: Record<string, unknown>): string {
  const prompt = body.prompt ?? "";
  if (typeof prompt === "string") return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === "string") return prompt[0];
  throw invalid("'prompt' must be a string (one prompt per request).", "prompt");
}

/**
 * Chat turns rendered as plain text for a text-completion model: one
 * "role: content" line per message, then "assistant: " for the reply.
 */
export function renderChat(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > CHAT_MESSAGES_MAX) {
    throw invalid(`'messages' must hold 1 to ${CHAT_MESSAGES_MAX} messages.`, "messages");
  }
  const lines = messages.map((message, i) => {
    const m = message as { role?: unknown; content?: unknown };
    if (typeof m !== "object" || m === null || typeof m.role !== "string") {
      throw invalid(`messages[${i}] needs a role.`, `messages[${i}]`);
    }
    let content: string;
    if (typeof m.content === "string") content = m.content;
    else if (Array.isArray(m.content)) {
      content = m.content
        .map((part: { type?: unknown; text?: unknown }) => {
          if (part?.type !== "text" || typeof part.text !== "string") {
            throw invalid(`messages[${i}].content: only text parts are supported.`, `messages[${i}].content`);
          }
          return part.text;
        })
        .join("");
    } else if (m.content === null || m.content === undefined) content = "";
    else throw invalid(`messages[${i}].content must be a string.`, `messages[${i}].content`);
    return `${m.role}: ${content}`;
  });
  return `${lines.join("\n")}\nassistant: `;
}

/** Cuts generated text at the first stop sequence; `stopped` says whether one was found. */
export function applyStop(text: string, stop: readonly string[]): { text: string; stopped: boolean } {
  let cut = -1;
  for (const s of stop) {
    const at = text.indexOf(s);
    if (at >= 0 && (cut < 0 || at < cut)) cut = at;
  }
  return cut < 0 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true };
}

function findModel(backend: CompletionBackend, model: string): BackendModel | null {
  const lower = model.toLowerCase();
  return backend.models().find((m) => m.name === model || m.hash === lower) ?? null;
}

export function createOpenAiHandler(
  options: OpenAiHandlerOptions,
): (request: IncomingMessage, response: ServerResponse) => Promise<boolean> {
  const clock = options.clock ?? Date.now;
  const now = () => Math.floor(clock() / 1000);

  const authenticate = (request: IncomingMessage): { key: ApiKeyEntry; backend: CompletionBackend } => {
    const key = options.keys.authenticate(bearer(request));
    const backend = options.backendFor(key.podId);
    if (backend === null) {
      throw new ApiError(503, `This node does not serve pod ${toHex(key.podId)}.`, "server_error", null);
    }
    return { key, backend };
  };

  const listModels = (key: ApiKeyEntry, backend: CompletionBackend) =>
    backend
      .models()
      .filter((m) => options.keys.allows(key, m.name, m.hash))
      .map((m) => ({
        id: m.name,
        object: "model" as const,
        created: 0,
        owned_by: `pod:${toHex(key.podId)}`,
        hyperspace: {
          sha256: m.hash,
          providers: m.providers,
          max_price_per_token: m.maxPricePerToken.toString(),
        },
      }));

  async function complete(request: IncomingMessage, response: ServerResponse, chat: boolean): Promise<void> {
    const { key, backend } = authenticate(request);
    const body = await readJson(request);
    const params = chat
      ? sampling(body, CHAT_MAX_TOKENS_DEFAULT, ["max_completion_tokens", "max_tokens"])
      : sampling(body, COMPLETIONS_MAX_TOKENS_DEFAULT, ["max_tokens"]);
    const prompt = chat ? renderChat(body.messages) : completionPrompt(body);
    const model = findModel(backend, params.model);
    if (model === null || !options.keys.allows(key, model.name, model.hash))
      throw modelNotFound(params.model);
    options.keys.takeRequest(key);
    const reservation: ApiKeyReservation = options.keys.reserve(
      key,
      BigInt(params.maxTokens) * model.maxPricePerToken,
    );
    const id = `${chat ? "chatcmpl" : "cmpl"}-${Buffer.from(randomBytes(12)).toString("hex")}`;
    const created = now();
    const abort = new AbortController();
    response.on("close", () => {
      if (!response.writableFinished) abort.abort();
    });
    let result: CompletionResult | null = null;
    const write = (data: string) => {
      if (!response.destroyed) response.write(data);
    };
    let sent = "";
    let stopped = false;
    const chunk = (delta: string | null, finish: string | null) =>
      chat
        ? {
            id,
            object: "chat.completion.chunk",
            created,
            model: model.name,
            choices: [
              {
                index: 0,
                delta:
                  delta === null
                    ? {}
                    : sent === "" && delta === ""
                      ? { role: "assistant", content: "" }
                      : { content: delta },
                logprobs: null,
                finish_reason: finish,
              },
            ],
          }
        : {
            id,
            object: "text_completion",
            created,
            model: model.name,
            choices: [{ text: delta ?? "", index: 0, logprobs: null, finish_reason: finish }],
          };
    try {
      let generated = "";
      if (params.stream) {
        response.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
          connection: "keep-alive",
        });
        if (chat) write(`data: ${JSON.stringify(chunk("", null))}\n\n`);
      }
      result = await backend.complete({
        prompt,
        maxTokens: params.maxTokens,
        model: model.hash,
        temperature: params.temperature,
        ...(params.seed === undefined ? {} : { seed: params.seed }),
        constraints: { maxPricePerToken: model.maxPricePerToken },
        signal: abort.signal,
        onToken: (token) => {
          if (stopped) return;
          generated += token.text;
          const cut = applyStop(generated, params.stop);
          if (cut.stopped) {
            stopped = true;
            abort.abort();
          }
          // Hold back text that may be the start of a stop sequence.
          const holdBack = cut.stopped ? 0 : Math.max(0, ...params.stop.map((s) => s.length - 1));
          const ready = cut.text.slice(0, Math.max(sent.length, cut.text.length - holdBack));
          if (params.stream && ready.length > sent.length) {
            write(`data: ${JSON.stringify(chunk(ready.slice(sent.length), null))}\n\n`);
          }
          if (ready.length > sent.length) sent = ready;
        },
      });
      const final = applyStop(result.text, params.stop);
      const text = final.text;
      const finish = final.stopped || stopped ? "stop" : "length";
      const usage = {
        prompt_tokens: Buffer.byteLength(prompt),
        completion_tokens: result.tokens,
        total_tokens: Buffer.byteLength(prompt) + result.tokens,
      };
      await reservation.settle({
        promptTokens: usage.prompt_tokens,
        completionTokens: result.tokens,
        cost: result.cost,
      });
      const hyperspace = {
        cost: result.cost.toString(),
        providers: result.legs.map((l) => ({
          peer_id: l.peerId,
          tokens: l.tokens,
          cost: l.cost.toString(),
          outcome: l.outcome,
        })),
      };
      if (params.stream) {
        if (text.length > sent.length)
          write(`data: ${JSON.stringify(chunk(text.slice(sent.length), null))}\n\n`);
        write(`data: ${JSON.stringify({ ...chunk(null, finish), usage, hyperspace })}\n\n`);
        if (!response.destroyed) response.end("data: [DONE]\n\n");
        return;
      }
      sendJson(
        response,
        200,
        chat
          ? {
              id,
              object: "chat.completion",
              created,
              model: model.name,
              choices: [
                {
                  index: 0,
                  message: { role: "assistant", content: text, refusal: null },
                  logprobs: null,
                  finish_reason: finish,
                },
              ],
              usage,
              hyperspace,
            }
          : {
              id,
              object: "text_completion",
              created,
              model: model.name,
              choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
              usage,
              hyperspace,
            },
      );
    } catch (error) {
      if (result === null) reservation.cancel();
      throw error;
    }
  }

  return async (request, response) => {
    // JSON-RPC posts to "/" far more often than anything else: no URL to parse for them.
    if (!request.url?.startsWith("/v1/")) return false;
    const url = new URL(request.url, "http://localhost");
    const path = url.pathname.replace(/\/+$/, "");
    if (!path.startsWith("/v1/")) return false;
    try {
      if (path === "/v1/models" || path.startsWith("/v1/models/")) {
        if (request.method !== "GET") throw new ApiError(405, "Use GET.", "invalid_request_error", null);
        const { key, backend } = authenticate(request);
        const models = listModels(key, backend);
        if (path === "/v1/models") {
          sendJson(response, 200, { object: "list", data: models });
        } else {
          const wanted = decodeURIComponent(path.slice("/v1/models/".length));
          const found = models.find((m) => m.id === wanted || m.hyperspace.sha256 === wanted.toLowerCase());
          if (found === undefined) throw modelNotFound(wanted);
          sendJson(response, 200, found);
        }
      } else if (path === "/v1/completions" || path === "/v1/chat/completions") {
        if (request.method !== "POST") throw new ApiError(405, "Use POST.", "invalid_request_error", null);
        await complete(request, response, path === "/v1/chat/completions");
      } else {
        throw new ApiError(
          404,
          `Unknown request URL: ${request.method} ${path}.`,
          "invalid_request_error",
          null,
        );
      }
    } catch (error) {
      sendError(response, apiErrorOf(error));
    }
    return true;
  };
}
