import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytes, modelRef } from "./arbitraries.ts";
import { MIB_PER_GIB } from "./constants.ts";
import type { Offer } from "./offers.ts";
import { effectiveLatencyMs, ineligibility, type ProviderCandidate, rankProviders } from "./ranking.ts";
import { runSeed } from "./test-fixtures.ts";

const seed = runSeed("market ranking.test");
const MODEL = { hash: new Uint8Array(32).fill(1), name: "kjv-mlp" };

function offer(loadPermille: number, queueLength: number): Offer {
  return {
    provider: new Uint8Array(20),
    publicKey: new Uint8Array(32),
    peerId: "",
    loadPermille,
    queueLength,
    activeRequests: 0,
    pricePerToken: 0n,
    timestampMs: 0,
    sequence: 0,
    signature: new Uint8Array(64),
  };
}

const candidate: fc.Arbitrary<ProviderCandidate & { latencyMs: number }> = fc
  .record({
    address: bytes(20),
    peerId: fc.string({ minLength: 1, maxLength: 8 }),
    extraModels: fc.array(modelRef, { maxLength: 2 }),
    servesModel: fc.boolean(),
    cuda: fc.boolean(),
    vramGb: fc.integer({ min: 1, max: 80 }),
    pricePerToken: fc.bigInt({ min: 0n, max: 100n }),
    load: fc.option(fc.record({ permille: fc.integer({ min: 0, max: 2000 }), queue: fc.nat({ max: 5 }) }), {
      nil: null,
    }),
    latencyMs: fc.double({ min: 0.1, max: 1000, noNaN: true }),
  })
  .map((c) => ({
    address: c.address,
    peerId: c.peerId,
    models: c.servesModel ? [MODEL, ...c.extraModels] : c.extraModels,
    device: c.cuda ? ("cuda" as const) : ("cpu" as const),
    vramMib: c.cuda ? c.vramGb * MIB_PER_GIB : 0,
    pricePerToken: c.pricePerToken,
    offer: c.load === null ? null : offer(c.load.permille, c.load.queue),
    latencyMs: c.latencyMs,
  }));

const candidates = fc.uniqueArray(candidate, { minLength: 1, maxLength: 8, selector: (c) => c.peerId });
const constraints = fc.record(
  {
    minVramGb: fc.integer({ min: 0, max: 48 }),
    latency: fc.constantFrom("low" as const, "any" as const),
    maxPricePerToken: fc.bigInt({ min: 0n, max: 100n }),
  },
  { requiredKeys: ["latency"] },
);

describe("provider ranking", () => {
  it("never ranks an ineligible provider: not enough VRAM, too dear, or without the model", () => {
    fc.assert(
      fc.property(candidates, constraints, fc.boolean(), (list, c, named) => {
        const latency = new Map(list.map((x) => [x.peerId, x.latencyMs]));
        const ranked = rankProviders(
          list,
          { model: named ? MODEL.name : undefined, constraints: c },
          (p) => latency.get(p)!,
        );
        for (const { candidate: chosen, model } of ranked) {
          if ((c.minVramGb ?? 0) > 0) {
            assert.equal(chosen.device, "cuda");
            assert.ok(chosen.vramMib >= (c.minVramGb ?? 0) * MIB_PER_GIB);
          }
          if (c.maxPricePerToken !== undefined) assert.ok(chosen.pricePerToken <= c.maxPricePerToken);
          if (named) assert.equal(model.name, MODEL.name);
        }
        // And every eligible provider is ranked.
        const eligible = list.filter((x) => ineligibility(x, named ? MODEL.name : undefined, c) === null);
        assert.equal(ranked.length, eligible.length);
      }),
      { seed, numRuns: 500 },
    );
  });

  it('with latency "low", puts the lowest effective latency first; with equal load, the lowest-latency provider', () => {
    fc.assert(
      fc.property(candidates, constraints, fc.boolean(), (list, c, equalLoad) => {
        const providers = equalLoad ? list.map((x) => ({ ...x, offer: null })) : list;
        const latency = new Map(providers.map((x) => [x.peerId, x.latencyMs]));
        const ranked = rankProviders(
          providers,
          { constraints: { ...c, latency: "low" } },
          (p) => latency.get(p)!,
        );
        if (ranked.length === 0) return;
        const best = Math.min(...ranked.map((r) => r.effectiveLatencyMs));
        assert.equal(ranked[0]!.effectiveLatencyMs, best);
        if (equalLoad)
          assert.equal(
            latency.get(ranked[0]!.candidate.peerId),
            Math.min(...ranked.map((r) => latency.get(r.candidate.peerId)!)),
          );
        for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1]!.score <= ranked[i]!.score);
      }),
      { seed, numRuns: 500 },
    );
  });

  it('with latency "any", a provider that is both cheaper and faster always ranks ahead', () => {
    fc.assert(
      fc.property(candidates, (list) => {
        const latency = new Map(list.map((x) => [x.peerId, x.latencyMs]));
        const ranked = rankProviders(list, { constraints: { latency: "any" } }, (p) => latency.get(p)!);
        for (let i = 0; i < ranked.length; i++) {
          for (let j = i + 1; j < ranked.length; j++) {
            const a = ranked[i]!;
            const b = ranked[j]!;
            const dominates =
              b.candidate.pricePerToken < a.candidate.pricePerToken &&
              b.effectiveLatencyMs < a.effectiveLatencyMs;
            assert.ok(!dominates, "a dominated provider ranks ahead");
          }
        }
      }),
      { seed, numRuns: 500 },
    );
  });

  it("load and queue scale latency up", () => {
    const base = {
      address: new Uint8Array(20),
      peerId: "p",
      models: [MODEL],
      device: "cpu" as const,
      vramMib: 0,
      pricePerToken: 1n,
    };
    assert.equal(effectiveLatencyMs({ ...base, offer: null }, 10), 10);
    assert.equal(effectiveLatencyMs({ ...base, offer: offer(500, 1) }, 10), 30);
  });
});
