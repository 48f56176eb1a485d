import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { type LanguageModel, loadModel, SHIPPED_MODEL_PATH } from "../compute/index.ts";
import { MarketError } from "./errors.ts";
import { decodeProviderFrame, encodeClientFrame, type ProviderFrame } from "./frames.ts";
import { faulty, InferenceHarness } from "./inference-fixtures.ts";
import { ProviderService, type ProviderServiceOptions } from "./provider.ts";
import { ACTORS, runSeed } from "./test-fixtures.ts";
import { createFramePipe } from "./transport.ts";

const seed = runSeed("market router.test");
let model: LanguageModel;
before(async () => {
  model = await loadModel(SHIPPED_MODEL_PATH, { threads: 1 });
});
after(async () => {
  await model.close();
});

const PROMPT = "In the beginning God created ";

describe("InferenceRouter", () => {
  it("completes on the best provider, pays tokens times price, and reuses the channel", async () => {
    const harness = await InferenceHarness.create(model, [
      { who: 1, pricePerToken: 5n },
      { who: 2, pricePerToken: 3n },
    ]);
    const streamed: string[] = [];
    const result = await harness.router.complete({
      prompt: PROMPT,
      maxTokens: 40,
      temperature: 0,
      onToken: (t) => streamed.push(t.text),
    });
    assert.equal(result.tokens, 40);
    assert.equal(result.finishReason, "length");
    assert.equal(streamed.join(""), result.text);
    // Unmeasured providers tie on latency; "any" weighs price, so the cheaper one serves.
    assert.equal(result.legs.length, 1);
    assert.equal(result.legs[0]!.peerId, ACTORS[2]!.peerId);
    assert.equal(result.cost, 40n * 3n);
    assert.equal(await harness.paidTo(2), 40n * 3n);
    assert.equal(harness.payers.spent, 40n * 3n);
    assert.equal(harness.spend.get(harness.pod.id), 40n * 3n);
    // The same text as the model generates locally with the same settings.
    let local = "";
    for await (const token of model.generate({ prompt: PROMPT, maxTokens: 40, temperature: 0 }))
      local += token.text;
    assert.equal(result.text, local);

    const channelsBefore = harness.payers.list().length;
    const second = await harness.router.complete({
      prompt: "And Moses said ",
      maxTokens: 10,
      temperature: 0,
    });
    assert.equal(second.cost, 30n);
    assert.equal(harness.payers.list().length, channelsBefore, "the open channel is reused");
    assert.equal(await harness.paidTo(2), 150n);
    assert.ok(harness.latency.get(ACTORS[2]!.peerId)!.samples >= 2);
  });

  it("honours constraints: VRAM, price, model; refuses when nothing fits", async () => {
    const harness = await InferenceHarness.create(model, [
      { who: 1, pricePerToken: 1n, device: "cpu" },
      { who: 2, pricePerToken: 2n, device: "cuda", vramMib: 8 * 1024 },
      { who: 3, pricePerToken: 9n, device: "cuda", vramMib: 24 * 1024 },
    ]);
    const vram16 = await harness.router.complete({
      prompt: PROMPT,
      maxTokens: 5,
      constraints: { minVramGb: 16 },
    });
    assert.equal(vram16.legs[0]!.peerId, ACTORS[3]!.peerId);
    // Provider 3 is now measured (fast) and 2 is not: either may serve 8 GiB, the cpu provider never.
    const vram8 = await harness.router.complete({
      prompt: PROMPT,
      maxTokens: 5,
      constraints: { minVramGb: 8 },
    });
    assert.ok([ACTORS[2]!.peerId, ACTORS[3]!.peerId].includes(vram8.legs[0]!.peerId));
    const cheap = await harness.router.complete({
      prompt: PROMPT,
      maxTokens: 5,
      constraints: { maxPricePerToken: 1n },
    });
    assert.equal(cheap.legs[0]!.peerId, ACTORS[1]!.peerId);
    await assert.rejects(
      harness.router.complete({
        prompt: PROMPT,
        maxTokens: 5,
        constraints: { minVramGb: 16, maxPricePerToken: 8n },
      }),
      (e: unknown) => e instanceof MarketError && e.code === "NO_PROVIDER",
    );
    await assert.rejects(
      harness.router.complete({ prompt: PROMPT, maxTokens: 5, model: "no-such-model" }),
      (e: unknown) => e instanceof MarketError && e.code === "NO_PROVIDER",
    );
    const byName = await harness.router.complete({ prompt: PROMPT, maxTokens: 3, model: "kjv-mlp" });
    assert.equal(byName.model.name, "kjv-mlp");
    await assert.rejects(
      harness.router.complete({ prompt: PROMPT, maxTokens: 0 }),
      (e: unknown) => e instanceof MarketError && e.code === "BAD_REQUEST",
    );
  });

  it("fails over when a provider crashes or stalls mid-stream, and pays each for what it sent", async () => {
    let harness: InferenceHarness | null = null;
    const crashAfter = 7;
    const stallAfter = 5;
    harness = await InferenceHarness.create(
      model,
      [
        {
          who: 1,
          pricePerToken: 1n,
          wrap: (g) => faulty(g, crashAfter, "crash", () => harness?.transport.kill(ACTORS[1]!.peerId)),
        },
        { who: 2, pricePerToken: 2n, wrap: (g) => faulty(g, stallAfter, "stall") },
        { who: 3, pricePerToken: 4n },
      ],
      { router: { stallTimeoutMs: 150 } },
    );
    const result = await harness.router.complete({ prompt: PROMPT, maxTokens: 30, temperature: 0 });
    assert.equal(result.tokens, 30);
    // The crashed provider's tokens still waiting for their frame die with it: the client got (and pays for) the rest.
    const crashed = result.legs[0]!.tokens;
    assert.ok(crashed >= 1 && crashed <= crashAfter, `${crashed} tokens before the crash`);
    assert.deepEqual(
      result.legs.map((l) => [l.peerId, l.tokens, l.outcome]),
      [
        [ACTORS[1]!.peerId, crashed, "failed"],
        // A stalled provider's waiting tokens go out when its frame's time is up.
        [ACTORS[2]!.peerId, stallAfter, "failed"],
        [ACTORS[3]!.peerId, 30 - crashed - stallAfter, "length"],
      ],
    );
    assert.equal(
      result.cost,
      BigInt(crashed) * 1n + BigInt(stallAfter) * 2n + BigInt(30 - crashed - stallAfter) * 4n,
    );
    assert.equal(harness.payers.spent, result.cost, "vouchers signed cover exactly the tokens received");
    // The live providers hold vouchers for every token they delivered.
    assert.equal(await harness.paidTo(3), BigInt(30 - crashed - stallAfter) * 4n);
    assert.ok(harness.latency.get(ACTORS[1]!.peerId)!.failures === 1);
  });

  it("failover cost equals tokens received times price, wherever the providers fail (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            after: fc.nat({ max: 12 }),
            how: fc.constantFrom("crash" as const, "stall" as const),
            price: fc.bigInt({ min: 0n, max: 50n }),
          }),
          {
            minLength: 1,
            maxLength: 2,
          },
        ),
        fc.bigInt({ min: 1n, max: 50n }),
        fc.integer({ min: 1, max: 24 }),
        async (faults, lastPrice, maxTokens) => {
          let harness: InferenceHarness | null = null;
          harness = await InferenceHarness.create(
            model,
            [
              ...faults.map((f, i) => ({
                who: i + 1,
                pricePerToken: f.price,
                wrap: (g: Parameters<typeof faulty>[0]) =>
                  faulty(
                    g,
                    f.after,
                    f.how,
                    () => f.how === "crash" && harness?.transport.kill(ACTORS[i + 1]!.peerId),
                  ),
              })),
              { who: 3, pricePerToken: lastPrice + 100n },
            ],
            { router: { stallTimeoutMs: 100, voucherIntervalTokens: 4 } },
          );
          const result = await harness.router.complete({ prompt: PROMPT, maxTokens, temperature: 0 });
          assert.equal(result.tokens, maxTokens);
          const expected = result.legs.reduce((sum, leg) => sum + BigInt(leg.tokens) * leg.pricePerToken, 0n);
          assert.equal(result.cost, expected);
          assert.equal(harness.payers.spent, expected);
          assert.equal(
            result.legs.reduce((n, l) => n + l.tokens, 0),
            maxTokens,
          );
          for (const leg of result.legs.slice(0, -1)) assert.notEqual(leg.outcome, "length");
        },
      ),
      { seed, numRuns: 12 },
    );
  });

  it("refuses BUDGET_EXHAUSTED when the budget cannot cover the request", async () => {
    const harness = await InferenceHarness.create(model, [{ who: 1, pricePerToken: 10n }], { budget: 50n });
    await assert.rejects(
      harness.router.complete({ prompt: PROMPT, maxTokens: 6 }),
      (e: unknown) => e instanceof MarketError && e.code === "BUDGET_EXHAUSTED",
    );
    const ok = await harness.router.complete({ prompt: PROMPT, maxTokens: 5 });
    assert.equal(ok.cost, 50n);
  });

  it("runs a partial request on what the budget funds: the provider stops at the deposit", async () => {
    const harness = await InferenceHarness.create(
      model,
      [
        { who: 1, pricePerToken: 10n },
        { who: 2, pricePerToken: 10n },
      ],
      { budget: 55n },
    );
    const result = await harness.router.complete({ prompt: PROMPT, maxTokens: 8, partial: true });
    // The channel holds the whole budget (55): 5 tokens at 10; the sixth is computed, never delivered.
    assert.equal(result.finishReason, "budget");
    assert.equal(result.tokens, 5);
    assert.equal(result.cost, 50n);
    assert.equal(result.legs.length, 1, "no failover once the budget is spent");
    assert.equal(result.legs[0]!.outcome, "deposit");
    assert.equal(harness.payers.spent, 50n);
    assert.equal((await harness.paidTo(1)) + (await harness.paidTo(2)), 50n);
    // Nothing is left for one more token: refused before any stream opens.
    await assert.rejects(
      harness.router.complete({ prompt: PROMPT, maxTokens: 8, partial: true }),
      (e: unknown) => e instanceof MarketError && e.code === "BUDGET_EXHAUSTED",
    );
  });

  it("a provider paced to N tokens per second sends token i no earlier than (i + 1) / N s after accepting", async () => {
    const harness = await InferenceHarness.create(model, [
      { who: 1, pricePerToken: 1n, service: { tokensPerSecondMax: 100 } },
    ]);
    const arrivals: number[] = [];
    const started = performance.now();
    const result = await harness.router.complete({
      prompt: PROMPT,
      maxTokens: 5,
      onToken: () => arrivals.push(performance.now() - started),
    });
    assert.equal(result.tokens, 5);
    // Timers may fire up to a millisecond early against performance.now(): that is the only slack.
    for (const [i, at] of arrivals.entries()) assert.ok(at >= (i + 1) * 10 - 1, `token ${i} at ${at} ms`);
    assert.ok(result.legs[0]!.timeToFirstTokenMs! >= 9);
    assert.throws(
      () =>
        new ProviderService({
          ...({} as ProviderServiceOptions),
          tokensPerSecondMax: 0,
        }),
      (e: unknown) => e instanceof MarketError && e.code === "BAD_REQUEST",
    );
  });

  it("opens a channel with room for more requests, reuses it, and tops it up within the budget", async () => {
    const harness = await InferenceHarness.create(model, [{ who: 1, pricePerToken: 10n }], { budget: 1000n });
    await harness.router.complete({ prompt: PROMPT, maxTokens: 5 });
    assert.equal(harness.payers.list().length, 1);
    // 5 tokens at 10 need 50; the channel is opened with room for 16 such requests.
    assert.equal(harness.payers.list()[0]!.record.deposit, 800n);
    await harness.router.complete({ prompt: PROMPT, maxTokens: 20 });
    assert.equal(harness.payers.list().length, 1);
    // 70 tokens need 700, more than the 550 left: the channel is topped up with the rest of the budget.
    const result = await harness.router.complete({ prompt: PROMPT, maxTokens: 70 });
    assert.equal(result.tokens, 70);
    assert.equal(harness.payers.list().length, 1);
    assert.equal(harness.payers.list()[0]!.record.deposit, 1000n);
    assert.equal(harness.payers.committed, 1000n);
    assert.equal(harness.payers.spent, (5n + 20n + 70n) * 10n);
    await assert.rejects(
      harness.router.complete({ prompt: PROMPT, maxTokens: 9 }),
      (e: unknown) => e instanceof MarketError && e.code === "BUDGET_EXHAUSTED",
    );
  });

  it("stops the stream when the client cancels, and charges only what arrived", async () => {
    const harness = await InferenceHarness.create(model, [{ who: 1, pricePerToken: 2n }]);
    const abort = new AbortController();
    let seen = 0;
    const result = await harness.router.complete({
      prompt: PROMPT,
      maxTokens: 2000,
      signal: abort.signal,
      onToken: () => {
        if (++seen === 25) abort.abort();
      },
    });
    assert.equal(result.finishReason, "cancelled");
    assert.ok(result.tokens >= 25 && result.tokens < 2000);
    assert.equal(result.cost, BigInt(result.tokens) * 2n);
    assert.equal(harness.payers.spent, result.cost);
  });
});

function tokensIn(frame: ProviderFrame): number {
  return frame.type === "tokens" ? frame.ids.length : frame.type === "token" ? 1 : 0;
}

function tokenCount(frames: readonly ProviderFrame[]): number {
  return frames.reduce((n, frame) => n + tokensIn(frame), 0);
}

describe("ProviderService", () => {
  async function rawRequest(
    harness: InferenceHarness,
    who: number,
    pay: boolean,
    fromPeer = ACTORS[0]!.peerId,
  ) {
    const lease = await harness.payers.lease(ACTORS[who]!.address, ACTORS[who]!.peerId, 1000n);
    const [client, provider] = createFramePipe();
    const service = harness.services.get(ACTORS[who]!.peerId)!;
    const serving = service.handleStream(fromPeer, provider);
    client.send(
      encodeClientFrame({
        type: "request",
        requestId: new Uint8Array(16),
        podId: harness.pod.id,
        model: service.models[0]!.hash,
        prompt: PROMPT,
        maxTokens: 200,
        temperatureMilli: 0,
        topK: 0,
        seed: 0,
        channelId: lease.channel.channelId,
        maxPricePerToken: 100n,
      }),
    );
    const frames: ProviderFrame[] = [];
    for await (const bytes of client.frames) {
      const frame = decodeProviderFrame(bytes);
      frames.push(frame);
      if (pay && tokensIn(frame) > 0) {
        const voucher = await lease.channel.payUpTo(lease.channel.spent + BigInt(tokensIn(frame)));
        client.send(encodeClientFrame({ type: "pay", voucher }));
      }
    }
    await serving;
    lease.release();
    return frames;
  }

  it("stops within one token of its credit window when the client does not pay", async () => {
    const harness = await InferenceHarness.create(model, [
      { who: 1, pricePerToken: 1n, service: { creditWindowTokens: 8, paymentWaitMs: 100 } },
    ]);
    const frames = await rawRequest(harness, 1, false);
    assert.equal(frames[0]!.type, "accepted");
    assert.equal(tokenCount(frames), 8);
    assert.deepEqual(frames.at(-1), { type: "done", tokens: 8, reason: "unpaid" });
    // A client that pays for each token gets all it asked for.
    const paid = await rawRequest(harness, 1, true);
    assert.equal(tokenCount(paid), 200);
    assert.equal(paid.at(-1)!.type, "done");
  });

  it("refuses traffic from peers that are not pod members", async () => {
    const harness = await InferenceHarness.create(model, [{ who: 1, pricePerToken: 1n }]);
    const frames = await rawRequest(harness, 1, false, ACTORS[5]!.peerId);
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.type, "refused");
    assert.equal(frames[0]!.type === "refused" && frames[0]!.code, "NOT_POD_MEMBER");
  });
});
