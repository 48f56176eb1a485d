import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ValidationError } from "../net/index.ts";
import { CodecError } from "../spec/index.ts";
import { amount, bytes, index, peerId } from "./arbitraries.ts";
import { FAILURE_PENALTY_MS, OFFER_TTL_MS, PROVIDER_BOND_MIN, UNMEASURED_LATENCY_MS } from "./constants.ts";
import { LatencyBook } from "./latency.ts";
import {
  decodeOffer,
  encodeOffer,
  type Offer,
  OfferBook,
  OfferCodec,
  OfferTopic,
  signOffer,
} from "./offers.ts";
import { MarketKind } from "./payloads.ts";
import { ACTORS, binding, codecProperties, runSeed, TestChain } from "./test-fixtures.ts";

const seed = runSeed("market offers.test");

codecProperties(
  OfferCodec,
  fc.record({
    provider: bytes(20),
    publicKey: bytes(32),
    peerId,
    loadPermille: fc.nat({ max: 10_000 }),
    queueLength: fc.nat({ max: 1_000_000 }),
    activeRequests: fc.nat({ max: 1_000_000 }),
    pricePerToken: amount,
    timestampMs: index,
    sequence: index,
    signature: bytes(64),
  }),
  seed,
);

function offerOf(who: number, timestampMs: number, sequence: number, overrides: Partial<Offer> = {}): Offer {
  const actor = ACTORS[who]!;
  return signOffer(
    {
      provider: actor.address,
      publicKey: actor.keys.publicKey,
      peerId: actor.peerId,
      loadPermille: 250,
      queueLength: 2,
      activeRequests: 1,
      pricePerToken: 3n,
      timestampMs,
      sequence,
      ...overrides,
    },
    actor.keys,
  );
}

describe("offers", () => {
  it("decode only when signed by the key whose address they name", () => {
    const offer = offerOf(1, 1000, 1);
    assert.deepEqual(OfferTopic.decode(OfferTopic.encode(offer)), offer);
    const forged = { ...offer, loadPermille: 0 };
    assert.throws(() => decodeOffer(encodeOffer(forged)), CodecError);
    const stolen = { ...offerOf(1, 1000, 1), provider: ACTORS[2]!.address };
    assert.throws(() => decodeOffer(encodeOffer(stolen)), CodecError);
  });

  it("keep the newest fresh offer of each active registered provider", async () => {
    const chain = await TestChain.open();
    let now = 1_000_000;
    const book = new OfferBook(chain.market, () => now);
    const expectIgnore = (offer: Offer, action: "IGNORE" | "REJECT" = "IGNORE") =>
      assert.throws(
        () => book.receive(offer),
        (e: unknown) => e instanceof ValidationError && e.code === action,
      );
    expectIgnore(offerOf(1, now, 1));
    const receipt = await chain.run(1, MarketKind.ProviderRegister, {
      peerId: ACTORS[1]!.peerId,
      peerSignature: binding(1),
      models: [{ hash: new Uint8Array(32), name: "m" }],
      device: "cpu",
      vramMib: 0,
      pricePerToken: 3n,
      bond: PROVIDER_BOND_MIN,
    });
    assert.ok(receipt.success);
    book.receive(offerOf(1, now, 5));
    assert.equal(book.get(ACTORS[1]!.address)!.sequence, 5);
    expectIgnore(offerOf(1, now, 5));
    expectIgnore(offerOf(1, now, 4));
    expectIgnore(offerOf(1, now - OFFER_TTL_MS - 1, 6));
    expectIgnore(offerOf(1, now + 60_000, 6));
    expectIgnore(offerOf(1, now, 6, { peerId: ACTORS[2]!.peerId }), "REJECT");
    book.receive(offerOf(1, now, 6, { queueLength: 9 }));
    assert.equal(book.get(ACTORS[1]!.address)!.queueLength, 9);
    assert.equal(book.fresh().length, 1);
    now += OFFER_TTL_MS + 1;
    assert.equal(book.get(ACTORS[1]!.address), null);
    assert.equal(book.fresh().length, 0);
  });
});

describe("latency profiles", () => {
  it("average round trips and first-token times, and penalise failures", () => {
    const book = new LatencyBook(() => 0);
    assert.equal(book.expectedMs("p"), UNMEASURED_LATENCY_MS);
    book.record("p", 10, 20);
    assert.equal(book.expectedMs("p"), 30);
    book.record("p", 20, 20);
    assert.equal(book.get("p")!.roundTripMs, 12);
    book.recordFailure("p");
    assert.ok(book.expectedMs("p") > 12 + 20);
    assert.equal(book.get("p")!.failures, 1);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 10_000, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (samples) => {
          const b = new LatencyBook();
          for (const s of samples) b.record("q", s, s);
          const rt = b.get("q")!.roundTripMs;
          assert.ok(rt >= Math.min(...samples) - 1e-9 && rt <= Math.max(...samples) + 1e-9);
        },
      ),
      { seed, numRuns: 200 },
    );
    assert.ok(FAILURE_PENALTY_MS > UNMEASURED_LATENCY_MS);
  });
});
