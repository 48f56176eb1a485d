import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MemoryStore, openRocksStore, type Store } from "../ledger/index.ts";
import { runSeed } from "../spec/testing.ts";
import { ChannelStore } from "./channel-store.ts";
import { UNPAID_UNITS_MAX } from "./constants.ts";
import { ChannelEndpoint } from "./endpoint.ts";
import { MemoryLink } from "./memory-link.ts";
import { encodeChannelMessage } from "./messages.ts";
import { PayeeChannel } from "./payee.ts";
import { PayeeSession } from "./payee-session.ts";
import { PayerChannel } from "./payer.ts";
import { PayerSession } from "./payer-session.ts";
import { createVoucherSigner } from "./signer.ts";
import { ADDRESSES, CHAIN_ID, KEYS, voucherFor } from "./test-fixtures.ts";

const seed = runSeed("channels metering.test");

const channelId = new Uint8Array(32).fill(3);
/** Virtual milliseconds per simulation step. */
const STEP_MS = 10;

interface Setup {
  readonly deposit: bigint;
  readonly price: bigint;
  readonly creditWindow: bigint;
  readonly budget?: bigint;
  readonly maxPrice?: bigint;
  readonly lossRate: number;
  readonly duplicateRate: number;
  readonly maxDelaySteps: number;
  readonly unitDelaySteps: number;
  readonly linkSeed: number;
}

/** Payer and payee on one channel, over a lossy reordering link, on virtual time. */
class Simulation {
  now = 0;
  readonly link: MemoryLink;
  readonly payerEndpoint: ChannelEndpoint;
  readonly payeeEndpoint: ChannelEndpoint;
  payer!: PayerSession;
  payee!: PayeeSession;
  /** Units on their way to the payer (the service path itself is reliable), by due step. */
  private unitsInFlight: number[] = [];
  private step = 0;
  deliveredUnits = 0;
  receivedUnits = 0;

  constructor(readonly setup: Setup) {
    this.link = new MemoryLink({
      seed: setup.linkSeed,
      lossRate: setup.lossRate,
      duplicateRate: setup.duplicateRate,
      maxDelaySteps: setup.maxDelaySteps,
    });
    this.payerEndpoint = new ChannelEndpoint(this.link.transport("payer"));
    this.payeeEndpoint = new ChannelEndpoint(this.link.transport("payee"));
  }

  async start(payerStore: Store, payeeStore: Store, fresh = true): Promise<void> {
    const clock = () => this.now;
    const { deposit, price, creditWindow } = this.setup;
    const signer = createVoucherSigner(KEYS[0]!);
    const payerChannel = fresh
      ? await PayerChannel.create(new ChannelStore(payerStore), signer, {
          chainId: CHAIN_ID,
          channelId,
          payee: ADDRESSES[1]!,
          deposit,
          challengePeriod: 1_000,
        })
      : (await PayerChannel.load(new ChannelStore(payerStore), signer, channelId))!;
    const payeeChannel = fresh
      ? await PayeeChannel.create(new ChannelStore(payeeStore), {
          chainId: CHAIN_ID,
          channelId,
          payer: ADDRESSES[0]!,
          payerPublicKey: KEYS[0]!.publicKey,
          deposit,
          challengePeriod: 1_000,
        })
      : (await PayeeChannel.load(new ChannelStore(payeeStore), channelId))!;
    this.payer = new PayerSession(payerChannel, this.payerEndpoint.transport, {
      peer: "payee",
      maxPricePerUnit: this.setup.maxPrice ?? price,
      creditWindow,
      ...(this.setup.budget === undefined ? {} : { budget: this.setup.budget }),
      clock,
    });
    this.payee = new PayeeSession(payeeChannel, this.payeeEndpoint.transport, {
      peer: "payer",
      unit: "token",
      pricePerUnit: price,
      clock,
    });
    this.payerEndpoint.remove(channelId);
    this.payeeEndpoint.remove(channelId);
    this.payerEndpoint.add(this.payer);
    this.payeeEndpoint.add(this.payee);
    this.payee.start();
  }

  /** The safety bounds, checked after every step. */
  checkBounds(): void {
    const { price } = this.setup;
    assert.ok(
      this.payee.unpaidAmount <= BigInt(UNPAID_UNITS_MAX) * price,
      `payee exposure ${this.payee.unpaidAmount} > ${UNPAID_UNITS_MAX} unit(s)`,
    );
    const record = this.payer.channel.record;
    assert.ok(
      record.spent - record.receivedAmount <= this.setup.creditWindow,
      "the payer risks at most its credit window",
    );
    assert.ok(record.spent <= record.deposit, "the payer never signs above the deposit");
  }

  /** One step: time passes, due messages and units arrive, sessions resend, the payee serves one unit if it may. */
  async advance(wantUnits: number): Promise<void> {
    this.now += STEP_MS;
    this.step++;
    // Let I/O complete (RocksDB writes finish on libuv's pool, outside the microtask queue).
    await new Promise((resolve) => setImmediate(resolve));
    await this.link.step();
    this.payerEndpoint.tick();
    this.payeeEndpoint.tick();
    const due = this.unitsInFlight.filter((s) => s <= this.step).length;
    this.unitsInFlight = this.unitsInFlight.filter((s) => s > this.step);
    for (let i = 0; i < due; i++) {
      await this.payer.received(1);
      this.receivedUnits++;
    }
    if (this.deliveredUnits < wantUnits && this.payee.ended === null && this.payee.deliver(1)) {
      this.deliveredUnits++;
      this.unitsInFlight.push(this.step + this.setup.unitDelaySteps);
    }
    this.checkBounds();
  }

  /** Runs until `units` are served and received and the payee holds payment for all of them. */
  async serve(units: number, stepsMax: number): Promise<void> {
    for (let i = 0; i < stepsMax; i++) {
      await this.advance(units);
      if (this.receivedUnits === units && this.payee.channel.paid >= this.payee.channel.deliveredAmount)
        return;
    }
    assert.fail(
      `stalled: delivered ${this.deliveredUnits}/${units}, received ${this.receivedUnits}, paid ${this.payee.channel.paid}, delivered value ${this.payee.channel.deliveredAmount}`,
    );
  }
}

const setupArbitrary = fc.record({
  deposit: fc.constant(1_000_000n),
  price: fc.bigInt({ min: 1n, max: 50n }),
  creditUnits: fc.integer({ min: 1, max: 8 }),
  lossRate: fc.constantFrom(0, 0.1, 0.3, 0.5),
  duplicateRate: fc.constantFrom(0, 0.2),
  maxDelaySteps: fc.integer({ min: 0, max: 6 }),
  unitDelaySteps: fc.integer({ min: 0, max: 4 }),
  linkSeed: fc.nat(),
});

describe("streaming metering over a lossy, reordering link", () => {
  it("serves every unit across a restart, pays for all of it, and never exceeds the payee's or payer's exposure", async () => {
    await fc.assert(
      fc.asyncProperty(setupArbitrary, async (s) => {
        const setup = { ...s, creditWindow: s.price * BigInt(s.creditUnits) };
        const payerStore = new MemoryStore();
        const payeeStore = new MemoryStore();
        const first = new Simulation(setup);
        await first.start(payerStore, payeeStore);
        await first.serve(20, 20_000);
        await first.payee.flush();
        // Both sides restart (new sessions over the persisted channels) and serve 20 more.
        const second = new Simulation({ ...setup, linkSeed: setup.linkSeed + 1 });
        await second.start(payerStore, payeeStore, false);
        await second.serve(20, 20_000);
        assert.equal(second.payee.channel.deliveredAmount, 40n * s.price);
        assert.ok(second.payer.channel.spent <= 40n * s.price + setup.creditWindow);
      }),
      { seed, numRuns: 40, includeErrorInReport: true },
    );
  });

  it("stops within one unit when the payer's budget runs out", async () => {
    await fc.assert(
      fc.asyncProperty(setupArbitrary, fc.integer({ min: 0, max: 20 }), async (s, budgetUnits) => {
        const budget = s.price * BigInt(budgetUnits);
        const sim = new Simulation({ ...s, creditWindow: s.price * BigInt(s.creditUnits), budget });
        await sim.start(new MemoryStore(), new MemoryStore());
        for (let i = 0; i < 1_500; i++) await sim.advance(1_000);
        assert.ok(sim.payer.exhausted || budgetUnits === 0);
        assert.equal(sim.payer.channel.spent, budget, "the payer pays its whole budget and not a unit more");
        // The payee served what was paid for and at most one more unit.
        assert.ok(sim.deliveredUnits >= budgetUnits, `${sim.deliveredUnits} < ${budgetUnits} paid units`);
        assert.ok(
          sim.deliveredUnits <= budgetUnits + UNPAID_UNITS_MAX,
          `${sim.deliveredUnits} units for ${budgetUnits} paid`,
        );
      }),
      { seed, numRuns: 25, includeErrorInReport: true },
    );
  });

  it("pays nothing on a quote above the payer's maximum, and the payee stops serving", async () => {
    const sim = new Simulation({
      deposit: 1_000n,
      price: 10n,
      maxPrice: 9n,
      creditWindow: 10n,
      lossRate: 0,
      duplicateRate: 0,
      maxDelaySteps: 0,
      unitDelaySteps: 0,
      linkSeed: 1,
    });
    await sim.start(new MemoryStore(), new MemoryStore());
    for (let i = 0; i < 50; i++) {
      try {
        await sim.advance(10);
      } catch (error) {
        assert.match(String(error), /SESSION_ENDED/);
        break;
      }
    }
    assert.equal(sim.payer.status, "ended");
    assert.equal(sim.payer.channel.spent, 0n);
    assert.equal(sim.payer.channel.latestVoucher, null);
    assert.notEqual(sim.payee.ended, null);
    assert.ok(sim.deliveredUnits <= UNPAID_UNITS_MAX);
  });

  it("resumes after both sides restart on RocksDB, carrying credit and never signing lower", async () => {
    const dir = await mkdtemp(join(tmpdir(), "channels-metering-"));
    try {
      const setup = {
        deposit: 100_000n,
        price: 7n,
        creditWindow: 21n,
        lossRate: 0.2,
        duplicateRate: 0.1,
        maxDelaySteps: 3,
        unitDelaySteps: 1,
        linkSeed: seed,
      };
      let payerStore = await openRocksStore(join(dir, "payer"));
      let payeeStore = await openRocksStore(join(dir, "payee"));
      const first = new Simulation(setup);
      await first.start(payerStore, payeeStore);
      await first.serve(25, 10_000);
      await first.payee.flush();
      const spentBefore = first.payer.channel.spent;
      const bestBefore = first.payee.channel.bestVoucher!;
      await payerStore.close();
      await payeeStore.close();

      payerStore = await openRocksStore(join(dir, "payer"));
      payeeStore = await openRocksStore(join(dir, "payee"));
      const second = new Simulation({ ...setup, linkSeed: seed + 1 });
      await second.start(payerStore, payeeStore, false);
      assert.equal(second.payer.channel.spent, spentBefore);
      assert.deepEqual(second.payee.channel.bestVoucher, bestBefore);
      assert.equal(second.payee.channel.deliveredAmount, 25n * setup.price);
      await second.serve(25, 10_000);
      assert.equal(second.payee.channel.deliveredAmount, 50n * setup.price);
      assert.ok(second.payee.channel.bestVoucher!.cumulativeAmount >= 50n * setup.price);
      assert.ok(second.payee.channel.bestVoucher!.sequence > bestBefore.sequence);
      await payerStore.close();
      await payeeStore.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("channel endpoint", () => {
  it("drops malformed messages, messages from the wrong peer, bad vouchers and unknown channels", async () => {
    const link = new MemoryLink({ seed: 1 });
    const endpoint = new ChannelEndpoint(link.transport("payee"));
    const channel = await PayeeChannel.create(new ChannelStore(new MemoryStore()), {
      chainId: CHAIN_ID,
      channelId,
      payer: ADDRESSES[0]!,
      payerPublicKey: KEYS[0]!.publicKey,
      deposit: 100n,
      challengePeriod: 1_000,
    });
    const session = new PayeeSession(channel, endpoint.transport, {
      peer: "payer",
      unit: "token",
      pricePerUnit: 1n,
    });
    endpoint.add(session);
    assert.throws(() => endpoint.add(session), /CHANNEL_EXISTS/);
    const good = encodeChannelMessage({ type: "voucher", voucher: voucherFor(KEYS[0]!, channelId, 5n, 1) });
    await endpoint.receive("payer", new Uint8Array([0x93, 9, 9, 9]));
    await endpoint.receive("mallory", good);
    await endpoint.receive(
      "payer",
      encodeChannelMessage({ type: "voucher", voucher: voucherFor(KEYS[2]!, channelId, 9n, 2) }),
    );
    await endpoint.receive(
      "payer",
      encodeChannelMessage({ type: "voucher", voucher: voucherFor(KEYS[0]!, new Uint8Array(32), 9n, 2) }),
    );
    assert.deepEqual(endpoint.dropped, { MALFORMED: 1, UNKNOWN_CHANNEL: 1, WRONG_PEER: 1, REFUSED: 1 });
    assert.equal(channel.paid, 0n);
    await endpoint.receive("payer", good);
    assert.equal(channel.paid, 5n);
    endpoint.close();
  });
});
