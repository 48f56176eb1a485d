import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MemoryStore, openRocksStore, type Store, type WriteBatch } from "../ledger/index.ts";
import { addressFromPublicKey, type Voucher } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { ChannelStore } from "./channel-store.ts";
import type { ChannelError } from "./errors.ts";
import { LocalChannelState } from "./local-records.ts";
import { PayeeChannel, payeeInitFromChain } from "./payee.ts";
import { PayerChannel } from "./payer.ts";
import { createVoucherSigner } from "./signer.ts";
import { ADDRESSES, CHAIN_ID, KEYS, OTHER_CHAIN_ID, voucherFor } from "./test-fixtures.ts";

const seed = runSeed("channels machines.test");

const PAYER = KEYS[0]!;
const PAYEE = KEYS[1]!;
const channelId = new Uint8Array(32).fill(7);
const otherChannelId = new Uint8Array(32).fill(8);

const payerInit = (deposit = 1_000n) => ({
  chainId: CHAIN_ID,
  channelId,
  payee: ADDRESSES[1]!,
  payeePeer: "peer-b",
  deposit,
  challengePeriod: 100,
});

const payeeInit = (deposit = 1_000n) => ({
  chainId: CHAIN_ID,
  channelId,
  payer: ADDRESSES[0]!,
  payerPublicKey: PAYER.publicKey,
  deposit,
  challengePeriod: 100,
});

async function withRocks<T>(run: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "channels-machines-"));
  try {
    return await run(join(dir, "db"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A store that counts writes and, once `crash()` is called, fails every later write (a process that died). */
class CrashingStore implements Store {
  puts = 0;
  private crashed = false;
  constructor(readonly inner: Store) {}
  crash(): void {
    this.crashed = true;
  }
  get(key: Uint8Array) {
    return this.inner.get(key);
  }
  async put(key: Uint8Array, value: Uint8Array) {
    await Promise.resolve();
    if (this.crashed) throw new Error("crashed");
    this.puts++;
    return this.inner.put(key, value);
  }
  async delete(key: Uint8Array) {
    if (this.crashed) throw new Error("crashed");
    return this.inner.delete(key);
  }
  iterate(prefix: Uint8Array) {
    return this.inner.iterate(prefix);
  }
  write(batch: WriteBatch) {
    return this.inner.write(batch);
  }
  close() {
    return this.inner.close();
  }
}

describe("payer", () => {
  it("signs strictly increasing cumulative vouchers, also when called concurrently", async () => {
    const payer = await PayerChannel.create(
      new ChannelStore(new MemoryStore()),
      createVoucherSigner(PAYER),
      payerInit(),
    );
    const vouchers = await Promise.all([1n, 2n, 3n, 4n].map((amount) => payer.pay(amount)));
    assert.deepEqual(
      vouchers.map((v) => [v.cumulativeAmount, v.sequence]),
      [
        [1n, 1],
        [3n, 2],
        [6n, 3],
        [10n, 4],
      ],
    );
    assert.equal(payer.spent, 10n);
    assert.equal(payer.remaining, 990n);
    // Asking for a target already reached signs nothing new.
    assert.equal(await payer.payUpTo(5n), vouchers[3]);
  });

  it("refuses a non-positive payment, more than the deposit, and paying on a closing channel", async () => {
    const payer = await PayerChannel.create(
      new ChannelStore(new MemoryStore()),
      createVoucherSigner(PAYER),
      payerInit(10n),
    );
    await assert.rejects(payer.pay(0n), (e: ChannelError) => e.code === "BAD_AMOUNT");
    await payer.pay(10n);
    await assert.rejects(payer.pay(1n), (e: ChannelError) => e.code === "INSUFFICIENT_DEPOSIT");
    await payer.setDeposit(20n);
    await payer.pay(1n);
    await payer.setState(LocalChannelState.Closing);
    await assert.rejects(payer.pay(1n), (e: ChannelError) => e.code === "CHANNEL_CLOSED");
    await assert.rejects(
      PayerChannel.create(payerStoreOf(payer), createVoucherSigner(PAYER), payerInit()),
      (e: ChannelError) => e.code === "CHANNEL_EXISTS",
    );
  });

  it("after a restart on RocksDB it never signs a lower cumulative amount or sequence", async () => {
    await withRocks(async (path) => {
      const store = await openRocksStore(path);
      const payer = await PayerChannel.create(
        new ChannelStore(store),
        createVoucherSigner(PAYER),
        payerInit(),
      );
      const sent: Voucher[] = [];
      for (let i = 0; i < 20; i++) sent.push(await payer.pay(BigInt(i + 1)));
      await store.close();

      const reopened = await openRocksStore(path);
      const restarted = await PayerChannel.load(
        new ChannelStore(reopened),
        createVoucherSigner(PAYER),
        channelId,
      );
      assert.ok(restarted !== null);
      assert.deepEqual(restarted.latestVoucher, sent.at(-1));
      const next = await restarted.pay(1n);
      for (const voucher of sent) {
        assert.ok(next.cumulativeAmount > voucher.cumulativeAmount);
        assert.ok(next.sequence > voucher.sequence);
      }
      await reopened.close();
    });
  });

  it("persists before a voucher is handed out: a crash at any write loses no voucher that was handed out", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: 1n, max: 50n }), { minLength: 1, maxLength: 30 }),
        fc.nat({ max: 40 }),
        async (amounts, crashAfterWrites) => {
          const disk = new MemoryStore();
          const store = new CrashingStore(disk);
          const payer = await PayerChannel.create(
            new ChannelStore(store),
            createVoucherSigner(PAYER),
            payerInit(10_000n),
          );
          const handedOut: Voucher[] = [];
          // Payments race with each other and with the crash.
          await Promise.all(
            amounts.map(async (amount) => {
              if (store.puts >= crashAfterWrites) store.crash();
              try {
                handedOut.push(await payer.pay(amount));
              } catch {
                // Not persisted: the caller never sends it.
              }
              if (store.puts >= crashAfterWrites) store.crash();
            }),
          );
          const restarted = await PayerChannel.load(
            new ChannelStore(disk),
            createVoucherSigner(PAYER),
            channelId,
          );
          assert.ok(restarted !== null);
          const next = await restarted.pay(1n);
          for (const voucher of handedOut) {
            assert.ok(restarted.record.sequence >= voucher.sequence);
            assert.ok(
              next.cumulativeAmount > voucher.cumulativeAmount,
              "never below a voucher that was sent",
            );
          }
        },
      ),
      { seed, numRuns: 100 },
    );
  });
});

function payerStoreOf(payer: PayerChannel): ChannelStore {
  return (payer as unknown as { store: ChannelStore }).store;
}

describe("payee", () => {
  it("keeps the best voucher, ignores stale ones, and refuses vouchers of another chain, channel or signer", async () => {
    const payee = await PayeeChannel.create(new ChannelStore(new MemoryStore()), payeeInit(100n));
    assert.deepEqual(await payee.receive(voucherFor(PAYER, channelId, 30n, 3)), {
      accepted: true,
      paid: 30n,
    });
    assert.deepEqual(await payee.receive(voucherFor(PAYER, channelId, 20n, 2)), {
      accepted: false,
      paid: 30n,
    });
    assert.deepEqual(await payee.receive(voucherFor(PAYER, channelId, 30n, 3)), {
      accepted: false,
      paid: 30n,
    });
    const refused: [Voucher, string][] = [
      [voucherFor(PAYER, channelId, 40n, 4, OTHER_CHAIN_ID), "WRONG_CHAIN"],
      [voucherFor(PAYER, otherChannelId, 40n, 4), "WRONG_CHANNEL"],
      [voucherFor(PAYEE, channelId, 40n, 4), "BAD_SIGNATURE"],
      [{ ...voucherFor(PAYER, channelId, 40n, 4), cumulativeAmount: 41n }, "BAD_SIGNATURE"],
    ];
    for (const [voucher, code] of refused) {
      await assert.rejects(payee.receive(voucher), (e: ChannelError) => e.code === code);
    }
    assert.equal(payee.bestVoucher?.cumulativeAmount, 30n);
    // Above the deposit: kept, but counts only up to the deposit until a top-up.
    assert.deepEqual(await payee.receive(voucherFor(PAYER, channelId, 150n, 5)), {
      accepted: true,
      paid: 100n,
    });
    await payee.setDeposit(200n);
    assert.equal(payee.paid, 150n);
    await payee.setState(LocalChannelState.Closed);
    await assert.rejects(
      payee.receive(voucherFor(PAYER, channelId, 160n, 6)),
      (e: ChannelError) => e.code === "CHANNEL_CLOSED",
    );
  });

  it("ends with the highest voucher whatever order, loss or duplication the vouchers arrive in", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: 0n, max: 1_000n }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        async (amounts, order) => {
          const vouchers = amounts.map((amount, i) => voucherFor(PAYER, channelId, amount, i + 1));
          const payee = await PayeeChannel.create(new ChannelStore(new MemoryStore()), payeeInit(1_000n));
          const delivered = order.map((n) => vouchers[n % vouchers.length]!);
          for (const voucher of delivered) await payee.receive(voucher);
          let best = -1n;
          for (const voucher of delivered)
            if (voucher.cumulativeAmount > best) best = voucher.cumulativeAmount;
          assert.equal(payee.bestVoucher?.cumulativeAmount ?? -1n, best);
        },
      ),
      { seed, numRuns: 100 },
    );
  });

  it("still holds its newest voucher and delivered amount after a restart on RocksDB", async () => {
    await withRocks(async (path) => {
      const store = await openRocksStore(path);
      const payee = await PayeeChannel.create(new ChannelStore(store), payeeInit());
      for (let i = 1; i <= 30; i++) void payee.receive(voucherFor(PAYER, channelId, BigInt(i * 10), i));
      await payee.addDelivered(290n);
      await payee.receive(voucherFor(PAYER, channelId, 300n, 30));
      await store.close();
      const reopened = await openRocksStore(path);
      const restarted = await PayeeChannel.load(new ChannelStore(reopened), channelId);
      assert.equal(restarted?.bestVoucher?.cumulativeAmount, 300n);
      assert.equal(restarted?.deliveredAmount, 290n);
      assert.equal(restarted?.paid, 300n);
      await reopened.close();
    });
  });

  it("serves only on a channel that pays it, has no close pending and a long enough challenge period", () => {
    const record = {
      payer: ADDRESSES[0]!,
      payerPublicKey: PAYER.publicKey,
      payee: ADDRESSES[1]!,
      deposit: 500n,
      challengePeriod: 1_000,
      openedAtCommit: 3,
      closing: null,
    };
    const self = addressFromPublicKey(PAYEE.publicKey);
    assert.equal(payeeInitFromChain(CHAIN_ID, channelId, record, self).deposit, 500n);
    const refusals = [
      payeeInitFromChain.bind(null, CHAIN_ID, channelId, null, self),
      payeeInitFromChain.bind(null, CHAIN_ID, channelId, record, ADDRESSES[2]!),
      payeeInitFromChain.bind(
        null,
        CHAIN_ID,
        channelId,
        {
          ...record,
          closing: { amount: 0n, sequence: 0, startedAtCommit: 4, deadlineCommit: 1_004 },
        },
        self,
      ),
      payeeInitFromChain.bind(null, CHAIN_ID, channelId, record, self, { challengePeriodMin: 1_001 }),
    ];
    for (const refuse of refusals) {
      assert.throws(refuse, (e: ChannelError) => e.code === "UNACCEPTABLE_CHANNEL");
    }
  });
});

describe("channel store", () => {
  it("coalesces concurrent writes of one record and lists records by role", async () => {
    const counting = new CrashingStore(new MemoryStore());
    const store = new ChannelStore(counting);
    const payee = await PayeeChannel.create(store, payeeInit());
    const before = counting.puts;
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        payee.receive(voucherFor(PAYER, channelId, BigInt(i + 1), i + 1)),
      ),
    );
    assert.ok(counting.puts - before <= 3, `${counting.puts - before} writes for 100 vouchers`);
    assert.equal((await store.loadPayee(channelId))?.voucher?.cumulativeAmount, 100n);
    await PayerChannel.create(store, createVoucherSigner(PAYER), {
      ...payerInit(),
      channelId: otherChannelId,
    });
    assert.equal((await store.listPayees()).length, 1);
    assert.equal((await store.listPayers()).length, 1);
    await store.deletePayee(channelId);
    assert.equal(await store.loadPayee(channelId), null);
  });
});
