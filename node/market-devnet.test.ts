/**
 * The inference market on a four-validator devnet: three validators serve
 * the shipped model as providers (declaring 4, 16 and 24 GB; the 24 GB one
 * dearer), the fourth creates a pod with all of them and buys inference
 * through it, over libp2p streams paid through payment channels. An
 * official `openai` client buys through the node's OpenAI-compatible
 * endpoint with an API key. Then, across the real processes: the router
 * prefers the provider it measured fastest (the other paces its tokens); a
 * client node whose inference budget funds fewer tokens than it asks for
 * gets exactly what its deposit pays for; and a provider killed with
 * SIGKILL mid-stream is replaced by another while the request completes,
 * each provider paid for the tokens it delivered.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import WebSocket from "ws";
import { parseAddress } from "../spec/index.ts";
import { TestDevnet, until } from "./test-devnet.ts";

const PROVIDERS = {
  v1: { vramGb: 4, price: 2n },
  v2: { vramGb: 16, price: 2n },
  v3: { vramGb: 24, price: 3n },
};
type ProviderName = keyof typeof PROVIDERS;
/**
 * A paced provider's rate in the latency test: its first token comes a second after it accepts, so three
 * requests put its latency profile (an EWMA weighing each new sample 0.2) near 500 ms whatever came before.
 */
const SLOW_TOKENS_PER_SECOND = 1;
/** The buyer node's inference budget: all its channels' deposits together. */
const BUYER_BUDGET = 20n;
/** The failover test's rate: 60 tokens take three seconds, so the kill lands mid-stream. */
const FAILOVER_TOKENS_PER_SECOND = 20;

interface Leg {
  peerId: string;
  tokens: number;
  pricePerToken: string;
  cost: string;
  outcome: string;
  timeToFirstTokenMs: number | null;
}

interface InferResult {
  text: string;
  tokens: number;
  cost: string;
  finishReason: string;
  providers: Leg[];
}

/** The cost the legs account for: each leg's tokens times its price. */
function legsCost(result: InferResult): bigint {
  return result.providers.reduce((sum, leg) => sum + BigInt(leg.tokens) * BigInt(leg.pricePerToken), 0n);
}

describe("inference market on a devnet", { timeout: 600_000 }, () => {
  let devnet: TestDevnet;
  let podId: string;
  const peerOf: Record<string, string> = {};

  before(async () => {
    devnet = await TestDevnet.create(4);
    await devnet.startAll(["v0", "v1", "v2", "v3"]);
    for (const name of ["v0", "v1", "v2", "v3"]) {
      const wallet = await devnet.client(name).call<{ address: string; peerId: string }>("hs_getWallet");
      peerOf[name] = wallet.peerId;
      const hash = await devnet.transferFromFaucet("v0", parseAddress(wallet.address), 50_000_000n);
      await devnet.client("v0").waitForReceipt(hash, 30_000);
    }
    for (const name of Object.keys(PROVIDERS) as ProviderName[]) {
      await until(`${name} to see its funding`, async () => {
        const wallet = await devnet.client(name).call<{ address: string }>("hs_getWallet");
        return (await devnet.client(name).getAccount(wallet.address)).balance > 0n;
      });
      await startProvider(name);
    }
    podId = (await devnet.client("v0").call<{ podId: string }>("hs_podCreate", [{ name: "team" }])).podId;
    await devnet
      .client("v0")
      .call("hs_podInvite", [{ pod: podId, peers: Object.keys(PROVIDERS).map((n) => peerOf[n]) }]);
    for (const name of Object.keys(PROVIDERS)) await devnet.client(name).call("hs_podJoin", [{ pod: podId }]);
    await until(
      "the pod to list every provider online with its memory",
      async () => {
        const status = await devnet
          .client("v0")
          .call<{ members: number; membersOnline: number; totalVramGb: number }>("hs_podStatus", [
            { pod: podId },
          ]);
        return status.members === 4 && status.totalVramGb >= 44;
      },
      60_000,
      250,
    );
  });

  after(async () => {
    await devnet?.close();
  });

  /** (Re)starts `name` as a provider at its price and memory; resolves once v0 has applied the registration. */
  async function startProvider(
    name: ProviderName,
    settings: { maxTokensPerSecond?: number; creditWindowTokens?: number } = {},
  ): Promise<void> {
    const { vramGb, price } = PROVIDERS[name];
    const started = await devnet
      .client(name)
      .call<{ txHash: string }>("hs_providerStart", [
        { price: price.toString(), device: "cpu", vramGb, ...settings },
      ]);
    await devnet.client("v0").waitForReceipt(started.txHash, 30_000);
  }

  /** A full node outside the committee with a small inference budget, started once (refused until it joins the pod). */
  async function startBuyer(): Promise<void> {
    if (devnet.children.has("buyer")) return;
    await devnet.addFullNode("buyer", { inferenceBudget: BUYER_BUDGET.toString() });
    await devnet.startAll(["buyer"]);
  }

  function infer(params: Record<string, unknown>, via = "v0"): Promise<InferResult> {
    return devnet
      .client(via)
      .call<InferResult>("hs_infer", [{ pod: podId, prompt: "In the beginning", ...params }]);
  }

  /** v0's latency profile of a peer: round trip plus time to first token, in ms. */
  async function expectedLatencyMs(peerId: string): Promise<number> {
    const members = await devnet.client("v0").call<{
      members: { peerId: string; latency: { roundTripMs: number; timeToFirstTokenMs: number } | null }[];
    }>("hs_podMembers", [{ pod: podId }]);
    const latency = members.members.find((m) => m.peerId === peerId)?.latency;
    assert.ok(latency, `v0 has measured ${peerId}`);
    return latency.roundTripMs + latency.timeToFirstTokenMs;
  }

  it("routes only to providers with enough memory, and the cost is the tokens received times the price", async () => {
    for (let i = 0; i < 3; i++) {
      const result = await infer({ maxTokens: 24, minVramGb: 8, seed: i });
      assert.equal(result.tokens, 24);
      assert.ok(result.text.length > 0);
      for (const leg of result.providers) {
        assert.notEqual(leg.peerId, peerOf.v1, "the 4 GB provider must never serve a request needing 8 GB");
        assert.ok([peerOf.v2, peerOf.v3].includes(leg.peerId));
        const name = leg.peerId === peerOf.v2 ? "v2" : "v3";
        assert.equal(BigInt(leg.pricePerToken), PROVIDERS[name].price);
      }
      assert.equal(
        result.providers.reduce((n, leg) => n + leg.tokens, 0),
        24,
      );
      assert.equal(BigInt(result.cost), legsCost(result));
    }
    await assert.rejects(
      devnet.client("v0").call("hs_infer", [{ pod: podId, prompt: "x", maxTokens: 4, minVramGb: 64 }]),
      "no member has 64 GB",
    );
  });

  it("refuses a node that is not a pod member", async () => {
    await assert.rejects(
      devnet.client("v3").call("hs_infer", [{ pod: "00".repeat(32), prompt: "x", maxTokens: 4 }]),
      "an unknown pod is refused",
    );
    await startBuyer();
    await assert.rejects(
      devnet.client("buyer").call("hs_infer", [{ pod: podId, prompt: "In the beginning", maxTokens: 4 }]),
      "a non-member is refused",
    );
  });

  it("serves the official openai client with an API key, and refuses a key past its rate limit or budget", async () => {
    const created = await devnet
      .client("v0")
      .call<{ key: string }>("hs_podKeysCreate", [{ pod: podId, budget: "200", ratePerMinute: 3 }]);
    const openai = new OpenAI({
      apiKey: created.key,
      baseURL: `${devnet.validator("v0").rpc}/v1`,
      maxRetries: 0,
    });
    const stream = await openai.chat.completions.create({
      model: "kjv-mlp",
      messages: [{ role: "user", content: "In the beginning" }],
      max_tokens: 16,
      stream: true,
    });
    let text = "";
    let chunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      chunks++;
    }
    assert.ok(chunks >= 2 && text.length > 0, `streamed ${chunks} chunks: ${JSON.stringify(text)}`);

    const plain = await openai.completions.create({
      model: "kjv-mlp",
      prompt: "And God said",
      max_tokens: 8,
    });
    assert.ok((plain.choices[0]?.text ?? "").length > 0);

    // The third request within the minute is the last the rate limit allows; the fourth is refused.
    await openai.completions.create({ model: "kjv-mlp", prompt: "Let there be", max_tokens: 4 });
    await assert.rejects(
      openai.completions.create({ model: "kjv-mlp", prompt: "light", max_tokens: 4 }),
      (error: unknown) => error instanceof OpenAI.APIError && error.status === 429,
    );

    const poor = await devnet
      .client("v0")
      .call<{ key: string }>("hs_podKeysCreate", [{ pod: podId, budget: "10" }]);
    const broke = new OpenAI({
      apiKey: poor.key,
      baseURL: `${devnet.validator("v0").rpc}/v1`,
      maxRetries: 0,
    });
    await assert.rejects(
      broke.completions.create({ model: "kjv-mlp", prompt: "In the beginning", max_tokens: 64 }),
      (error: unknown) => error instanceof OpenAI.APIError && (error.status === 429 || error.status === 402),
    );
    const bad = new OpenAI({
      apiKey: "sk-not-a-key",
      baseURL: `${devnet.validator("v0").rpc}/v1`,
      maxRetries: 0,
    });
    await assert.rejects(
      bad.models.list(),
      (error: unknown) => error instanceof OpenAI.APIError && error.status === 401,
    );
  });

  it("prefers the provider with the lowest measured latency: a paced provider is measured slower and passed over", async () => {
    // v2 paces its tokens; v3 serves at full speed and is dearer, so price cannot be why it wins.
    await startProvider("v2", { maxTokensPerSecond: SLOW_TOKENS_PER_SECOND });
    // Only v3 has 20 GB: v0 measures it. Several requests, so a slow first one (its channel just opened) weighs little.
    for (let i = 0; i < 6; i++) {
      const fast = await infer({ maxTokens: 1, minVramGb: 20, seed: i });
      assert.deepEqual(
        fast.providers.map((l) => l.peerId),
        [peerOf.v3],
      );
    }
    // At a price of 2 and 8 GB only v2 qualifies: v0 measures it.
    for (let i = 0; i < 3; i++) {
      const slow = await infer({ maxTokens: 1, minVramGb: 8, maxPricePerToken: "2", seed: i });
      assert.deepEqual(
        slow.providers.map((l) => l.peerId),
        [peerOf.v2],
      );
      const ttft = slow.providers[0]!.timeToFirstTokenMs;
      assert.ok(
        ttft !== null && ttft >= 1000 / SLOW_TOKENS_PER_SECOND - 1,
        `paced first token after ${ttft} ms`,
      );
    }
    const slowMs = await expectedLatencyMs(peerOf.v2!);
    const fastMs = await expectedLatencyMs(peerOf.v3!);
    assert.ok(fastMs < slowMs, `v3 measured ${fastMs} ms, v2 ${slowMs} ms`);
    // Both qualify for 8 GB: with latency "low" the router takes the one it measured faster, every time.
    for (let i = 0; i < 3; i++) {
      const result = await infer({ maxTokens: 8, minVramGb: 8, latency: "low", seed: i });
      assert.deepEqual(
        result.providers.map((l) => [l.peerId, l.outcome]),
        [[peerOf.v3, "length"]],
      );
      assert.equal(BigInt(result.cost), 8n * PROVIDERS.v3.price);
    }
  });

  it("stops serving a client node exactly where its inference budget's deposit runs out", async () => {
    // The buyer's budget of 20 at v3's price of 3 funds 6 tokens; the request asks for 64.
    await startBuyer();
    const buyer = await devnet.client("buyer").call<{ address: string; peerId: string }>("hs_getWallet");
    const funded = await devnet.transferFromFaucet("v0", parseAddress(buyer.address), 1_000_000n);
    await devnet.client("v0").waitForReceipt(funded, 30_000);
    await until("the buyer to see its funding", async () => {
      return (await devnet.client("buyer").getAccount(buyer.address)).balance > 0n;
    });
    await devnet.client("v0").call("hs_podInvite", [{ pod: podId, peers: [buyer.peerId] }]);
    await until("the buyer to join the pod", () =>
      devnet.client("buyer").call("hs_podJoin", [{ pod: podId }]),
    );
    const result = await infer({ maxTokens: 64, minVramGb: 20, partial: true }, "buyer");
    const funds = Number(BUYER_BUDGET / PROVIDERS.v3.price);
    // The provider never delivers a token the deposit cannot pay for, and stops at the first it cannot.
    assert.equal(result.finishReason, "budget");
    assert.equal(result.tokens, funds);
    assert.deepEqual(
      result.providers.map((l) => [l.peerId, l.tokens, l.outcome]),
      [[peerOf.v3, funds, "deposit"]],
    );
    assert.equal(BigInt(result.cost), BigInt(funds) * PROVIDERS.v3.price);
    // What is left (2) pays for no token: the next request is refused before any stream opens.
    await assert.rejects(infer({ maxTokens: 64, minVramGb: 20, partial: true }, "buyer"), /budget/);
  });

  it("fails over when the serving provider is killed mid-stream, and each is paid for what it delivered", async () => {
    // v3 (measured fastest) now paces at 20 tokens/s so a 60-token stream lasts three seconds, and extends
    // only 8 tokens of credit, so it goes on only as v0's vouchers (every 4 tokens) reach it; v2 is fast again.
    await startProvider("v3", { maxTokensPerSecond: FAILOVER_TOKENS_PER_SECOND, creditWindowTokens: 8 });
    await startProvider("v2");
    const status = await devnet.client("v3").call<{ creditWindowTokens: number }>("hs_providerStatus");
    assert.equal(status.creditWindowTokens, 8);
    const v0 = devnet.validator("v0");
    const socket = new WebSocket(v0.rpc.replace(/^http/, "ws"), {
      headers: { authorization: `Bearer ${readFileSync(join(v0.dataDir, "rpc.token"), "utf8").trim()}` },
    });
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const requestId = "failover";
    const relayed: { index: number; text: string; peerId: string }[] = [];
    let killedAt: number | null = null;
    const reply = new Promise<{ result?: InferResult; error?: { message: string } }>((resolve) => {
      socket.on("message", (data) => {
        const message = JSON.parse(String(data));
        if (message.method === "hs_subscription") {
          const token = message.params.result;
          if (token.requestId !== requestId) return;
          relayed.push(token);
          // Kill the serving provider after its fifth token, while it is guaranteed to be mid-stream.
          if (killedAt === null && token.peerId === peerOf.v3 && relayed.length >= 5) {
            killedAt = relayed.length;
            devnet.kill("v3");
          }
        } else if (message.id === 1) {
          socket.send(
            JSON.stringify({
              jsonrpc: "2.0",
              id: 2,
              method: "hs_infer",
              params: [
                {
                  pod: podId,
                  prompt: "In the beginning",
                  maxTokens: 60,
                  minVramGb: 8,
                  latency: "low",
                  requestId,
                },
              ],
            }),
          );
        } else if (message.id === 2) {
          resolve(message);
        }
      });
    });
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "hs_subscribe", params: ["market.infer"] }));
    const answer = await reply;
    socket.close();
    assert.ok(answer.result, `hs_infer failed: ${answer.error?.message}`);
    const result = answer.result;
    assert.ok(killedAt !== null, "v3 served first and was killed mid-stream");
    assert.equal(result.tokens, 60);
    assert.equal(relayed.length, 60);
    assert.equal(relayed.map((t) => t.text).join(""), result.text);
    const [first, ...rest] = result.providers;
    assert.equal(first!.peerId, peerOf.v3);
    assert.equal(first!.outcome, "failed");
    assert.ok(first!.tokens >= killedAt && first!.tokens < 60, `v3 delivered ${first!.tokens}`);
    assert.equal(rest.at(-1)!.peerId, peerOf.v2);
    assert.equal(rest.at(-1)!.outcome, "length");
    assert.equal(
      result.providers.reduce((n, l) => n + l.tokens, 0),
      60,
    );
    // Each leg costs its tokens times its provider's price, and the request costs the sum.
    for (const leg of result.providers)
      assert.equal(BigInt(leg.cost), BigInt(leg.tokens) * BigInt(leg.pricePerToken));
    assert.equal(BigInt(result.cost), legsCost(result));
    assert.equal(
      BigInt(result.cost),
      BigInt(first!.tokens) * PROVIDERS.v3.price + BigInt(60 - first!.tokens) * PROVIDERS.v2.price,
    );
  });
});
