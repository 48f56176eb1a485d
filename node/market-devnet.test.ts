/**
 * The inference market on a four-validator devnet: three validators serve
 * the shipped model as providers (declaring 4, 16 and 24 GB), the fourth
 * creates a pod with all of them and buys inference through it, over libp2p
 * streams paid through payment channels. An official `openai` client buys
 * through the node's OpenAI-compatible endpoint with an API key.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { parseAddress } from "../spec/index.ts";
import { TestDevnet, until } from "./test-devnet.ts";

const PROVIDERS = { v1: 4, v2: 16, v3: 24 } as const;
const PRICE = 2n;

interface InferResult {
  text: string;
  tokens: number;
  cost: string;
  providers: { peerId: string; tokens: number; cost: string; outcome: string }[];
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
    for (const [name, vramGb] of Object.entries(PROVIDERS)) {
      await until(`${name} to see its funding`, async () => {
        const wallet = await devnet.client(name).call<{ address: string }>("hs_getWallet");
        return (await devnet.client(name).getAccount(wallet.address)).balance > 0n;
      });
      await devnet
        .client(name)
        .call("hs_providerStart", [{ price: PRICE.toString(), device: "cpu", vramGb }]);
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

  it("routes only to providers with enough memory, and the cost is the tokens received times the price", async () => {
    for (let i = 0; i < 3; i++) {
      const result = await devnet
        .client("v0")
        .call<InferResult>("hs_infer", [
          { pod: podId, prompt: "In the beginning", maxTokens: 24, minVramGb: 8, seed: i },
        ]);
      assert.equal(result.tokens, 24);
      assert.ok(result.text.length > 0);
      for (const leg of result.providers) {
        assert.notEqual(leg.peerId, peerOf.v1, "the 4 GB provider must never serve a request needing 8 GB");
        assert.ok([peerOf.v2, peerOf.v3].includes(leg.peerId));
      }
      assert.equal(BigInt(result.cost), BigInt(result.tokens) * PRICE);
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
    await devnet.addFullNode("outsider");
    await devnet.startAll(["outsider"]);
    await assert.rejects(
      devnet.client("outsider").call("hs_infer", [{ pod: podId, prompt: "In the beginning", maxTokens: 4 }]),
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
});
