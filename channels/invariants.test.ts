/**
 * Property test of the channels module against the real ledger execution
 * (the module registered, the in-memory store): random sequences of open,
 * top-up, voucher, close, challenge, settle and cooperative close, by honest
 * and adversarial payers, payees and strangers, with vouchers of the wrong
 * channel, the wrong chain, the wrong signer or tampered bytes.
 *
 * A small reference model predicts each transaction's success and payouts;
 * beside it, invariants that do not depend on the model:
 * - supply + burned is constant, and the module's escrow is the sum of the
 *   open channels' deposits (funds in channels are conserved);
 * - the payee of a channel never receives more than was deposited in it, nor
 *   more than the most its payer ever authorised on this chain for this
 *   channel (so no voucher of another channel or chain, and no forgery,
 *   is worth anything);
 * - a channel pays out at most once (no voucher is redeemed twice);
 * - only the payer's own transactions and the channel's payouts move the
 *   payer's balance, and only participants' transactions succeed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Receipt as LedgerReceipt } from "../ledger/index.ts";
import { bytesEqual, type Voucher } from "../spec/index.ts";
import { runSeed } from "../spec/testing.ts";
import { CHALLENGE_PERIOD_COMMITS_MIN } from "./constants.ts";
import { ChannelEventName, channelEventsOf } from "./events.ts";
import {
  ADDRESSES,
  CHAIN_ID,
  FEE,
  GENESIS_BALANCE,
  KEYS,
  OTHER_CHAIN_ID,
  SUPPLY,
  TestChain,
  voucherFor,
} from "./test-fixtures.ts";
import {
  buildChannelChallenge,
  buildChannelClose,
  buildChannelCooperativeClose,
  buildChannelOpen,
  buildChannelSettle,
  buildChannelTopUp,
  signCooperativeClose,
} from "./transactions.ts";

const seed = runSeed("channels invariants.test");

const ACTORS = 4;
const actor = fc.integer({ min: 0, max: ACTORS - 1 });
const ref = fc.nat({ max: 1_000 });
/**
 * Channels: a negative ref picks among the channels still open (so sequences
 * reach challenges and settles), a non-negative one any channel ever named,
 * settled or never opened.
 */
const channelRef = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -8, max: -1 }) },
  { weight: 1, arbitrary: ref },
);
/** Vouchers: mostly one signed for the channel the op targets, sometimes any in the pool. */
const voucherRef = fc.record({
  sameChannel: fc.oneof(
    { weight: 4, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  ),
  n: ref,
});
type VoucherRef = { sameChannel: boolean; n: number };
const smallAmount = fc.oneof(fc.bigInt({ min: 0n, max: 3_000n }), fc.constantFrom(0n, 1n));

type Op =
  | {
      op: "open";
      payer: number /** Offset of the payee from the payer (0: itself). */;
      payee: number;
      deposit: bigint;
      period: number;
    }
  | { op: "topup"; by: number; channel: number; amount: bigint }
  | {
      op: "sign";
      channel: number;
      amount: bigint;
      signer: number | "payer";
      otherChain: boolean;
      tamper: boolean;
    }
  | { op: "close"; by: number | "payer" | "payee"; channel: number; voucher: VoucherRef | null }
  | { op: "challenge"; by: number | "payee"; channel: number; voucher: VoucherRef }
  | { op: "settle"; by: number | "payer" | "payee"; channel: number }
  | { op: "coop"; by: number | "payer" | "payee"; channel: number; amount: bigint; forge: boolean }
  | { op: "advance"; commits: number };

const role = <T extends string>(...roles: T[]) =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...roles) }, { weight: 1, arbitrary: actor });

const arbitraryOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("open" as const),
      payer: actor,
      /** Mostly another actor; sometimes the payer itself (refused). */
      payee: fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 1, max: ACTORS - 1 }) },
        { weight: 1, arbitrary: fc.constant(0) },
      ),
      deposit: fc.oneof(
        { weight: 16, arbitrary: fc.bigInt({ min: 1n, max: 3_000n }) },
        { weight: 1, arbitrary: fc.constant(0n) },
        { weight: 1, arbitrary: fc.constant(GENESIS_BALANCE * 2n) },
      ),
      period: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(CHALLENGE_PERIOD_COMMITS_MIN, 6, 10) },
        { weight: 1, arbitrary: fc.constant(CHALLENGE_PERIOD_COMMITS_MIN - 1) },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("topup" as const),
      by: actor,
      channel: channelRef,
      amount: smallAmount,
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("sign" as const),
      channel: channelRef,
      amount: fc.bigInt({ min: 0n, max: 4_000n }),
      signer: fc.oneof(
        { weight: 5, arbitrary: fc.constant("payer" as const) },
        { weight: 1, arbitrary: actor },
      ),
      otherChain: fc.oneof(
        { weight: 6, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
      tamper: fc.oneof(
        { weight: 6, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("close" as const),
      by: fc.oneof(
        { weight: 4, arbitrary: fc.constant("payer" as const) },
        { weight: 2, arbitrary: fc.constant("payee" as const) },
        { weight: 1, arbitrary: actor },
      ),
      channel: channelRef,
      voucher: fc.option(voucherRef, { nil: null, freq: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("challenge" as const),
      by: role("payee"),
      channel: channelRef,
      voucher: voucherRef,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("settle" as const),
      by: role("payer", "payee"),
      channel: channelRef,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("coop" as const),
      by: role("payer", "payee"),
      channel: channelRef,
      amount: fc.bigInt({ min: 0n, max: 3_000n }),
      forge: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("advance" as const), commits: fc.integer({ min: 1, max: 8 }) }),
  },
);

interface ModelChannel {
  readonly id: Uint8Array;
  readonly payer: number;
  readonly payee: number;
  readonly period: number;
  open: boolean;
  deposit: bigint;
  /** Everything ever deposited. */
  deposited: bigint;
  closing: { amount: bigint; deadline: number } | null;
  /** The most the payer authorised on this chain for this channel (vouchers, cooperative closes). */
  authorised: bigint;
  paidToPayee: bigint;
  payouts: number;
}

interface PoolVoucher {
  readonly voucher: Voucher;
  /** The channel it was signed for, and whether it is valid there. */
  readonly channel: number;
  readonly valid: boolean;
}

const cap = (amount: bigint, deposit: bigint) => (amount < deposit ? amount : deposit);

/** Attempts and successes per kind over the whole run, printed so a reader sees what the sequences reached. */
const stats = new Map<string, { attempts: number; successes: number }>();

async function runSequence(ops: readonly Op[]): Promise<void> {
  const chain = await TestChain.open();
  const channels: ModelChannel[] = [];
  const pool: PoolVoucher[] = [];
  const balances = Array.from({ length: ACTORS }, () => GENESIS_BALANCE);

  const resolve = (who: number | "payer" | "payee", channel: ModelChannel): number =>
    who === "payer" ? channel.payer : who === "payee" ? channel.payee : who;

  const pay = (channel: ModelChannel, claimed: bigint) => {
    const payee = cap(claimed, channel.deposit);
    balances[channel.payee]! += payee;
    balances[channel.payer]! += channel.deposit - payee;
    channel.paidToPayee += payee;
    channel.payouts += 1;
    channel.open = false;
    channel.deposit = 0n;
    channel.closing = null;
  };

  for (const op of ops) {
    if (op.op === "advance") {
      await chain.advance(op.commits);
      continue;
    }
    const now = chain.commitIndex + 1;
    const open = channels.filter((c) => c.open);
    const pick = (n: number): ModelChannel =>
      n < 0 && open.length > 0 ? open[(-n - 1) % open.length]! : channels[Math.abs(n) % channels.length]!;
    const channel = channels.length === 0 ? null : pick("channel" in op ? op.channel : 0);
    if (op.op === "sign") {
      if (channel === null) continue;
      const signer = op.signer === "payer" ? channel.payer : op.signer;
      let voucher = voucherFor(
        KEYS[signer]!,
        channel.id,
        op.amount,
        pool.length + 1,
        op.otherChain ? OTHER_CHAIN_ID : CHAIN_ID,
      );
      if (op.tamper) voucher = { ...voucher, cumulativeAmount: voucher.cumulativeAmount + 1n };
      const valid = signer === channel.payer && !op.otherChain && !op.tamper;
      if (valid && op.amount > channel.authorised) channel.authorised = op.amount;
      pool.push({ voucher, channel: channels.indexOf(channel), valid });
      continue;
    }

    let sender: number;
    let expected: boolean;
    let effect: () => void = () => {};
    let tx: Parameters<TestChain["one"]>[0];
    if (op.op === "open") {
      sender = op.payer;
      const payee = (op.payer + op.payee) % ACTORS;
      const built = buildChannelOpen({
        ...chain.envelope(sender),
        payee: ADDRESSES[payee]!,
        deposit: op.deposit,
        challengePeriod: op.period,
      });
      tx = built.tx;
      expected =
        op.payer !== payee &&
        op.deposit > 0n &&
        op.period >= CHALLENGE_PERIOD_COMMITS_MIN &&
        balances[sender]! - FEE >= op.deposit;
      const modelChannel: ModelChannel = {
        id: built.channelId,
        payer: op.payer,
        payee,
        period: op.period,
        open: false,
        deposit: 0n,
        deposited: 0n,
        closing: null,
        authorised: 0n,
        paidToPayee: 0n,
        payouts: 0,
      };
      channels.push(modelChannel); // a failed open still gives an id, which later ops use as a missing channel
      effect = () => {
        modelChannel.open = true;
        modelChannel.deposit = op.deposit;
        modelChannel.deposited = op.deposit;
        balances[sender]! -= op.deposit;
      };
    } else {
      if (channel === null) continue;
      const c = channel;
      const index = channels.indexOf(c);
      const voucherOf = (r: VoucherRef | null): PoolVoucher | null => {
        if (r === null) return null;
        const candidates = r.sameChannel ? pool.filter((p) => p.channel === index) : pool;
        return candidates.length === 0 ? null : candidates[r.n % candidates.length]!;
      };
      switch (op.op) {
        case "topup": {
          sender = op.by;
          tx = buildChannelTopUp({ ...chain.envelope(sender), channelId: c.id, amount: op.amount });
          expected = c.open && sender === c.payer && op.amount > 0n && balances[sender]! - FEE >= op.amount;
          effect = () => {
            c.deposit += op.amount;
            c.deposited += op.amount;
            c.closing = null;
            balances[sender]! -= op.amount;
          };
          break;
        }
        case "close": {
          sender = resolve(op.by, c);
          const entry = voucherOf(op.voucher);
          const voucherOk = entry === null || (entry.channel === index && entry.valid);
          tx = buildChannelClose({
            ...chain.envelope(sender),
            channelId: c.id,
            voucher: entry?.voucher ?? null,
          });
          const presented = entry?.voucher.cumulativeAmount ?? 0n;
          if (sender === c.payee) {
            expected = c.open && voucherOk;
            effect = () => {
              const pending = c.closing?.amount ?? 0n;
              pay(c, presented > pending ? presented : pending);
            };
          } else {
            expected = c.open && voucherOk && sender === c.payer && c.closing === null;
            effect = () => {
              c.closing = { amount: presented, deadline: now + c.period };
            };
          }
          break;
        }
        case "challenge": {
          sender = resolve(op.by, c);
          const entry = voucherOf(op.voucher);
          if (entry === null) continue;
          tx = buildChannelChallenge({ ...chain.envelope(sender), channelId: c.id, voucher: entry.voucher });
          expected =
            c.open &&
            sender === c.payee &&
            c.closing !== null &&
            now <= c.closing.deadline &&
            entry.channel === index &&
            entry.valid &&
            entry.voucher.cumulativeAmount > c.closing.amount;
          effect = () => {
            c.closing = { amount: entry.voucher.cumulativeAmount, deadline: c.closing!.deadline };
          };
          break;
        }
        case "settle": {
          sender = resolve(op.by, c);
          tx = buildChannelSettle({ ...chain.envelope(sender), channelId: c.id });
          expected =
            c.open &&
            (sender === c.payer || sender === c.payee) &&
            c.closing !== null &&
            now > c.closing.deadline;
          effect = () => pay(c, c.closing!.amount);
          break;
        }
        case "coop": {
          sender = resolve(op.by, c);
          const body = { chainId: CHAIN_ID, channelId: c.id, payeeAmount: op.amount };
          const payerSignature = signCooperativeClose(body, KEYS[op.forge ? c.payee : c.payer]!);
          if (!op.forge && op.amount > c.authorised) c.authorised = op.amount;
          tx = buildChannelCooperativeClose({
            ...chain.envelope(sender),
            channelId: c.id,
            payeeAmount: op.amount,
            payeePublicKey: KEYS[c.payee]!.publicKey,
            payerSignature,
            payeeSignature: signCooperativeClose(body, KEYS[c.payee]!),
          });
          expected =
            c.open && (sender === c.payer || sender === c.payee) && op.amount <= c.deposit && !op.forge;
          effect = () => pay(c, op.amount);
          break;
        }
      }
    }

    const receipt: LedgerReceipt = await chain.one(tx);
    balances[sender]! -= FEE;
    assert.equal(
      receipt.success,
      expected,
      `${op.op} by ${sender}: expected ${expected ? "success" : "failure"}, got ${receipt.errorCode || "success"}`,
    );
    const stat = stats.get(op.op) ?? { attempts: 0, successes: 0 };
    stats.set(op.op, { attempts: stat.attempts + 1, successes: stat.successes + (receipt.success ? 1 : 0) });
    if (receipt.success) {
      effect();
      checkEvents(receipt, channels);
    }
    checkState(chain, channels, balances);
  }
}

function checkEvents(receipt: LedgerReceipt, channels: readonly ModelChannel[]): void {
  for (const event of channelEventsOf([receipt])) {
    if (event.name !== ChannelEventName.Settled) continue;
    const channel = channels.find((c) => bytesEqual(c.id, event.channelId));
    assert.ok(channel, "settled channels are known");
    assert.equal(channel.payouts, 1, "a channel pays out once");
    assert.equal(event.payeeAmount, channel.paidToPayee);
  }
}

function checkState(chain: TestChain, channels: readonly ModelChannel[], balances: readonly bigint[]): void {
  const totals = chain.ledger.totals();
  assert.equal(totals.supply + totals.burned, SUPPLY, "supply + burned is constant");
  const onChain = chain.channels();
  assert.equal(
    totals.escrows,
    onChain.reduce((sum, c) => sum + c.record.deposit, 0n),
    "escrow = Σ deposits",
  );
  assert.equal(onChain.length, channels.filter((c) => c.open).length);
  for (let who = 0; who < ACTORS; who++) assert.equal(chain.balance(who), balances[who], `balance of ${who}`);
  for (const c of channels) {
    assert.ok(c.payouts <= 1, "no channel pays out twice");
    assert.ok(c.paidToPayee <= c.deposited, "the payee never receives more than the deposit");
    assert.ok(c.paidToPayee <= c.authorised, "the payee never receives more than the payer authorised");
    const record = chain.channel(c.id);
    if (!c.open) {
      assert.equal(record, null);
      continue;
    }
    assert.ok(record !== null);
    assert.equal(record.deposit, c.deposit);
    assert.equal(record.closing?.amount ?? null, c.closing?.amount ?? null);
    assert.equal(record.closing?.deadlineCommit ?? null, c.closing?.deadline ?? null);
  }
}

describe("channels module invariants over random sequences", () => {
  it("holds for honest and adversarial payers, payees and strangers", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbitraryOp, { minLength: 40, maxLength: 100 }), (ops) => runSequence(ops)),
      { seed, numRuns: 50, includeErrorInReport: true },
    );
    console.log(
      `outcomes: ${[...stats].map(([kind, s]) => `${kind} ${s.successes}/${s.attempts}`).join(", ")}`,
    );
  });
});
