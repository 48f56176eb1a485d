/**
 * Ledger throughput: signed transfers executed and persisted to RocksDB
 * (decode, signature check, execution, state tree, one synced batch per
 * commit), in transactions per second. Printed beside two bounds measured in
 * the same run, since the ledger can be no faster than either:
 * - raw RocksDB: batched puts per second, same batch size and sync setting;
 * - ed25519: signature verifications per second through spec `verify`.
 * Target: ledger tx/s at least 0.5 x the lower bound.
 *
 * Then catch-up: many small commits handed over at once, as a node that
 * fell behind receives them, against the same commits awaited one by one.
 * The ledger writes the commits executed during a write as one batch, so
 * the first rate should exceed the second.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "../consensus/index.ts";
import {
  type ApplyResult,
  CoreKind,
  createGenesis,
  encodeTransferPayload,
  Ledger,
  openRocksStore,
  type RocksStore,
  WriteBatch,
} from "../ledger/index.ts";
import {
  addressFromPublicKey,
  createSigner,
  encodeTransaction,
  generateKeyPair,
  type KeyPair,
  type TransactionBody,
  transactionDigest,
  verify,
} from "../spec/index.ts";

/** Transactions per commit: a full block of the consensus bench. */
const COMMIT_TRANSACTIONS = 1_000;
/**
 * The three figures are measured in ROUNDS interleaved rounds and each is
 * reported as its median, so a burst of load from other processes on this
 * shared machine hits the figure and its bounds alike rather than one alone.
 */
const ROUNDS = 5;
/** Commits applied per round: 8,000 transfers, about two seconds of work. */
const COMMITS_PER_ROUND = 8;
const COMMITS = ROUNDS * COMMITS_PER_ROUND;
/**
 * Commits handed to the ledger before awaiting the oldest: 2 lets the next
 * commit's signature checks overlap the current commit's execution and
 * write, as the node's commit loop does.
 */
const PIPELINE_DEPTH = 2;
/** Distinct senders: each sends COMMITS transfers, one per commit. */
const SENDERS = COMMIT_TRANSACTIONS;
/** Raw store: puts per batch (as a commit of transfers writes about 3 entries per transaction). */
const RAW_BATCH_PUTS = 3 * COMMIT_TRANSACTIONS;
const RAW_BATCHES_PER_ROUND = 8;
/** Verifications per round for the ed25519 bound. */
const VERIFICATIONS_PER_ROUND = 5_000;
const CHAIN_ID = "hyperspace-bench";

function seededKeys(count: number): KeyPair[] {
  return Array.from({ length: count }, (_, i) => {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, i);
    seed[31] = 0xbe;
    return generateKeyPair(seed);
  });
}

function rate(count: number, ms: number): number {
  return Math.round((count / ms) * 1000);
}

async function rawRocksPutsPerSecond(store: RocksStore, round: number): Promise<number> {
  const value = new Uint8Array(80).fill(7);
  const batches = Array.from({ length: RAW_BATCHES_PER_ROUND }, (_, b) => {
    const batch = new WriteBatch();
    for (let i = 0; i < RAW_BATCH_PUTS; i++) {
      const key = new Uint8Array(33);
      key[0] = 0x10;
      new DataView(key.buffer).setUint32(1, (round * RAW_BATCHES_PER_ROUND + b) * RAW_BATCH_PUTS + i);
      batch.put(key, value);
    }
    return batch;
  });
  const started = performance.now();
  for (const batch of batches) await store.write(batch);
  return rate(RAW_BATCHES_PER_ROUND * RAW_BATCH_PUTS, performance.now() - started);
}

interface SignedMessage {
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly publicKey: Uint8Array;
}

function verificationsPerSecond(signed: readonly SignedMessage[]): number {
  const started = performance.now();
  for (let i = 0; i < VERIFICATIONS_PER_ROUND; i++) {
    const s = signed[i % signed.length]!;
    assertTrue(verify(s.signature, s.message, s.publicKey));
  }
  return rate(VERIFICATIONS_PER_ROUND, performance.now() - started);
}

function assertTrue(value: boolean): void {
  if (!value) throw new Error("bench self-check failed");
}

function signedTransfer(
  sign: (digest: Uint8Array) => Uint8Array,
  sender: Uint8Array,
  nonce: number,
  to: Uint8Array,
  amount: bigint,
): Uint8Array {
  const body: TransactionBody = {
    chainId: CHAIN_ID,
    sender,
    nonce,
    fee: 10n,
    kind: CoreKind.Transfer,
    payload: encodeTransferPayload({ to, amount }),
  };
  return encodeTransaction({ ...body, signature: sign(transactionDigest(body)) });
}

function signedCommits(keys: readonly KeyPair[], addresses: readonly Uint8Array[]): Uint8Array[][] {
  const signers = keys.map((k) => createSigner(k.secretKey));
  return Array.from({ length: COMMITS }, (_, c) =>
    keys.map((k, s) =>
      signedTransfer(signers[s]!, k.publicKey, c, addresses[(s + c + 1) % SENDERS]!, 1n + BigInt(c)),
    ),
  );
}

/** Applies the next COMMITS_PER_ROUND commits, PIPELINE_DEPTH at a time; returns transfers per second. */
async function ledgerTransfersPerSecond(
  ledger: Ledger,
  commits: readonly Uint8Array[][],
  feeRecipient: Uint8Array,
) {
  const check = (result: ApplyResult) =>
    assertTrue(result.receipts.length === COMMIT_TRANSACTIONS && result.receipts.every((r) => r.success));
  const first = ledger.lastAppliedIndex;
  const started = performance.now();
  const inFlight: Promise<ApplyResult>[] = [];
  for (let c = first; c < first + COMMITS_PER_ROUND; c++) {
    inFlight.push(
      ledger.applyCommit({ index: c + 1, timestampMs: c, feeRecipient, transactions: commits[c]! }),
    );
    if (inFlight.length >= PIPELINE_DEPTH) check(await inFlight.shift()!);
  }
  for (const pending of inFlight) check(await pending);
  return rate(COMMITS_PER_ROUND * COMMIT_TRANSACTIONS, performance.now() - started);
}

/** Catch-up: commits of a few transfers each, enough for a few seconds of work. */
const CATCH_UP_COMMITS = 600;
const CATCH_UP_TRANSACTIONS = 20;

function smallCommits(keys: readonly KeyPair[], addresses: readonly Uint8Array[]): Uint8Array[][] {
  const signers = keys.map((k) => createSigner(k.secretKey));
  const nonces = new Array<number>(keys.length).fill(0);
  let next = 0;
  return Array.from({ length: CATCH_UP_COMMITS }, () =>
    Array.from({ length: CATCH_UP_TRANSACTIONS }, () => {
      const s = next++ % keys.length;
      return signedTransfer(
        signers[s]!,
        keys[s]!.publicKey,
        nonces[s]!++,
        addresses[(s + 1) % keys.length]!,
        1n,
      );
    }),
  );
}

/** Commits per second into a fresh ledger: all handed over at once, or each awaited before the next. */
async function catchUpCommitsPerSecond(
  genesis: ReturnType<typeof createGenesis>,
  commits: readonly Uint8Array[][],
  feeRecipient: Uint8Array,
  atOnce: boolean,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "hyperspace-bench-catchup-"));
  const store = await openRocksStore(dir);
  try {
    const ledger = await Ledger.open({ store, genesis });
    const input = (c: number) => ({ index: c + 1, timestampMs: c, feeRecipient, transactions: commits[c]! });
    const check = (result: ApplyResult) =>
      assertTrue(result.receipts.length === CATCH_UP_TRANSACTIONS && result.receipts.every((r) => r.success));
    const started = performance.now();
    if (atOnce)
      for (const result of await Promise.all(commits.map((_, c) => ledger.applyCommit(input(c)))))
        check(result);
    else for (let c = 0; c < commits.length; c++) check(await ledger.applyCommit(input(c)));
    const perSecond = rate(commits.length, performance.now() - started);
    await ledger.close();
    return perSecond;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<void> {
  const keys = seededKeys(SENDERS);
  const addresses = keys.map((k) => addressFromPublicKey(k.publicKey));
  const commits = signedCommits(keys, addresses);
  const signed = keys.map((k, i) => {
    const message = new Uint8Array(32).fill(i & 0xff);
    return { message, signature: createSigner(k.secretKey)(message), publicKey: k.publicKey };
  });
  for (const s of signed) assertTrue(verify(s.signature, s.message, s.publicKey)); // warm the key cache
  const genesis = createGenesis({
    chainId: CHAIN_ID,
    genesisTimeMs: 0,
    accounts: addresses.map((address) => ({ address, balance: 10n ** 12n })),
  });

  const rawDir = mkdtempSync(join(tmpdir(), "hyperspace-bench-raw-"));
  const ledgerDir = mkdtempSync(join(tmpdir(), "hyperspace-bench-ledger-"));
  const rawStore = await openRocksStore(rawDir);
  const ledgerStore = await openRocksStore(ledgerDir);
  const figures = { rocks: [] as number[], verifies: [] as number[], ledger: [] as number[] };
  try {
    const ledger = await Ledger.open({ store: ledgerStore, genesis });
    for (let round = 0; round < ROUNDS; round++) {
      figures.rocks.push(await rawRocksPutsPerSecond(rawStore, round));
      figures.verifies.push(verificationsPerSecond(signed));
      figures.ledger.push(await ledgerTransfersPerSecond(ledger, commits, addresses[0]!));
    }
    await ledger.close();
  } finally {
    await rawStore.close();
    await ledgerStore.close();
    rmSync(rawDir, { recursive: true, force: true });
    rmSync(ledgerDir, { recursive: true, force: true });
  }

  const catchUp = { atOnce: [] as number[], oneByOne: [] as number[] };
  const small = smallCommits(keys.slice(0, 200), addresses.slice(0, 200));
  for (let round = 0; round < 3; round++) {
    catchUp.oneByOne.push(await catchUpCommitsPerSecond(genesis, small, addresses[0]!, false));
    catchUp.atOnce.push(await catchUpCommitsPerSecond(genesis, small, addresses[0]!, true));
  }

  const rocks = Math.round(median(figures.rocks));
  const verifies = Math.round(median(figures.verifies));
  const ledger = Math.round(median(figures.ledger));
  const bound = Math.min(rocks, verifies);
  const range = (values: number[]) => `${Math.min(...values)}..${Math.max(...values)}`;
  console.log(
    `rocksdb batched puts/s = ${rocks} (batches of ${RAW_BATCH_PUTS}, synced; rounds ${range(figures.rocks)})`,
  );
  console.log(
    `ed25519 verifications/s = ${verifies} (spec verify, one thread; rounds ${range(figures.verifies)})`,
  );
  console.log(
    `ledger tx/s = ${ledger} (${(ledger / bound).toFixed(2)} x min bound = ${bound} tx/s; target 0.50)` +
      ` [commits of ${COMMIT_TRANSACTIONS} transfers, ${SENDERS} accounts, synced RocksDB; rounds ${range(figures.ledger)}]`,
  );
  const atOnce = Math.round(median(catchUp.atOnce));
  const oneByOne = Math.round(median(catchUp.oneByOne));
  console.log(
    `ledger catch-up commits/s = ${atOnce} handed over at once (${(atOnce / oneByOne).toFixed(2)} x ${oneByOne} awaited one by one)` +
      ` [${CATCH_UP_COMMITS} commits of ${CATCH_UP_TRANSACTIONS} transfers, synced RocksDB; rounds ${range(catchUp.atOnce)} and ${range(catchUp.oneByOne)}]`,
  );
}
