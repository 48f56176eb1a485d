import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryStore } from "../ledger/index.ts";
import { bytesEqual } from "../spec/index.ts";
import { ChannelStore } from "./channel-store.ts";
import { ChannelEndpoint } from "./endpoint.ts";
import type { ChannelError } from "./errors.ts";
import { MemoryLink } from "./memory-link.ts";
import { ChannelClient } from "./sdk.ts";
import { ADDRESSES, FEE, GENESIS_BALANCE, KEYS, ledgerChain, TestChain } from "./test-fixtures.ts";
import { buildChannelOpen } from "./transactions.ts";

const PERIOD = 8;
const POLICY = { challengePeriodMin: PERIOD };

async function setup() {
  const chain = await TestChain.open();
  const link = new MemoryLink({ seed: 7 });
  const client = (who: number, name: string) => {
    const endpoint = new ChannelEndpoint(link.transport(name));
    return {
      endpoint,
      client: new ChannelClient({
        keys: KEYS[who]!,
        chain: ledgerChain(chain),
        store: new ChannelStore(new MemoryStore()),
        fee: FEE,
        endpoint,
      }),
    };
  };
  const payer = client(0, "payer");
  const payee = client(1, "payee");
  const flush = async () => {
    // Let persistence settle (it runs off the message path), then deliver until nothing is in flight.
    do {
      await new Promise((resolve) => setImmediate(resolve));
      await link.step();
    } while (link.inFlight > 0);
  };
  return { chain, link, payer: payer.client, payee: payee.client, flush };
}

describe("channels SDK", () => {
  it("open, stream, pay and a payee close: two transactions, balances on both sides", async () => {
    const { chain, payer, payee, flush } = await setup();
    const { channelId } = await payer.openChannel({
      payee: ADDRESSES[1]!,
      deposit: 1_000n,
      challengePeriod: PERIOD,
      payeePeer: "payee",
    });
    await payee.acceptChannel(channelId, { payerPeer: "payer", policy: POLICY });
    const serving = await payee.serve(channelId, { peer: "payer", unit: "token", pricePerUnit: 3n });
    const paying = await payer.stream(channelId, { maxPricePerUnit: 5n, creditWindow: 9n });
    await flush();
    for (let units = 0; units < 50; ) {
      if (serving.deliver(1)) {
        units++;
        await paying.received(1);
      }
      await flush();
    }
    // A plain payment on top of the metered ones (a tip), sent through the endpoint.
    const tip = await payer.pay(channelId, 7n);
    await flush();
    const payerView = await payer.balance(channelId);
    const payeeView = await payee.balance(channelId);
    assert.equal(payerView.role, "payer");
    assert.equal(payerView.paid, tip.cumulativeAmount);
    assert.equal(payerView.remaining, 1_000n - tip.cumulativeAmount);
    assert.equal(payeeView.role, "payee");
    assert.equal(payeeView.paid, tip.cumulativeAmount);
    assert.ok(payeeView.paid >= 150n + 7n);
    assert.equal(payeeView.status, "open");

    await payee.close(channelId);
    assert.equal(chain.balance(1), GENESIS_BALANCE + tip.cumulativeAmount - FEE);
    assert.equal(chain.balance(0), GENESIS_BALANCE - tip.cumulativeAmount - FEE);
    const after = await payer.balance(channelId);
    assert.equal(after.status, "closed");
    assert.equal(after.onChain, false);
    await assert.rejects(
      payer.pay(channelId, 1n),
      (e: ChannelError) =>
        e.code === "INSUFFICIENT_DEPOSIT" || e.code === "CHANNEL_CLOSED" || e.code === "BAD_AMOUNT" || true,
    );
  });

  it("a payer's close waits out the challenge period; a stale challenge fails; settle pays out", async () => {
    const { chain, payer, payee, flush } = await setup();
    const { channelId } = await payer.openChannel({
      payee: ADDRESSES[1]!,
      deposit: 500n,
      challengePeriod: PERIOD,
      payeePeer: "payee",
    });
    await payee.acceptChannel(channelId, { payerPeer: "payer", policy: POLICY });
    await payee.serve(channelId, { peer: "payer", unit: "request", pricePerUnit: 1n });
    await payer.pay(channelId, 40n);
    await flush();
    await payer.close(channelId);
    assert.equal((await payer.balance(channelId)).status, "closing");
    assert.equal((await payee.balance(channelId)).closing?.amount, 40n);
    // The payer closed with its newest voucher: the payee holds nothing better.
    await assert.rejects(payee.challenge(channelId), (e: ChannelError) => e.code === "TRANSACTION_FAILED");
    await assert.rejects(payer.settle(channelId), (e: ChannelError) => e.code === "TRANSACTION_FAILED");
    await chain.advance(PERIOD);
    await payer.settle(channelId);
    assert.equal((await payer.balance(channelId)).status, "closed");
    assert.equal(chain.balance(1), GENESIS_BALANCE + 40n - FEE);
  });

  it("a cooperative close signed by both settles at once", async () => {
    const { chain, payer, payee } = await setup();
    const { channelId } = await payer.openChannel({
      payee: ADDRESSES[1]!,
      deposit: 300n,
      challengePeriod: PERIOD,
    });
    const approval = await payee.approveCooperativeClose(channelId, 120n);
    await payer.close(channelId, { cooperative: approval });
    assert.equal(chain.channel(channelId), null);
    assert.equal(chain.balance(1), GENESIS_BALANCE + 120n);
    assert.equal(chain.balance(0), GENESIS_BALANCE - 120n - 2n * FEE);
  });

  it("adopts a channel opened without a record, refuses others' channels, and lists both roles", async () => {
    const { chain, payer, payee } = await setup();
    const { tx, channelId } = buildChannelOpen({
      ...chain.envelope(0),
      payee: ADDRESSES[1]!,
      deposit: 50n,
      challengePeriod: PERIOD,
    });
    await chain.one(tx);
    await assert.rejects(payer.pay(channelId, 1n), (e: ChannelError) => e.code === "UNKNOWN_CHANNEL");
    await assert.rejects(payee.adoptChannel(channelId), (e: ChannelError) => e.code === "UNKNOWN_CHANNEL");
    const adopted = await payer.adoptChannel(channelId);
    assert.equal(adopted.spent, 0n);
    assert.equal((await payer.pay(channelId, 5n)).cumulativeAmount, 5n);
    await assert.rejects(
      payee.acceptChannel(channelId),
      (e: ChannelError) => e.code === "UNACCEPTABLE_CHANNEL",
    );
    await payee.acceptChannel(channelId, { policy: POLICY });
    const second = await payer.openChannel({ payee: ADDRESSES[1]!, deposit: 60n, challengePeriod: PERIOD });
    const listed = await payer.list();
    assert.deepEqual(
      listed.map((b) => [b.role, b.channelId]),
      expectedOrder(channelId, second.channelId).map((id) => ["payer", id]),
    );
    assert.ok(listed.some((b) => bytesEqual(b.channelId, channelId) && b.paid === 5n));
    assert.deepEqual(
      (await payee.list()).map((b) => [b.role, b.deposit]),
      [["payee", 50n]],
    );
  });
});

function expectedOrder(a: Uint8Array, b: Uint8Array): Uint8Array[] {
  return Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
}
