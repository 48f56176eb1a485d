import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ClientMeter, ProviderMeter } from "./metering.ts";
import { runSeed } from "./test-fixtures.ts";

const seed = runSeed("market metering.test");

describe("metering", () => {
  it("an honest client and a provider: every token is delivered, paid exactly, and the provider never waits", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 1000n }),
        fc.integer({ min: 2, max: 64 }),
        fc.nat({ max: 300 }),
        fc.bigInt({ min: 0n, max: 10_000n }),
        (price, window, tokens, baseline) => {
          const interval = Math.max(1, Math.floor(window / 2));
          const provider = new ProviderMeter(price, window, baseline, baseline + BigInt(tokens) * price);
          const client = new ClientMeter(price, interval, baseline);
          let paid = baseline;
          for (let i = 0; i < tokens; i++) {
            assert.ok(provider.canDeliver(paid), `stalled at token ${i}`);
            provider.deliver(paid);
            const target = client.onToken();
            if (target !== null) paid = target;
          }
          const last = client.settle();
          if (last !== null) paid = last;
          assert.equal(paid - baseline, BigInt(tokens) * price);
          assert.equal(client.cost, BigInt(tokens) * price);
          assert.equal(provider.unpaid(paid), 0n);
          assert.equal(client.settle(), null);
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it("a client that stops paying gets at most the credit window beyond what it paid", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 1000n }),
        fc.integer({ min: 1, max: 64 }),
        fc.nat({ max: 200 }),
        (price, window, paysFor) => {
          const provider = new ProviderMeter(price, window, 0n, 10n ** 12n);
          const paid = BigInt(paysFor) * price;
          let delivered = 0;
          while (provider.canDeliver(paid)) {
            provider.deliver(paid);
            delivered++;
            assert.ok(delivered <= paysFor + window + 1, "ran past the window");
          }
          assert.equal(delivered, paysFor + window);
          assert.ok(provider.unpaid(paid) <= BigInt(window) * price);
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it("never delivers what the deposit could not pay for", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 100n }),
        fc.bigInt({ min: 0n, max: 5000n }),
        fc.bigInt({ min: 0n, max: 5000n }),
        (price, baseline, room) => {
          const provider = new ProviderMeter(price, 64, baseline, baseline + room);
          const paid = baseline + 10n ** 9n;
          while (provider.depositCovers() && provider.canDeliver(paid)) provider.deliver(paid);
          assert.equal(BigInt(provider.delivered), room / price);
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it("the client pays after every interval, never ahead of what it received", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 100n }),
        fc.integer({ min: 1, max: 20 }),
        fc.nat({ max: 100 }),
        (price, interval, tokens) => {
          const client = new ClientMeter(price, interval, 7n);
          let last = 7n;
          let vouchers = 0;
          for (let i = 1; i <= tokens; i++) {
            const target = client.onToken();
            if (target !== null) {
              vouchers++;
              assert.equal(target, 7n + BigInt(i) * price);
              assert.ok(target > last);
              last = target;
            }
          }
          assert.equal(vouchers, Math.floor(tokens / interval));
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});
