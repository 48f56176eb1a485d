import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openRocksStore } from "../ledger/index.ts";
import { bytesEqual, signVoucher } from "../spec/index.ts";
import { deriveChannelId } from "./channel-id.ts";
import { CHALLENGE_PERIOD_COMMITS_MAX, CHALLENGE_PERIOD_COMMITS_MIN } from "./constants.ts";
import { ChannelEventName, channelEventsOf, SettlementKind } from "./events.ts";
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

const PAYER = 0;
const PAYEE = 1;
const STRANGER = 2;
const PERIOD = 10;

async function openChannel(
  chain: TestChain,
  deposit = 1_000n,
  period = PERIOD,
  payer = PAYER,
  payee = PAYEE,
) {
  const { tx, channelId } = buildChannelOpen({
    ...chain.envelope(payer),
    payee: ADDRESSES[payee]!,
    deposit,
    challengePeriod: period,
  });
  const receipt = await chain.one(tx);
  assert.equal(receipt.errorCode, "");
  return channelId;
}

function conserved(chain: TestChain): void {
  const totals = chain.ledger.totals();
  assert.equal(totals.supply + totals.burned, SUPPLY, "supply + burned is constant");
  const deposits = chain.channels().reduce((sum, c) => sum + c.record.deposit, 0n);
  assert.equal(totals.escrows, deposits, "the module's escrow is the sum of open deposits");
}

describe("channel.open", () => {
  it("locks the deposit under the id derived from the open's nonce, and reports it", async () => {
    const chain = await TestChain.open();
    const nonce = chain.envelope(PAYER).nonce;
    const { tx, channelId } = buildChannelOpen({
      ...chain.envelope(PAYER),
      payee: ADDRESSES[PAYEE]!,
      deposit: 700n,
      challengePeriod: PERIOD,
    });
    assert.ok(bytesEqual(channelId, deriveChannelId(CHAIN_ID, ADDRESSES[PAYER]!, ADDRESSES[PAYEE]!, nonce)));
    const receipt = await chain.one(tx);
    assert.equal(receipt.success, true);
    const record = chain.channel(channelId)!;
    assert.equal(record.deposit, 700n);
    assert.ok(bytesEqual(record.payerPublicKey, KEYS[PAYER]!.publicKey));
    assert.equal(record.closing, null);
    assert.equal(chain.balance(PAYER), GENESIS_BALANCE - 700n - FEE);
    const [event] = channelEventsOf([receipt]);
    assert.equal(event?.name, ChannelEventName.Opened);
    assert.ok(event && bytesEqual(event.channelId, channelId));
    // A second open between the same parties gets another id.
    const second = await openChannel(chain, 5n);
    assert.ok(!bytesEqual(second, channelId));
    conserved(chain);
  });

  it("refuses a channel to oneself, a zero deposit, an out-of-range period, and more than the balance", async () => {
    const chain = await TestChain.open();
    const cases: [Parameters<typeof buildChannelOpen>[0], string][] = [
      [
        { ...chain.envelope(PAYER, 0), payee: ADDRESSES[PAYER]!, deposit: 1n, challengePeriod: PERIOD },
        "SELF_CHANNEL",
      ],
      [
        { ...chain.envelope(PAYER, 1), payee: ADDRESSES[PAYEE]!, deposit: 0n, challengePeriod: PERIOD },
        "BAD_AMOUNT",
      ],
      [
        {
          ...chain.envelope(PAYER, 2),
          payee: ADDRESSES[PAYEE]!,
          deposit: 1n,
          challengePeriod: CHALLENGE_PERIOD_COMMITS_MIN - 1,
        },
        "BAD_CHALLENGE_PERIOD",
      ],
      [
        {
          ...chain.envelope(PAYER, 3),
          payee: ADDRESSES[PAYEE]!,
          deposit: 1n,
          challengePeriod: CHALLENGE_PERIOD_COMMITS_MAX + 1,
        },
        "BAD_CHALLENGE_PERIOD",
      ],
      [
        {
          ...chain.envelope(PAYER, 4),
          payee: ADDRESSES[PAYEE]!,
          deposit: GENESIS_BALANCE,
          challengePeriod: PERIOD,
        },
        "INSUFFICIENT_BALANCE",
      ],
    ];
    const receipts = await chain.commit(cases.map(([options]) => buildChannelOpen(options).tx));
    assert.deepEqual(
      receipts.map((r) => r.errorCode),
      cases.map(([, code]) => code),
    );
    assert.equal(chain.channels().length, 0);
    assert.equal(chain.balance(PAYER), GENESIS_BALANCE - 5n * FEE);
    conserved(chain);
  });
});

describe("payee close", () => {
  it("settles at once with the voucher's amount, and the channel cannot be redeemed again", async () => {
    const chain = await TestChain.open();
    const channelId = await openChannel(chain, 1_000n);
    const voucher = voucherFor(KEYS[PAYER]!, channelId, 300n, 3);
    const receipt = await chain.one(buildChannelClose({ ...chain.envelope(PAYEE), channelId, voucher }));
    assert.equal(receipt.success, true);
    assert.equal(chain.balance(PAYEE), GENESIS_BALANCE + 300n - FEE);
    assert.equal(chain.balance(PAYER), GENESIS_BALANCE - 300n - FEE);
    assert.equal(chain.channel(channelId), null);
    const [settled] = channelEventsOf([receipt]);
    assert.deepEqual(settled, {
      name: ChannelEventName.Settled,
      channelId,
      payeeAmount: 300n,
      payerAmount: 700n,
      how: SettlementKind.PayeeClose,
    });
    const again = await chain.one(buildChannelClose({ ...chain.envelope(PAYEE), channelId, voucher }));
    assert.equal(again.errorCode, "CHANNEL_NOT_FOUND");
    assert.equal(chain.balance(PAYEE), GENESIS_BALANCE + 300n - 2n * FEE);
    conserved(chain);
  });

  it("pays at most the deposit for a voucher above it", async () => {
    const chain = await TestChain.open();
    const channelId = await openChannel(chain, 100n);
    const voucher = voucherFor(KEYS[PAYER]!, channelId, 5_000n, 1);
    await chain.one(buildChannelClose({ ...chain.envelope(PAYEE), channelId, voucher }));
    assert.equal(chain.balance(PAYEE), GENESIS_BALANCE + 100n - FEE);
    assert.equal(chain.balance(PAYER), GENESIS_BALANCE - 100n - FEE);
    conserved(chain);
  });

  it("refuses vouchers of another channel, another chain, or not signed by the payer", async () => {
    const chain = await TestChain.open();
    const channelId = await openChannel(chain, 1_000n);
    const other = await openChannel(chain, 1_000n);
    const payer = KEYS[PAYER]!;
    const relabelled = { ...voucherFor(payer, other, 10n, 1), channelId };
    const cases: [ReturnType<typeof voucherFor>, string][] = [
      [voucherFor(payer, other, 10n, 1), "WRONG_CHANNEL"],
      [voucherFor(payer, channelId, 10n, 1, OTHER_CHAIN_ID), "WRONG_CHAIN"],
      [voucherFor(KEYS[PAYEE]!, channelId, 10n, 1), "BAD_SIGNATURE"],
      [relabelled, "BAD_SIGNATURE"],
      [{ ...voucherFor(payer, channelId, 10n, 1), cumulativeAmount: 999n }, "BAD_SIGNATURE"],
    ];
    const receipts = await chain.commit(
      cases.map(([voucher], i) => buildChannelClose({ ...chain.envelope(PAYEE, i), channelId, voucher })),
    );
    assert.deepEqual(
      receipts.map((r) => r.errorCode),
      cases.map(([, code]) => code),
    );
    assert.equal(chain.channel(channelId)?.deposit, 1_000n);
    conserved(chain);
  });
});

describe("dispute: payer close, challenge, settle", () => {
  it("a stale voucher loses to a newer one presented in time; settle waits out the period", async () => {
    const chain = await TestChain.open();
    const channelId = await openChannel(chain, 1_000n, PERIOD);
    const payer = KEYS[PAYER]!;
    const stale = voucherFor(payer, channelId, 100n, 1);
    const newer = voucherFor(payer, channelId, 400n, 4);

    const closeReceipt = await chain.one(
      buildChannelClose({ ...chain.envelope(PAYER), channelId, voucher: stale }),
    );
    const closeIndex = chain.commitIndex;
    const [started] = channelEventsOf([closeReceipt]);
    assert.deepEqual(started, {
      name: ChannelEventName.CloseStarted,
      channelId,
      amount: 100n,
      sequence: 1,
      deadlineCommit: closeIndex + PERIOD,
    });
    assert.equal(
      (await chain.one(buildChannelClose({ ...chain.envelope(PAYER), channelId, voucher: null }))).errorCode,
      "CLOSE_PENDING",
    );
    assert.equal(
      (await chain.one(buildChannelSettle({ ...chain.envelope(PAYER), channelId }))).errorCode,
      "CHALLENGE_PERIOD_RUNNING",
    );
    assert.equal(
      (await chain.one(buildChannelChallenge({ ...chain.envelope(STRANGER), channelId, voucher: newer })))
        .errorCode,
      "NOT_PAYEE",
    );
    assert.equal(
      (await chain.one(buildChannelChallenge({ ...chain.envelope(PAYEE), channelId, voucher: stale })))
        .errorCode,
      "STALE_VOUCHER",
    );
    const challenged = await chain.one(
      buildChannelChallenge({ ...chain.envelope(PAYEE), channelId, voucher: newer }),
    );
    assert.equal(challenged.errorCode, "");
    assert.equal(chain.channel(channelId)?.closing?.amount, 400n);
    // Wait until the deadline commit itself: settle is still refused there.
    await chain.advance(closeIndex + PERIOD - chain.commitIndex - 1);
    assert.equal(
      (await chain.one(buildChannelSettle({ ...chain.envelope(PAYEE), channelId }))).errorCode,
      "CHALLENGE_PERIOD_RUNNING",
    );
    assert.equal(chain.commitIndex, closeIndex + PERIOD);
    const settled = await chain.one(buildChannelSettle({ ...chain.envelope(PAYEE), channelId }));
    assert.equal(settled.errorCode, "");
    assert.equal(chain.channel(channelId), null);
    const payerFees = 4n * FEE; // open, close, close (refused), settle (refused)
    const payeeFees = 4n * FEE; // challenge x2, settle x2
    assert.equal(chain.balance(PAYEE), GENESIS_BALANCE + 400n - payeeFees);
    assert.equal(chain.balance(PAYER), GENESIS_BALANCE - 400n - payerFees);
    conserved(chain);
  });

  it("refuses a challenge after the deadline, and settles with the payer's claim", async () => {
    const chain = await TestChain.open();
    const channelId = await openChannel(chain, 1_000n, CHALLENGE_PERIOD_COMMITS_MIN);
    await chain.one(
      buildChannelClose({
        ...chain.envelope(PAYER),
        channelId,
        voucher: voucherFor(KEYS[PAYER]!, channelId, 50n, 1),
      }),
    );
    await chain.advance(CHALLENGE_PERIOD_COMMITS_MIN);
    const late = voucherFor(KEYS[PAYER]!, channelId, 900n, 9);
    const refused = await chain.one(
      buildChannelChallenge({ ...chain.envelope(PAYEE), channelId, voucher: late }),
    );
    assert.equal(refused.errorCode, "CHALLENGE_PERIOD_OVER");
    assert.equal(
      (await chain.one(buildChannelSettle({ ...chain.envelope(STRANGER), channelId }))).errorCode,
      "NOT_PARTICIPANT",
    );
    await chain.one(buildChannelSettle({ ...chain.envelope(PAYER), channelId }));
    assert.equal(chain.balance(PAYEE), GENESIS_BALANCE + 50n - FEE);
    conserved(chain);
  });

  it("a payee close during the period settles at once with the better of both vouchers", async () => {
    const chain = await TestChain.open();
    const channelId = await openChannel(chain, 1_000n);
    const payer = KEYS[PAYER]!;
    await chain.one(
      buildChannelClose({
        ...chain.envelope(PAYER),
        channelId,
        voucher: voucherFor(payer, channelId, 600n, 6),
      }),
    );
    // The payee presents an older voucher: it still gets the 600 the payer claimed.
    await chain.one(
      buildChannelClose({
        ...chain.envelope(PAYEE),
        channelId,
        voucher: voucherFor(payer, channelId, 200n, 2),
      }),
    );
    assert.equal(chain.balance(PAYEE), GENESIS_BALANCE + 600n - FEE);
    conserved(chain);
  });

  it("a top-up by the payer cancels a pending close; nobody else may top up", async () => {
    const chain = await TestChain.open();
    const channelId = await openChannel(chain, 1_000n);
    await chain.one(buildChannelClose({ ...chain.envelope(PAYER), channelId, voucher: null }));
    assert.notEqual(chain.channel(channelId)?.closing, null);
    const stranger = await chain.one(
      buildChannelTopUp({ ...chain.envelope(STRANGER), channelId, amount: 5n }),
    );
    assert.equal(stranger.errorCode, "NOT_PAYER");
    const zero = await chain.one(buildChannelTopUp({ ...chain.envelope(PAYER), channelId, amount: 0n }));
    assert.equal(zero.errorCode, "BAD_AMOUNT");
    const receipt = await chain.one(buildChannelTopUp({ ...chain.envelope(PAYER), channelId, amount: 500n }));
    const [event] = channelEventsOf([receipt]);
    assert.deepEqual(event, {
      name: ChannelEventName.ToppedUp,
      channelId,
      amount: 500n,
      deposit: 1_500n,
      closeCancelled: true,
    });
    const record = chain.channel(channelId)!;
    assert.equal(record.deposit, 1_500n);
    assert.equal(record.closing, null);
    assert.equal(
      (await chain.one(buildChannelSettle({ ...chain.envelope(PAYER), channelId }))).errorCode,
      "NO_CLOSE_PENDING",
    );
    conserved(chain);
  });

  it("a stranger can neither close nor challenge", async () => {
    const chain = await TestChain.open();
    const channelId = await openChannel(chain, 1_000n);
    const voucher = voucherFor(KEYS[PAYER]!, channelId, 10n, 1);
    const close = await chain.one(buildChannelClose({ ...chain.envelope(STRANGER), channelId, voucher }));
    assert.equal(close.errorCode, "NOT_PARTICIPANT");
    const challenge = await chain.one(
      buildChannelChallenge({ ...chain.envelope(STRANGER), channelId, voucher }),
    );
    assert.equal(challenge.errorCode, "NOT_PAYEE");
    assert.equal(chain.balance(STRANGER), GENESIS_BALANCE - 2n * FEE);
    conserved(chain);
  });
});

describe("cooperative close", () => {
  it("settles at once when both sign, and refuses a missing or forged signature", async () => {
    const chain = await TestChain.open();
    const channelId = await openChannel(chain, 1_000n);
    const body = { chainId: CHAIN_ID, channelId, payeeAmount: 250n };
    const payerSignature = signCooperativeClose(body, KEYS[PAYER]!);
    const payeeSignature = signCooperativeClose(body, KEYS[PAYEE]!);
    const base = {
      channelId,
      payeeAmount: 250n,
      payeePublicKey: KEYS[PAYEE]!.publicKey,
      payerSignature,
      payeeSignature,
    };
    const voucherSignature = signVoucher(
      { chainId: CHAIN_ID, channelId, cumulativeAmount: 250n, sequence: 1 },
      KEYS[PAYER]!.secretKey,
    ).signature;
    const refused: [Parameters<typeof buildChannelCooperativeClose>[0], string][] = [
      [{ ...chain.envelope(PAYER, 0), ...base, payeeSignature: payerSignature }, "BAD_SIGNATURE"],
      [{ ...chain.envelope(PAYER, 1), ...base, payerSignature: voucherSignature }, "BAD_SIGNATURE"],
      [
        {
          ...chain.envelope(PAYER, 2),
          ...base,
          payeePublicKey: KEYS[STRANGER]!.publicKey,
          payeeSignature: signCooperativeClose(body, KEYS[STRANGER]!),
        },
        "BAD_SIGNATURE",
      ],
      [{ ...chain.envelope(PAYER, 3), ...base, payeeAmount: 251n }, "BAD_SIGNATURE"],
      [{ ...chain.envelope(PAYER, 4), ...base, payeeAmount: 1_001n }, "AMOUNT_EXCEEDS_DEPOSIT"],
      [{ ...chain.envelope(STRANGER, 0), ...base }, "NOT_PARTICIPANT"],
    ];
    const receipts = await chain.commit(refused.map(([options]) => buildChannelCooperativeClose(options)));
    assert.deepEqual(
      receipts.map((r) => r.errorCode),
      refused.map(([, code]) => code),
    );
    const wrongChain = { ...body, chainId: OTHER_CHAIN_ID };
    const crossChain = await chain.one(
      buildChannelCooperativeClose({
        ...chain.envelope(PAYER),
        ...base,
        payerSignature: signCooperativeClose(wrongChain, KEYS[PAYER]!),
        payeeSignature: signCooperativeClose(wrongChain, KEYS[PAYEE]!),
      }),
    );
    assert.equal(crossChain.errorCode, "BAD_SIGNATURE");
    const ok = await chain.one(buildChannelCooperativeClose({ ...chain.envelope(PAYER), ...base }));
    assert.equal(ok.errorCode, "");
    assert.equal(chain.balance(PAYEE), GENESIS_BALANCE + 250n);
    assert.equal(chain.balance(PAYER), GENESIS_BALANCE - 250n - 8n * FEE);
    conserved(chain);
  });
});

describe("transactions per channel lifetime", () => {
  it("two without a dispute, four with one", async () => {
    const chain = await TestChain.open();
    const payer = KEYS[PAYER]!;
    const quiet = await openChannel(chain);
    await chain.one(
      buildChannelClose({
        ...chain.envelope(PAYEE),
        channelId: quiet,
        voucher: voucherFor(payer, quiet, 9n, 9),
      }),
    );
    const disputed = await openChannel(chain);
    await chain.one(
      buildChannelClose({
        ...chain.envelope(PAYER),
        channelId: disputed,
        voucher: voucherFor(payer, disputed, 1n, 1),
      }),
    );
    await chain.one(
      buildChannelChallenge({
        ...chain.envelope(PAYEE),
        channelId: disputed,
        voucher: voucherFor(payer, disputed, 9n, 9),
      }),
    );
    await chain.advance(PERIOD);
    await chain.one(buildChannelSettle({ ...chain.envelope(PAYER), channelId: disputed }));
    // Payer: 2 opens + 1 close + 1 settle; payee: 1 close + 1 challenge. 6 = 2 + 4.
    const nonces = [PAYER, PAYEE].map((who) => chain.ledger.getAccount(ADDRESSES[who]!).nonce);
    assert.equal(nonces[0]! + nonces[1]!, 6);
    assert.equal(chain.channels().length, 0);
    assert.equal(chain.balance(PAYEE), GENESIS_BALANCE + 18n - 2n * FEE);
  });
});

describe("persistence", () => {
  it("channel state survives a ledger restart on RocksDB with the same state root", async () => {
    const dir = await mkdtemp(join(tmpdir(), "channels-module-"));
    try {
      const store = await openRocksStore(join(dir, "db"));
      const chain = await TestChain.open(store);
      const channelId = await openChannel(chain, 1_000n);
      await chain.one(buildChannelClose({ ...chain.envelope(PAYER), channelId, voucher: null }));
      const root = chain.ledger.stateRoot;
      const record = chain.channel(channelId);
      await chain.ledger.close();
      await store.close();
      const reopenedStore = await openRocksStore(join(dir, "db"));
      const reopened = await TestChain.open(reopenedStore);
      assert.ok(bytesEqual(reopened.ledger.stateRoot, root));
      assert.deepEqual(reopened.channel(channelId), record);
      await reopened.ledger.close();
      await reopenedStore.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
