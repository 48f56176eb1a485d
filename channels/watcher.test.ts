import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesEqual, type Transaction } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { CHALLENGE_RETRY_COMMITS } from "./constants.ts";
import { ChannelEventName, channelEventsOf } from "./events.ts";
import { ADDRESSES, FEE, GENESIS_BALANCE, KEYS, TestChain, voucherFor } from "./test-fixtures.ts";
import {
  buildChannelChallenge,
  buildChannelClose,
  buildChannelOpen,
  buildChannelSettle,
  buildChannelTopUp,
} from "./transactions.ts";
import { ChannelWatcher, type WatcherAction } from "./watcher.ts";

const seed = runSeed("channels watcher.test");

const PAYER = 0;
const PAYEE = 1;
const channelId = new Uint8Array(32).fill(5);
const voucher = (amount: bigint, sequence: number) => voucherFor(KEYS[PAYER]!, channelId, amount, sequence);

const closeStarted = (amount: bigint, deadlineCommit: number) => ({
  name: ChannelEventName.CloseStarted,
  channelId,
  amount,
  sequence: 1,
  deadlineCommit,
});

describe("channel watcher (pure)", () => {
  it("challenges a close that claims less than the best voucher, retries until the chain shows it, then settles", () => {
    const watcher = new ChannelWatcher();
    watcher.watch(channelId, voucher(50n, 5));
    assert.deepEqual(watcher.onCommit(10, []), []);
    const first = watcher.onCommit(11, [closeStarted(20n, 30)]);
    assert.deepEqual(
      first.map((a) => a.type),
      ["stop-serving", "challenge"],
    );
    const challenge = first[1] as Extract<WatcherAction, { type: "challenge" }>;
    assert.equal(challenge.voucher.cumulativeAmount, 50n);
    assert.equal(challenge.deadlineCommit, 30);
    // Nothing on chain yet: quiet until the retry interval, then again.
    for (let c = 12; c < 11 + CHALLENGE_RETRY_COMMITS; c++) assert.deepEqual(watcher.onCommit(c, []), []);
    assert.deepEqual(
      watcher.onCommit(11 + CHALLENGE_RETRY_COMMITS, []).map((a) => a.type),
      ["challenge"],
    );
    // A better voucher arrives: challenge again at once.
    watcher.updateVoucher(channelId, voucher(60n, 6));
    watcher.updateVoucher(channelId, voucher(55n, 7));
    const better = watcher.onCommit(12 + CHALLENGE_RETRY_COMMITS, []);
    assert.equal((better[0] as Extract<WatcherAction, { type: "challenge" }>).voucher.cumulativeAmount, 60n);
    // The chain shows the challenge: nothing more until the deadline.
    assert.deepEqual(
      watcher.onCommit(13 + CHALLENGE_RETRY_COMMITS, [
        { name: ChannelEventName.Challenged, channelId, amount: 60n, sequence: 6 },
      ]),
      [],
    );
    for (let c = 14 + CHALLENGE_RETRY_COMMITS; c < 30; c++) assert.deepEqual(watcher.onCommit(c, []), []);
    assert.deepEqual(
      watcher.onCommit(30, []).map((a) => a.type),
      ["settle"],
    );
    assert.deepEqual(watcher.onCommit(31, []), []);
    const settled = watcher.onCommit(32, [
      { name: ChannelEventName.Settled, channelId, payeeAmount: 60n, payerAmount: 40n, how: 1 },
    ]);
    assert.deepEqual(
      settled.map((a) => a.type),
      ["settled"],
    );
    assert.equal(watcher.isWatching(channelId), false);
  });

  it("does not challenge a close that already claims the best amount, nor in the last commit, and forgets a cancelled close", () => {
    const watcher = new ChannelWatcher();
    watcher.watch(channelId, voucher(50n, 5));
    assert.deepEqual(
      watcher.onCommit(3, [closeStarted(50n, 10)]).map((a) => a.type),
      ["stop-serving"],
    );
    watcher.updateVoucher(channelId, voucher(70n, 7));
    // Commit 10 is the deadline: a challenge sent now would land after it.
    assert.deepEqual(
      watcher.onCommit(10, []).map((a) => a.type),
      ["settle"],
    );
    const other = new ChannelWatcher();
    other.watch(channelId, voucher(50n, 5), { amount: 0n, deadlineCommit: 100 });
    const cancelled = other.onCommit(4, [
      { name: ChannelEventName.ToppedUp, channelId, amount: 5n, deposit: 105n, closeCancelled: true },
    ]);
    assert.deepEqual(cancelled, [{ type: "deposit", channelId, deposit: 105n }]);
    assert.deepEqual(other.onCommit(200, []), []);
  });

  it("ignores channels it does not watch", () => {
    const watcher = new ChannelWatcher();
    assert.deepEqual(watcher.onCommit(1, [closeStarted(0n, 9)]), []);
  });
});

/** Runs a dispute through the real ledger with the watcher deciding; `lose(n)` drops the watcher's n-th transaction. */
async function dispute(
  period: number,
  lose: (n: number) => boolean,
  staleAmount: bigint,
  newestAmount: bigint,
) {
  const chain = await TestChain.open();
  const { tx, channelId: id } = buildChannelOpen({
    ...chain.envelope(PAYER),
    payee: ADDRESSES[PAYEE]!,
    deposit: 1_000n,
    challengePeriod: period,
  });
  await chain.one(tx);
  const payer = KEYS[PAYER]!;
  const stale = voucherFor(payer, id, staleAmount, 1);
  const newest = voucherFor(payer, id, newestAmount, 2);
  const watcher = new ChannelWatcher();
  watcher.watch(id, newest);
  let pending: Transaction[] = [
    buildChannelClose({ ...chain.envelope(PAYER), channelId: id, voucher: stale }),
  ];
  let submitted = 0;
  let landedChallenge = false;
  for (let i = 0; i < period + 40 && chain.channel(id) !== null; i++) {
    const receipts = await chain.commit(pending);
    pending = [];
    for (const r of receipts) if (r.kind === "channel.challenge" && r.success) landedChallenge = true;
    const actions = watcher.onCommit(chain.commitIndex, channelEventsOf(receipts));
    let ahead = 0;
    for (const action of actions) {
      let next: Transaction | null = null;
      if (action.type === "challenge") {
        next = buildChannelChallenge({
          ...chain.envelope(PAYEE, ahead),
          channelId: id,
          voucher: action.voucher,
        });
      } else if (action.type === "settle") {
        next = buildChannelSettle({ ...chain.envelope(PAYEE, ahead), channelId: id });
      }
      if (next === null) continue;
      if (lose(submitted++)) continue;
      pending.push(next);
      ahead++;
    }
  }
  return { chain, id, landedChallenge };
}

describe("channel watcher against the real ledger", () => {
  it("a payee whose watcher sees the close gets its newest voucher's amount, even when submissions are lost", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 4, max: 24 }),
        fc.array(fc.boolean(), { maxLength: 6 }),
        fc.bigInt({ min: 0n, max: 400n }),
        fc.bigInt({ min: 401n, max: 1_500n }),
        async (period, losses, staleAmount, newestAmount) => {
          const { chain, id, landedChallenge } = await dispute(
            period,
            (n) => losses[n] ?? false,
            staleAmount,
            newestAmount,
          );
          assert.equal(chain.channel(id), null, "the channel was settled");
          const payeeFees = BigInt(chain.ledger.getAccount(ADDRESSES[PAYEE]!).nonce) * FEE;
          const expected = landedChallenge ? (newestAmount < 1_000n ? newestAmount : 1_000n) : staleAmount;
          assert.equal(chain.balance(PAYEE), GENESIS_BALANCE + expected - payeeFees);
          // With at most one loss per retry window the challenge always lands in a period this long.
          const retriesInPeriod = Math.floor((period - 2) / CHALLENGE_RETRY_COMMITS) + 1;
          if (losses.slice(0, retriesInPeriod).includes(false) || losses.length < retriesInPeriod) {
            assert.ok(landedChallenge, "a challenge landed before the deadline");
          }
        },
      ),
      { seed, numRuns: 40, includeErrorInReport: true },
    );
  });

  it("a top-up that cancels the close stops the dispute", async () => {
    const chain = await TestChain.open();
    const { tx, channelId: id } = buildChannelOpen({
      ...chain.envelope(PAYER),
      payee: ADDRESSES[PAYEE]!,
      deposit: 100n,
      challengePeriod: 20,
    });
    await chain.one(tx);
    const watcher = new ChannelWatcher();
    watcher.watch(id, voucherFor(KEYS[PAYER]!, id, 10n, 1));
    const close = await chain.one(
      buildChannelClose({ ...chain.envelope(PAYER), channelId: id, voucher: null }),
    );
    assert.ok(
      watcher.onCommit(chain.commitIndex, channelEventsOf([close])).some((a) => a.type === "challenge"),
    );
    const topUp = await chain.one(buildChannelTopUp({ ...chain.envelope(PAYER), channelId: id, amount: 5n }));
    const actions = watcher.onCommit(chain.commitIndex, channelEventsOf([topUp]));
    assert.deepEqual(actions, [{ type: "deposit", channelId: id, deposit: 105n }]);
    assert.ok(bytesEqual(id, actions[0]!.channelId));
    for (let i = 0; i < 30; i++) {
      await chain.advance(1);
      assert.deepEqual(watcher.onCommit(chain.commitIndex, []), []);
    }
  });
});
