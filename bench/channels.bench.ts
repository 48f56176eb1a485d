/**
 * Payment channel figures, each printed beside its bound (measured in the
 * same run where the bound is a measurement):
 *
 * - vouchers per second on one channel. The payer issues (signs with
 *   node:crypto, persists, encodes) and the payee accepts (decodes,
 *   verifies, keeps the best, persists with writes coalesced, as its session
 *   does); they run on different machines,
 *   so one channel carries min(issue, accept) vouchers per second. Bound:
 *   at least 0.8 x the raw ed25519 verification rate (node:crypto, the
 *   floor of any payee that checks each voucher). Also shown: both halves
 *   on one thread, and the payer persisting to RocksDB on disk (fsync,
 *   writes coalesced).
 * - on-chain transactions per channel lifetime, counted by running each flow
 *   through the real ledger (channels module, in-memory store): 2 for a
 *   payee close and for a cooperative close, 4 with a dispute.
 * - payee memory per open channel (JS heap + array buffers), with many
 *   channels open, each holding a voucher and watched. Bound:
 *   PAYEE_CHANNEL_BYTES_MAX.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  buildChannelChallenge,
  buildChannelClose,
  buildChannelCooperativeClose,
  buildChannelOpen,
  buildChannelSettle,
  ChannelKind,
  ChannelStore,
  ChannelWatcher,
  channelsModule,
  createVoucherSigner,
  decodeChannelMessage,
  encodeChannelMessage,
  PAYEE_CHANNEL_BYTES_MAX,
  PayeeChannel,
  PayerChannel,
  signCooperativeClose,
} from "../channels/index.ts";
import { createGenesis, Ledger, MemoryStore, openRocksStore, type Store } from "../ledger/index.ts";
import {
  addressFromPublicKey,
  encodeTransaction,
  generateKeyPair,
  type KeyPair,
  sign,
  signVoucher,
  type Transaction,
  type Voucher,
  verify,
} from "../spec/index.ts";

const CHAIN_ID = "hyperspace-bench";
/**
 * The rates are measured in interleaved chunks (raw verify, issue, accept,
 * one thread, then again), so that a shared host's changing load hits the
 * figures and their bound alike. 24 chunks of 500 is about 12,000 of each,
 * a few seconds of work per figure here.
 */
const CHUNK = 500;
const CHUNKS = 24;
/** Payer payments in flight at once against RocksDB (a stream's pipeline depth). */
const ROCKS_PIPELINE = 64;
const ROCKS_VOUCHERS = 5_000;
/** Open channels for the memory figure. */
const MEMORY_CHANNELS = 20_000;
const THROUGHPUT_BOUND_RATIO = 0.8;

function seeded(i: number): KeyPair {
  const seed = new Uint8Array(32);
  seed[0] = i;
  seed[31] = 0xcb;
  return generateKeyPair(seed);
}

function perSecond(count: number, startedMs: number): number {
  return count / ((performance.now() - startedMs) / 1000);
}

const PAYER = seeded(1);
const PAYEE = seeded(2);
const channelIdOf = (i: number) => {
  const id = new Uint8Array(32);
  new DataView(id.buffer).setUint32(0, i);
  id[31] = 0x77;
  return id;
};

async function newPayer(store: Store, channelId: Uint8Array): Promise<PayerChannel> {
  return PayerChannel.create(new ChannelStore(store), createVoucherSigner(PAYER), {
    chainId: CHAIN_ID,
    channelId,
    payee: addressFromPublicKey(PAYEE.publicKey),
    deposit: 10n ** 18n,
    challengePeriod: 1_000,
  });
}

async function newPayee(store: ChannelStore, channelId: Uint8Array): Promise<PayeeChannel> {
  return PayeeChannel.create(store, {
    chainId: CHAIN_ID,
    channelId,
    payer: addressFromPublicKey(PAYER.publicKey),
    payerPublicKey: PAYER.publicKey,
    deposit: 10n ** 18n,
    challengePeriod: 1_000,
  });
}

interface Timed {
  count: number;
  ms: number;
}

const rate = (t: Timed) => t.count / (t.ms / 1000);

async function timed<T>(into: Timed, count: number, run: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  const result = await run();
  into.ms += performance.now() - started;
  into.count += count;
  return result;
}

/**
 * Raw node:crypto ed25519 verification over voucher-sized digests; the
 * payer's issue path (sign with node:crypto, persist, encode); the payee's
 * accept path (decode, verify, keep the best, persist); and both in series
 * on one thread. In-memory stores: the figures are of the channel code.
 */
async function voucherRates(): Promise<{ raw: Timed; issue: Timed; accept: Timed; oneThread: Timed }> {
  const raw: Timed = { count: 0, ms: 0 };
  const issue: Timed = { count: 0, ms: 0 };
  const accept: Timed = { count: 0, ms: 0 };
  const oneThread: Timed = { count: 0, ms: 0 };
  const messages = Array.from({ length: 64 }, (_, i) => new Uint8Array(32).fill(i));
  const signatures = messages.map((m) => sign(m, PAYER.secretKey));
  const streamed = channelIdOf(1_000);
  const payer = await newPayer(new MemoryStore(), streamed);
  const payee = await newPayee(new ChannelStore(new MemoryStore()), streamed);
  const serial = channelIdOf(2_000);
  const serialPayer = await newPayer(new MemoryStore(), serial);
  const serialPayee = await newPayee(new ChannelStore(new MemoryStore()), serial);
  for (let chunk = 0; chunk < CHUNKS; chunk++) {
    await timed(raw, CHUNK, () => {
      for (let i = 0; i < CHUNK; i++) {
        if (!verify(signatures[i % 64]!, messages[i % 64]!, PAYER.publicKey))
          throw new Error("bad signature");
      }
    });
    const wire = await timed(issue, CHUNK, async () => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < CHUNK; i++) {
        const voucher = await payer.pay(1n);
        out.push(encodeChannelMessage({ type: "voucher", voucher }));
      }
      return out;
    });
    // The payee session's hot path: verify and keep each voucher, persist without holding up the next
    // (writes coalesce); the chunk ends when the last one is durable.
    await timed(accept, CHUNK, async () => {
      let persisted: Promise<void> = Promise.resolve();
      for (const bytes of wire) {
        const message = decodeChannelMessage(bytes);
        if (message.type !== "voucher" || !payee.accept(message.voucher).accepted) {
          throw new Error("a fresh voucher was refused");
        }
        persisted = payee.flush();
      }
      await persisted;
      if (payee.durableVoucher?.cumulativeAmount !== payer.spent)
        throw new Error("the newest voucher is not durable");
    });
    await timed(oneThread, CHUNK, async () => {
      for (let i = 0; i < CHUNK; i++) {
        const voucher = await serialPayer.pay(1n);
        const message = decodeChannelMessage(encodeChannelMessage({ type: "voucher", voucher }));
        if (message.type !== "voucher" || !(await serialPayee.receive(message.voucher)).accepted) {
          throw new Error("refused");
        }
      }
    });
  }
  return { raw, issue, accept, oneThread };
}

/** The payer on RocksDB with fsync: payments pipelined, so writes coalesce. */
async function rocksIssueRate(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "channels-bench-"));
  const store = await openRocksStore(join(dir, "db"));
  try {
    const payer = await newPayer(store, channelIdOf(3_000));
    const started = performance.now();
    for (let done = 0; done < ROCKS_VOUCHERS; done += ROCKS_PIPELINE) {
      await Promise.all(Array.from({ length: ROCKS_PIPELINE }, () => payer.pay(1n)));
    }
    return perSecond(ROCKS_VOUCHERS, started);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs each flow through the real ledger and counts its channel transactions. */
async function transactionsPerLifetime(): Promise<{
  payeeClose: number;
  cooperative: number;
  dispute: number;
}> {
  const ledger = await Ledger.open({
    store: new MemoryStore(),
    genesis: createGenesis({
      chainId: CHAIN_ID,
      genesisTimeMs: 1_700_000_000_000,
      minFee: 1n,
      accounts: [PAYER, PAYEE].map((k) => ({
        address: addressFromPublicKey(k.publicKey),
        balance: 10n ** 12n,
      })),
    }),
    modules: [channelsModule],
  });
  const payee = addressFromPublicKey(PAYEE.publicKey);
  const envelope = (keys: KeyPair) => ({
    chainId: CHAIN_ID,
    keys,
    nonce: ledger.getAccount(addressFromPublicKey(keys.publicKey)).nonce,
    fee: 1n,
  });
  let channelTxs = 0;
  const commit = async (txs: Transaction[]) => {
    const index = ledger.lastAppliedIndex + 1;
    const result = await ledger.applyCommit({
      index,
      timestampMs: 1_700_000_000_000 + index,
      feeRecipient: null,
      transactions: txs.map(encodeTransaction),
    });
    for (const r of result.receipts) {
      if (!r.success) throw new Error(`${r.kind} failed: ${r.errorCode}`);
      if (Object.values(ChannelKind).includes(r.kind as never)) channelTxs++;
    }
  };
  const open = async () => {
    const { tx, channelId } = buildChannelOpen({
      ...envelope(PAYER),
      payee,
      deposit: 1_000n,
      challengePeriod: 4,
    });
    await commit([tx]);
    return channelId;
  };
  const voucher = (channelId: Uint8Array, amount: bigint, sequence: number): Voucher =>
    signVoucher({ chainId: CHAIN_ID, channelId, cumulativeAmount: amount, sequence }, PAYER.secretKey);
  const count = async (flow: () => Promise<void>) => {
    channelTxs = 0;
    await flow();
    return channelTxs;
  };
  const payeeClose = await count(async () => {
    const id = await open();
    await commit([buildChannelClose({ ...envelope(PAYEE), channelId: id, voucher: voucher(id, 500n, 500) })]);
  });
  const cooperative = await count(async () => {
    const id = await open();
    const body = { chainId: CHAIN_ID, channelId: id, payeeAmount: 500n };
    await commit([
      buildChannelCooperativeClose({
        ...envelope(PAYER),
        channelId: id,
        payeeAmount: 500n,
        payeePublicKey: PAYEE.publicKey,
        payerSignature: signCooperativeClose(body, PAYER),
        payeeSignature: signCooperativeClose(body, PAYEE),
      }),
    ]);
  });
  const dispute = await count(async () => {
    const id = await open();
    await commit([buildChannelClose({ ...envelope(PAYER), channelId: id, voucher: voucher(id, 100n, 100) })]);
    await commit([
      buildChannelChallenge({ ...envelope(PAYEE), channelId: id, voucher: voucher(id, 500n, 500) }),
    ]);
    for (let i = 0; i < 4; i++) await commit([]);
    await commit([buildChannelSettle({ ...envelope(PAYEE), channelId: id })]);
  });
  return { payeeClose, cooperative, dispute };
}

/** JS heap plus array buffers per open payee channel (record with a voucher, and the watcher's entry). */
async function payeeBytesPerChannel(): Promise<number> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const dir = await mkdtemp(join(tmpdir(), "channels-bench-memory-"));
  // RocksDB on disk without fsync: its memory is native, outside the figure, as in a node.
  const store = await openRocksStore(join(dir, "db"), { sync: false });
  try {
    const channelStore = new ChannelStore(store);
    const vouchers = Array.from({ length: MEMORY_CHANNELS }, (_, i) =>
      encodeChannelMessage({
        type: "voucher",
        voucher: createVoucherSigner(PAYER).sign({
          chainId: CHAIN_ID,
          channelId: channelIdOf(10_000 + i),
          cumulativeAmount: 1_000n + BigInt(i),
          sequence: 7,
        }),
      }),
    );
    const used = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = used();
    const channels: PayeeChannel[] = [];
    const watcher = new ChannelWatcher();
    for (let i = 0; i < MEMORY_CHANNELS; i++) {
      const channel = await newPayee(channelStore, channelIdOf(10_000 + i));
      const message = decodeChannelMessage(vouchers[i]!);
      if (message.type !== "voucher") throw new Error("not a voucher");
      await channel.receive(message.voucher);
      watcher.watch(channel.channelId, channel.bestVoucher);
      channels.push(channel);
    }
    const after = used();
    if (channels.length !== MEMORY_CHANNELS || watcher.size !== MEMORY_CHANNELS)
      throw new Error("lost channels");
    return (after - before) / MEMORY_CHANNELS;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<void> {
  // Warm-up: JIT and key caches.
  await voucherRates();
  const rates = await voucherRates();
  const rawRate = rate(rates.raw);
  const bound = THROUGHPUT_BOUND_RATIO * rawRate;
  const issueRate = rate(rates.issue);
  const acceptRate = rate(rates.accept);
  const channelRate = Math.min(issueRate, acceptRate);
  const oneThreadRate = rate(rates.oneThread);
  const rocks = await rocksIssueRate();
  const lifetimes = await transactionsPerLifetime();
  const bytes = await payeeBytesPerChannel();

  const ratio = (r: number) => (r / rawRate).toFixed(2);
  process.stdout.write(
    [
      `channels vouchers/s on one channel = ${channelRate.toFixed(0)} (${ratio(channelRate)} x raw ed25519 verify = ${rawRate.toFixed(0)}/s; bound >= ${THROUGHPUT_BOUND_RATIO} x = ${bound.toFixed(0)}/s: ${channelRate >= bound ? "met" : "NOT met"})`,
      `channels   payer issues/s (sign with node:crypto, persist, encode) = ${issueRate.toFixed(0)} (${ratio(issueRate)} x raw verify)`,
      `channels   payee accepts/s (decode, verify, keep best, persist coalesced) = ${acceptRate.toFixed(0)} (${ratio(acceptRate)} x raw verify)`,
      `channels   both halves on one thread = ${oneThreadRate.toFixed(0)}/s (${ratio(oneThreadRate)} x raw verify; sign + verify in series)`,
      `channels   payer issues/s on RocksDB with fsync, ${ROCKS_PIPELINE} in flight (writes coalesce) = ${rocks.toFixed(0)}`,
      `channels on-chain txs per lifetime, payee close = ${lifetimes.payeeClose} (bound 2), cooperative close = ${lifetimes.cooperative} (bound 2), with a dispute = ${lifetimes.dispute} (bound 4)`,
      `channels payee memory per open channel = ${bytes.toFixed(0)} bytes (${MEMORY_CHANNELS} channels with a voucher each, watched; bound ${PAYEE_CHANNEL_BYTES_MAX} bytes: ${bytes <= PAYEE_CHANNEL_BYTES_MAX ? "met" : "NOT met"})`,
      "",
    ].join("\n"),
  );
}
