/**
 * The OpenAI-compatible endpoints over a real HTTP server, against a pod of
 * the in-process market (real ledger, real ProviderService with the shipped
 * model, real channels). The `openai` npm client is not installed in this
 * repository, so the requests are what it sends, made with fetch.
 * (The market fixture is imported from its file: it is test code, not API.)
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { type LanguageModel, loadModel, SHIPPED_MODEL_PATH } from "../compute/index.ts";
import { MemoryStore } from "../ledger/index.ts";
import { ApiKeyStore, podBackend } from "../market/index.ts";
import { InferenceHarness } from "../market/inference-fixtures.ts";
import { bytesEqual } from "../spec/index.ts";
import { applyStop, createOpenAiHandler, renderChat } from "./openai.ts";

let model: LanguageModel;
let harness: InferenceHarness;
let keys: ApiKeyStore;
let keyStore: MemoryStore;
let server: Server;
let base: string;
let clockMs = 1_000_000;
const PRICE = 2n;

before(async () => {
  model = await loadModel(SHIPPED_MODEL_PATH, { threads: 1 });
  harness = await InferenceHarness.create(model, [{ who: 1, pricePerToken: PRICE }]);
  keyStore = new MemoryStore();
  keys = await ApiKeyStore.open(keyStore, () => clockMs);
  const backend = podBackend(harness.pod, harness.router);
  const handler = createOpenAiHandler({
    keys,
    backendFor: (podId) => (bytesEqual(podId, harness.pod.id) ? backend : null),
    clock: () => clockMs,
  });
  server = createServer((request, response) => {
    void handler(request, response).then((handled) => {
      if (!handled) response.writeHead(404).end("not mine");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await model.close();
});

async function newKey(
  limits: { budget?: bigint; ratePerMinute?: number; models?: string[]; podId?: Uint8Array } = {},
) {
  return (
    await keys.create({
      podId: limits.podId ?? harness.pod.id,
      budget: limits.budget ?? 1_000_000n,
      ...limits,
    })
  ).key;
}

function post(path: string, key: string | null, body: unknown): Promise<Response> {
  return fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function expectError(
  response: Response,
  status: number,
  type: string,
  errorCode: string | null,
): Promise<void> {
  assert.equal(response.status, status);
  const body = (await response.json()) as { error: { message: string; type: string; code: string | null } };
  assert.equal(body.error.type, type);
  assert.equal(body.error.code, errorCode);
  assert.equal(typeof body.error.message, "string");
}

/** Reads an SSE body into its data payloads. */
async function events(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => block.slice("data: ".length));
}

describe("OpenAI-compatible API", () => {
  it("refuses requests without a valid key with 401 invalid_api_key", async () => {
    await expectError(await fetch(`${base}/v1/models`), 401, "invalid_request_error", "invalid_api_key");
    await expectError(
      await post("/v1/completions", "hs-nope", { model: "kjv-mlp", prompt: "x" }),
      401,
      "invalid_request_error",
      "invalid_api_key",
    );
    const key = await newKey();
    await keys.revoke(keys.authenticate(key).id);
    await expectError(
      await post("/v1/completions", key, { model: "kjv-mlp", prompt: "x" }),
      401,
      "invalid_request_error",
      "invalid_api_key",
    );
    assert.equal((await fetch(`${base}/other`)).status, 404);
  });

  it("lists the pod's models, filtered by the key's allowlist", async () => {
    const key = await newKey();
    const response = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(response.status, 200);
    const list = (await response.json()) as {
      object: string;
      data: { id: string; object: string; owned_by: string }[];
    };
    assert.equal(list.object, "list");
    assert.deepEqual(
      list.data.map((m) => [m.id, m.object]),
      [["kjv-mlp", "model"]],
    );
    const one = await fetch(`${base}/v1/models/kjv-mlp`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(((await one.json()) as { id: string }).id, "kjv-mlp");
    const restricted = await newKey({ models: ["other-model"] });
    const none = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${restricted}` } });
    assert.deepEqual(((await none.json()) as { data: unknown[] }).data, []);
    await expectError(
      await post("/v1/completions", restricted, { model: "kjv-mlp", prompt: "x" }),
      404,
      "invalid_request_error",
      "model_not_found",
    );
    await expectError(
      await post("/v1/completions", key, { model: "gpt-4o", prompt: "x" }),
      404,
      "invalid_request_error",
      "model_not_found",
    );
  });

  it("serves /v1/completions, non-streaming and streaming alike, and records the key's usage", async () => {
    const key = await newKey();
    const request = { model: "kjv-mlp", prompt: "In the beginning God ", max_tokens: 30, temperature: 0 };
    const response = await post("/v1/completions", key, request);
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      object: string;
      model: string;
      choices: { text: string; finish_reason: string; index: number }[];
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
      hyperspace: { cost: string };
    };
    assert.equal(body.object, "text_completion");
    assert.equal(body.model, "kjv-mlp");
    assert.equal(body.choices[0]!.finish_reason, "length");
    assert.equal(body.usage.completion_tokens, 30);
    assert.equal(body.usage.prompt_tokens, Buffer.byteLength(request.prompt));
    assert.equal(body.hyperspace.cost, String(30n * PRICE));
    let local = "";
    for await (const t of model.generate({ prompt: request.prompt, maxTokens: 30, temperature: 0 }))
      local += t.text;
    assert.equal(body.choices[0]!.text, local);

    const streamed = await post("/v1/completions", key, { ...request, stream: true });
    assert.equal(streamed.status, 200);
    assert.match(streamed.headers.get("content-type") ?? "", /text\/event-stream/);
    const payloads = await events(streamed);
    assert.equal(payloads.at(-1), "[DONE]");
    const chunks = payloads
      .slice(0, -1)
      .map(
        (p) => JSON.parse(p) as { object: string; choices: { text: string; finish_reason: string | null }[] },
      );
    assert.ok(chunks.length > 2, "the text arrives in pieces");
    assert.ok(chunks.every((c) => c.object === "text_completion"));
    assert.equal(chunks.map((c) => c.choices[0]!.text).join(""), local);
    assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, "length");

    const usage = keys.authenticate(key).usage;
    assert.equal(usage.requests, 2);
    assert.equal(usage.completionTokens, 60);
    assert.equal(usage.cost, 60n * PRICE);
    await keys.flush();
    const reopened = await ApiKeyStore.open(keyStore);
    assert.equal(reopened.authenticate(key).usage.cost, 60n * PRICE);
  });

  it("serves /v1/chat/completions, with stop sequences, streaming and not", async () => {
    const key = await newKey();
    const messages = [
      { role: "system", content: "You speak like the King James Bible." },
      { role: "user", content: "Tell me of Moses." },
    ];
    const response = await post("/v1/chat/completions", key, {
      model: "kjv-mlp",
      messages,
      max_tokens: 40,
      temperature: 0,
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      object: string;
      choices: { message: { role: string; content: string }; finish_reason: string }[];
    };
    assert.equal(body.object, "chat.completion");
    assert.equal(body.choices[0]!.message.role, "assistant");
    const text = body.choices[0]!.message.content;
    assert.equal(text.length > 0, true);

    const streamed = await post("/v1/chat/completions", key, {
      model: "kjv-mlp",
      messages,
      max_tokens: 40,
      temperature: 0,
      stream: true,
    });
    const payloads = await events(streamed);
    assert.equal(payloads.at(-1), "[DONE]");
    const chunks = payloads.slice(0, -1).map(
      (p) =>
        JSON.parse(p) as {
          object: string;
          choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[];
        },
    );
    assert.equal(chunks[0]!.choices[0]!.delta.role, "assistant");
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.equal(chunks.map((c) => c.choices[0]!.delta.content ?? "").join(""), text);

    // A stop sequence cuts the text and ends the request early (paying only for what came).
    const stop = text.slice(5, 7);
    const stopped = await post("/v1/chat/completions", key, {
      model: "kjv-mlp",
      messages,
      max_tokens: 40,
      temperature: 0,
      stop,
    });
    const stoppedBody = (await stopped.json()) as {
      choices: { message: { content: string }; finish_reason: string }[];
    };
    assert.equal(stoppedBody.choices[0]!.finish_reason, "stop");
    assert.equal(stoppedBody.choices[0]!.message.content, applyStop(text, [stop]).text);
  });

  it("refuses past the rate limit with 429 rate_limit_exceeded and a retry-after", async () => {
    const key = await newKey({ ratePerMinute: 2 });
    const request = { model: "kjv-mlp", prompt: "x", max_tokens: 1 };
    assert.equal((await post("/v1/completions", key, request)).status, 200);
    assert.equal((await post("/v1/completions", key, request)).status, 200);
    const limited = await post("/v1/completions", key, request);
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    await expectError(limited, 429, "requests", "rate_limit_exceeded");
    clockMs += 60_000;
    assert.equal((await post("/v1/completions", key, request)).status, 200);
  });

  it("refuses past the key's budget with 429 insufficient_quota", async () => {
    const key = await newKey({ budget: 10n * PRICE });
    await expectError(
      await post("/v1/completions", key, { model: "kjv-mlp", prompt: "x", max_tokens: 11 }),
      429,
      "insufficient_quota",
      "insufficient_quota",
    );
    assert.equal(
      (await post("/v1/completions", key, { model: "kjv-mlp", prompt: "x", max_tokens: 10 })).status,
      200,
    );
    await expectError(
      await post("/v1/completions", key, { model: "kjv-mlp", prompt: "x", max_tokens: 1 }),
      429,
      "insufficient_quota",
      "insufficient_quota",
    );
    assert.equal(keys.authenticate(key).usage.cost, 10n * PRICE);
  });

  it("refuses malformed requests with 400 invalid_request_error", async () => {
    const key = await newKey();
    for (const body of [
      "{not json",
      { prompt: "x" },
      { model: "kjv-mlp", prompt: "x", n: 2 },
      { model: "kjv-mlp", prompt: "x", max_tokens: 0 },
      { model: "kjv-mlp", prompt: "x", max_tokens: 10_000 },
      { model: "kjv-mlp", prompt: "x", temperature: 3 },
      { model: "kjv-mlp", prompt: ["a", "b"] },
      { model: "kjv-mlp", prompt: "x", stream: "yes" },
    ]) {
      await expectError(await post("/v1/completions", key, body), 400, "invalid_request_error", null);
    }
    await expectError(
      await post("/v1/chat/completions", key, { model: "kjv-mlp", messages: [] }),
      400,
      "invalid_request_error",
      null,
    );
    assert.equal(
      (await fetch(`${base}/v1/completions`, { headers: { authorization: `Bearer ${key}` } })).status,
      405,
    );
  });

  it("renders chat turns for a text model and cuts at the earliest stop", () => {
    assert.equal(renderChat([{ role: "user", content: "hi" }]), "user: hi\nassistant: ");
    assert.deepEqual(applyStop("abcdef", ["de", "c"]), { text: "ab", stopped: true });
    assert.deepEqual(applyStop("abc", ["x"]), { text: "abc", stopped: false });
  });
});
