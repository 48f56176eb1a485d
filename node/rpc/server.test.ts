import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { HyperspaceError } from "../../spec/index.ts";
import { Metrics } from "../metrics.ts";
import { RPC_BODY_BYTES_MAX, RpcError, RpcErrorCode, RpcServer } from "./server.ts";

const TOKEN = "test-token";

async function call(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON-RPC replies
  const json: any = response.status === 200 ? await response.json() : null;
  return { status: response.status, json };
}

describe("RpcServer", () => {
  let server: RpcServer;
  let limited: RpcServer;
  let url: string;

  before(async () => {
    const methods = {
      echo: { handler: (params: unknown[]) => params },
      big: { handler: () => 10n ** 30n },
      typed: {
        handler: () => {
          throw new HyperspaceError("NOPE", "not allowed", {});
        },
      },
      invalid: {
        handler: () => {
          throw new RpcError(RpcErrorCode.InvalidParams, "bad address");
        },
      },
      crash: {
        handler: () => {
          throw new TypeError("bug");
        },
      },
      spend: { auth: true, handler: () => "spent" },
    };
    server = new RpcServer({ host: "127.0.0.1", port: 0, methods, authToken: TOKEN, topics: ["commits"] });
    url = await server.listen();
    limited = new RpcServer({
      host: "127.0.0.1",
      port: 0,
      methods,
      authToken: TOKEN,
      topics: [],
      ratePerSecond: 1,
      rateBurst: 3,
    });
    await limited.listen();
  });

  after(async () => {
    await server.close();
    await limited.close();
  });

  it("answers a call, encodes bigints as decimal strings, and answers batches in order", async () => {
    assert.deepEqual((await call(url, { jsonrpc: "2.0", id: 1, method: "echo", params: [1, "a"] })).json, {
      jsonrpc: "2.0",
      id: 1,
      result: [1, "a"],
    });
    assert.equal(
      (await call(url, { jsonrpc: "2.0", id: 2, method: "big" })).json.result,
      "1000000000000000000000000000000",
    );
    const batch = await call(url, [
      { jsonrpc: "2.0", id: "a", method: "echo", params: [1] },
      { jsonrpc: "2.0", id: "b", method: "missing" },
    ]);
    assert.equal(batch.json[0].id, "a");
    assert.equal(batch.json[1].error.code, RpcErrorCode.MethodNotFound);
  });

  it("maps every bad request to a JSON-RPC error, never a crash", async () => {
    assert.equal((await call(url, "{oops")).json.error.code, RpcErrorCode.ParseError);
    assert.equal((await call(url, { id: 1, method: "echo" })).json.error.code, RpcErrorCode.InvalidRequest);
    assert.equal(
      (await call(url, { jsonrpc: "2.0", id: 1, method: "echo", params: { a: 1 } })).json.error.code,
      RpcErrorCode.InvalidParams,
    );
    assert.equal(
      (await call(url, { jsonrpc: "2.0", id: 1, method: "__proto__" })).json.error.code,
      RpcErrorCode.MethodNotFound,
    );
    assert.equal(
      (await call(url, { jsonrpc: "2.0", id: 1, method: "invalid" })).json.error.code,
      RpcErrorCode.InvalidParams,
    );
    const typed = (await call(url, { jsonrpc: "2.0", id: 1, method: "typed" })).json.error;
    assert.equal(typed.code, RpcErrorCode.Rejected);
    assert.equal(typed.data.code, "NOPE");
    assert.equal(
      (await call(url, { jsonrpc: "2.0", id: 1, method: "crash" })).json.error.code,
      RpcErrorCode.InternalError,
    );
    assert.equal((await call(url, [])).json.error.code, RpcErrorCode.InvalidRequest);
    assert.equal((await call(url, "x".repeat(RPC_BODY_BYTES_MAX + 1))).status, 413);
    assert.equal(
      (await call(url, { jsonrpc: "2.0", method: "echo" })).status,
      204,
      "notifications get no reply",
    );
    // Still serving after all of that.
    assert.deepEqual(
      (await call(url, { jsonrpc: "2.0", id: 9, method: "echo", params: [] })).json.result,
      [],
    );
  });

  it("requires the bearer token for methods that spend", async () => {
    const request = { jsonrpc: "2.0", id: 1, method: "spend" };
    assert.equal((await call(url, request)).json.error.code, RpcErrorCode.Unauthorized);
    assert.equal(
      (await call(url, request, { authorization: "Bearer wrong-token" })).json.error.code,
      RpcErrorCode.Unauthorized,
    );
    assert.equal((await call(url, request, { authorization: `Bearer ${TOKEN}` })).json.result, "spent");
  });

  it("rate-limits each client", async () => {
    const results = [];
    for (let i = 0; i < 5; i++)
      results.push((await call(limited.url, { jsonrpc: "2.0", id: i, method: "echo" })).json);
    assert.ok(results.slice(0, 3).every((r) => "result" in r));
    assert.equal(results[4].error.code, RpcErrorCode.RateLimited);
  });

  it("delivers subscriptions over WebSocket and refuses unknown topics", async () => {
    const socket = new WebSocket(url.replace("http", "ws"));
    await new Promise((resolve) => socket.once("open", resolve));
    const messages: {
      id?: number;
      result?: unknown;
      error?: { code: number };
      params?: { result: unknown };
    }[] = [];
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "hs_subscribe", params: ["nope"] }));
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "hs_subscribe", params: ["commits"] }));
    const wait = async (n: number) => {
      while (messages.length < n) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await wait(2);
    assert.equal(messages.find((m) => m.id === 1)?.error?.code, RpcErrorCode.InvalidParams);
    assert.match(String(messages.find((m) => m.id === 2)?.result), /^0x/);
    server.publish("commits", { index: 7n });
    await wait(3);
    assert.deepEqual(messages[2]?.params?.result, { index: "7" });
    // A batch goes out corked, still one notification per payload, in order.
    server.publishAll("commits", [{ index: 8 }, { index: 9 }, { index: 10 }]);
    await wait(6);
    assert.deepEqual(
      messages.slice(3).map((m) => m.params?.result),
      [{ index: 8 }, { index: 9 }, { index: 10 }],
    );
    socket.close();
  });

  it("counts requests by method and outcome, unknown methods as other", async () => {
    const metrics = new Metrics();
    const counted = new RpcServer({
      host: "127.0.0.1",
      port: 0,
      methods: { echo: { handler: (params: unknown[]) => params } },
      authToken: TOKEN,
      topics: [],
      metrics,
    });
    const countedUrl = await counted.listen();
    try {
      const request = (id: number, method: string) => ({ jsonrpc: "2.0", id, method, params: [] });
      await call(countedUrl, [request(1, "echo"), request(2, "nope"), request(3, "echo")]);
      await call(countedUrl, request(4, "echo"));
      const values = (await metrics.rpcRequests.get()).values.map((v) => [
        v.labels.method,
        v.labels.outcome,
        v.value,
      ]);
      assert.deepEqual(values.sort(), [
        ["echo", "ok", 3],
        ["other", "error", 1],
      ]);
    } finally {
      await counted.close();
    }
  });
});
