import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MemoryStore } from "../ledger/index.ts";
import { ApiKeyRecordCodec, ApiKeyStore, apiKeyId } from "./api-keys.ts";
import { amount, bytes, index } from "./arbitraries.ts";
import { API_KEY_PREFIX } from "./constants.ts";
import { MarketError } from "./errors.ts";
import { codecProperties, runSeed } from "./test-fixtures.ts";

const seed = runSeed("market api-keys.test");
const POD = new Uint8Array(32).fill(9);

codecProperties(
  ApiKeyRecordCodec,
  fc.record({
    name: fc.string({ maxLength: 16 }),
    podId: bytes(32),
    budget: amount,
    ratePerMinute: fc.integer({ min: 1, max: 60_000 }),
    models: fc.array(fc.string({ maxLength: 16 }), { maxLength: 16 }),
    createdAtMs: index,
    revoked: fc.boolean(),
    usage: fc.record({ requests: index, promptTokens: index, completionTokens: index, cost: amount }),
  }),
  seed,
);

const code = (error: unknown) => (error instanceof MarketError ? error.code : String(error));

describe("API keys", () => {
  it("issue a secret once, store only its digest, authenticate it and refuse others", async () => {
    const store = new MemoryStore();
    const keys = await ApiKeyStore.open(store);
    const { key, entry } = await keys.create({ name: "ci", podId: POD, budget: 100n });
    assert.ok(key.startsWith(API_KEY_PREFIX));
    assert.equal(entry.ratePerMinute, 60);
    assert.equal(keys.authenticate(key).id, entry.id);
    for await (const stored of store.iterate(new Uint8Array())) {
      assert.ok(
        !Buffer.from(stored.value).includes(Buffer.from(key.slice(3), "base64url")),
        "the secret is never stored",
      );
    }
    for (const bad of [null, "", "hs-", `${key}x`, key.slice(0, -1), `sk-${key.slice(3)}`]) {
      assert.throws(
        () => keys.authenticate(bad),
        (e: unknown) => code(e) === "INVALID_API_KEY",
      );
    }
    const other = (await keys.create({ podId: POD, budget: 1n })).key;
    assert.notEqual(apiKeyId(other), apiKeyId(key));
    assert.ok(await keys.revoke(entry.id.slice(0, 12)));
    assert.throws(
      () => keys.authenticate(key),
      (e: unknown) => code(e) === "INVALID_API_KEY",
    );
    const reopened = await ApiKeyStore.open(store);
    assert.throws(
      () => reopened.authenticate(key),
      (e: unknown) => code(e) === "INVALID_API_KEY",
    );
    assert.equal(reopened.authenticate(other).budget, 1n);
  });

  it("never spend past the budget, refuse with QUOTA_EXCEEDED only when the budget cannot cover a request, and persist usage (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 1000n }),
        fc.array(
          fc.record({
            maxCost: fc.bigInt({ min: 0n, max: 300n }),
            spentPercent: fc.integer({ min: 0, max: 100 }),
            concurrent: fc.boolean(),
          }),
          {
            maxLength: 30,
          },
        ),
        async (budget, requests) => {
          const store = new MemoryStore();
          const keys = await ApiKeyStore.open(store);
          const { key } = await keys.create({ podId: POD, budget, ratePerMinute: 60_000 });
          const entry = keys.authenticate(key);
          let spent = 0n;
          let held: {
            settle: (u: { promptTokens: number; completionTokens: number; cost: bigint }) => Promise<void>;
            cost: bigint;
          }[] = [];
          for (const request of requests) {
            const left = keys.remaining(entry.id);
            try {
              const reservation = keys.reserve(entry, request.maxCost);
              assert.ok(left > 0n && request.maxCost <= left, "reserved beyond what was left");
              const cost = (request.maxCost * BigInt(request.spentPercent)) / 100n;
              if (request.concurrent) held.push({ settle: reservation.settle, cost });
              else {
                await reservation.settle({ promptTokens: 1, completionTokens: 2, cost });
                spent += cost;
              }
            } catch (error) {
              assert.equal(code(error), "QUOTA_EXCEEDED");
              assert.ok(
                left === 0n || request.maxCost > left,
                "refused while the budget covered the request",
              );
            }
            if (held.length > 3) {
              for (const h of held) {
                await h.settle({ promptTokens: 1, completionTokens: 2, cost: h.cost });
                spent += h.cost;
              }
              held = [];
            }
            assert.ok(keys.get(entry.id)!.usage.cost <= budget);
          }
          for (const h of held) {
            await h.settle({ promptTokens: 1, completionTokens: 2, cost: h.cost });
            spent += h.cost;
          }
          assert.ok(spent <= budget);
          const reopened = await ApiKeyStore.open(store);
          assert.equal(reopened.get(entry.id)!.usage.cost, spent);
          assert.equal(reopened.get(entry.id)!.usage.requests, keys.get(entry.id)!.usage.requests);
        },
      ),
      { seed, numRuns: 200 },
    );
  });

  it("allow exactly the rate per minute, refilled with time (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.integer({ min: 0, max: 30_000 }), { maxLength: 40 }),
        async (rate, gaps) => {
          let now = 0;
          const keys = await ApiKeyStore.open(new MemoryStore(), () => now);
          const entry = keys.authenticate(
            (await keys.create({ podId: POD, budget: 0n, ratePerMinute: rate })).key,
          );
          for (let i = 0; i < rate; i++) keys.takeRequest(entry);
          assert.throws(
            () => keys.takeRequest(entry),
            (e: unknown) => code(e) === "RATE_LIMITED",
          );
          // Over any run of requests, what was taken never exceeds the burst plus the refill for the time that passed.
          let taken = 0;
          let elapsed = 0;
          for (const gap of gaps) {
            now += gap;
            elapsed += gap;
            try {
              keys.takeRequest(entry);
              taken++;
            } catch (error) {
              assert.equal(code(error), "RATE_LIMITED");
            }
            assert.ok(taken <= (elapsed / 60_000) * rate + 1e-9);
          }
        },
      ),
      { seed, numRuns: 200 },
    );
  });

  it("check the model allowlist by name or hash", async () => {
    const keys = await ApiKeyStore.open(new MemoryStore());
    const { entry } = await keys.create({ podId: POD, budget: 1n, models: ["kjv-mlp"] });
    assert.ok(keys.allows(entry, "kjv-mlp", "ab"));
    assert.ok(!keys.allows(entry, "other", "cd"));
    const open = (await keys.create({ podId: POD, budget: 1n })).entry;
    assert.ok(keys.allows(open, "anything"));
    await assert.rejects(keys.create({ podId: POD, budget: 1n, ratePerMinute: 0 }), MarketError);
  });
});
