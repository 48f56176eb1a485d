import {
  type Account,
  assert,
  byteKey,
  bytesEqual,
  CodecError,
  compareBytes,
  EMPTY_ACCOUNT,
  fromByteKey,
  fromHex,
  toHex,
} from "../spec/index.ts";
import { type Bucket, bucketPrefix, STATE_BUCKETS } from "./buckets.ts";
import { COMMIT_TRANSACTIONS_MAX } from "./constants.ts";
import { coreModule } from "./core-module.ts";
import { LedgerError } from "./errors.ts";
import { type CommitInput, executeCommit } from "./execute.ts";
import { type Genesis, genesisDigest, genesisEntries } from "./genesis.ts";
import {
  type CommitRecord,
  commitRecordKey,
  decodeCommitRecord,
  encodeCommitRecord,
  GENESIS_DIGEST_KEY,
  LAST_APPLIED_KEY,
  receiptKey,
} from "./meta.ts";
import { type LedgerModule, ModuleRegistry } from "./module.ts";
import { type PreparedTransaction, prepareTransactionsParallel } from "./prepare.ts";
import type { StateProof } from "./proof.ts";
import { decodeReceipt, encodeReceipt, type Receipt, type RejectedTransaction } from "./receipt.ts";
import { StateSnapshot } from "./snapshot.ts";
import { LedgerState, type StateTotals } from "./state.ts";
import { accountKey, type ChainParams } from "./state-keys.ts";
import { type Store, type StoreEntry, WriteBatch } from "./store.ts";
import type { ValidatorEntry } from "./validator.ts";

/**
 * The ledger: the execution engine bound to a store.
 *
 * At open it loads the whole state into memory (LedgerState) and rebuilds
 * the state tree from it, checking the root against the one recorded with
 * the last applied commit. Each `applyCommit` executes synchronously against
 * memory, then writes the state changes, the receipts, the commit's record
 * and the new last-applied record in ONE atomic batch. A crash at any point
 * leaves the store at the last fully applied commit, and reopening resumes
 * there. Applying a commit at or below the last applied index is a no-op.
 *
 * Writes are group commits. Execution does not wait for a commit's write:
 * the commits executed while one batch is being written go to the store
 * together in the next batch, and each `applyCommit` resolves once its own
 * batch is written. The store thus sees one write per batch, not one per
 * commit, and a slow write delays results without stalling execution.
 *
 * The ledger does not own the store: `close` stops the ledger, and whoever
 * opened the store closes it.
 */

export interface LedgerOptions {
  readonly store: Store;
  readonly genesis: Genesis;
  /** Modules besides the core module (channels, market). */
  readonly modules?: readonly LedgerModule[];
  /**
   * Keep a frozen copy of the state after every commit whose index is a
   * multiple of this (checkpoints that other nodes may start from); the
   * newest SNAPSHOTS_KEPT are kept. Default: none.
   */
  readonly snapshotIntervalCommits?: number;
  /**
   * fsync each applied commit before `applyCommit` resolves (default true).
   * A node turns it off: its consensus store holds every commit durably
   * before execution, and at start it executes again whatever commits the
   * ledger lost (a power cut can lose unsynced writes, a killed process
   * cannot).
   */
  readonly syncCommits?: boolean;
}

/** A checkpoint state to install into a fresh ledger: the commit's record and every state entry in key order. */
export interface SnapshotInstall {
  readonly record: CommitRecord;
  readonly entries: readonly StoreEntry[];
}

export interface ApplyResult {
  readonly index: number;
  readonly stateRoot: Uint8Array;
  /** True when the commit had been applied before and this call changed nothing. */
  readonly alreadyApplied: boolean;
  readonly receipts: readonly Receipt[];
  readonly rejected: readonly RejectedTransaction[];
}

/** Receipt lookups for possible duplicates run this many at a time: enough to hide latency, bounded memory. */
const RECEIPT_LOOKUP_CONCURRENCY = 256;

/**
 * Checkpoint snapshots kept in memory. Two: a node downloading the older one
 * still has a whole checkpoint interval to finish after the newer one is
 * taken, and memory stays at most two shallow copies of the state maps.
 */
export const SNAPSHOTS_KEPT = 2;

/** Commits executed in memory and waiting to be written together. */
interface WriteGroup {
  readonly batch: WriteBatch;
  /** The last commit in the batch: the store's last-applied record once it is written. */
  last: CommitRecord;
  /** Receipts in the batch, by transaction hash key (a repeated transaction must be found before it is written). */
  readonly receipts: Set<string>;
  readonly written: Promise<void>;
  readonly settle: (error: Error | null) => void;
}

export class Ledger {
  private closed = false;
  /** Set when a write failed after memory moved on: memory is ahead of disk, so the ledger refuses all use. */
  private failure: Error | null = null;
  /** Execution in commit order; each step ends once its commit is applied in memory. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The commits executed since the last write began, if any. */
  private group: WriteGroup | null = null;
  /** The batch being written, if any. */
  private writing: WriteGroup | null = null;
  /** The last commit whose batch is written (`last` is the last one executed). */
  private durable: CommitRecord;
  /** Checkpoint snapshots, oldest first, at most SNAPSHOTS_KEPT. */
  private snapshots: StateSnapshot[] = [];
  private readonly snapshotIntervalCommits: number;
  private readonly syncCommits: boolean;

  private constructor(
    private readonly store: Store,
    private state: LedgerState,
    private readonly registry: ModuleRegistry,
    private last: CommitRecord,
    readonly genesisDigest: Uint8Array,
    options: LedgerOptions,
  ) {
    this.snapshotIntervalCommits = options.snapshotIntervalCommits ?? 0;
    this.syncCommits = options.syncCommits ?? true;
    this.durable = last;
    this.captureIfCheckpoint();
  }

  static async open(options: LedgerOptions): Promise<Ledger> {
    const { store, genesis } = options;
    const registry = new ModuleRegistry([coreModule, ...(options.modules ?? [])]);
    const digest = genesisDigest(genesis);
    const storedDigest = await store.get(GENESIS_DIGEST_KEY);

    if (storedDigest === null) {
      const entries = genesisEntries(genesis);
      const state = LedgerState.fromEntries(entries);
      const record: CommitRecord = {
        index: 0,
        stateRoot: state.root(),
        timestampMs: genesis.genesisTimeMs,
        executed: 0,
        failed: 0,
        rejected: 0,
      };
      const batch = new WriteBatch();
      for (const { key, value } of entries) batch.put(key, value);
      batch.put(commitRecordKey(0), encodeCommitRecord(record));
      batch.put(LAST_APPLIED_KEY, encodeCommitRecord(record));
      batch.put(GENESIS_DIGEST_KEY, digest);
      await store.write(batch);
      return new Ledger(store, state, registry, record, digest, options);
    }

    if (!bytesEqual(storedDigest, digest)) {
      throw new LedgerError("GENESIS_MISMATCH", "the store was created from another genesis", {
        stored: toHex(storedDigest),
        given: toHex(digest),
      });
    }
    const lastBytes = await store.get(LAST_APPLIED_KEY);
    if (lastBytes === null) throw new LedgerError("CORRUPT_STATE", "last applied commit record missing", {});
    const last = decodeMeta(lastBytes);
    const entries: { key: Uint8Array; value: Uint8Array }[] = [];
    for (const bucket of STATE_BUCKETS) {
      for await (const entry of store.iterate(bucketPrefix(bucket))) entries.push(entry);
    }
    const state = LedgerState.fromEntries(entries);
    if (!bytesEqual(state.root(), last.stateRoot)) {
      throw new LedgerError(
        "CORRUPT_STATE",
        `state root after commit ${last.index} does not match its record`,
        {
          computed: toHex(state.root()),
          recorded: toHex(last.stateRoot),
        },
      );
    }
    return new Ledger(store, state, registry, last, digest, options);
  }

  /** The last commit applied and written; its record and receipts can be read. */
  get lastAppliedIndex(): number {
    return this.durable.index;
  }

  get lastCommit(): CommitRecord {
    return this.durable;
  }

  get stateRoot(): Uint8Array {
    return this.durable.stateRoot;
  }

  get params(): ChainParams {
    return this.state.params;
  }

  get chainId(): string {
    return this.state.params.chainId;
  }

  get modules(): readonly LedgerModule[] {
    return this.registry.modules;
  }

  /**
   * Executes one commit and persists its outcome atomically; resolves once
   * it is written. Calls are serialised. Index must be the last executed
   * index + 1; an index at or below the last applied one is a no-op that
   * returns the recorded root.
   */
  applyCommit(input: CommitInput): Promise<ApplyResult> {
    // Decoding and signature checks need no state, so they start at once and
    // overlap the commits queued ahead of this one.
    const prepared =
      input.transactions.length <= COMMIT_TRANSACTIONS_MAX
        ? prepareTransactionsParallel(input.transactions, this.state.params.chainId)
        : null;
    prepared?.catch(() => undefined); // awaited (and rethrown) in applyNow
    const executed = this.queue.then(() => this.applyNow(input, prepared));
    this.queue = executed.catch(() => undefined);
    return executed.then(async ({ result, written }) => {
      await written;
      return result;
    });
  }

  private async applyNow(
    input: CommitInput,
    preparing: Promise<PreparedTransaction[]> | null,
  ): Promise<{ result: ApplyResult; written: Promise<void> }> {
    this.checkUsable();
    if (input.index <= this.last.index) {
      await this.allWritten();
      const record = await this.getCommitRecord(input.index);
      assert(record !== null, `commit ${input.index} was applied, so it has a record`);
      const result = {
        index: input.index,
        stateRoot: record.stateRoot,
        alreadyApplied: true,
        receipts: [],
        rejected: [],
      };
      return { result, written: Promise.resolve() };
    }
    if (input.index !== this.last.index + 1) {
      throw new LedgerError("COMMIT_OUT_OF_ORDER", `commit ${input.index} after ${this.last.index}`, {
        index: input.index,
        lastApplied: this.last.index,
      });
    }
    if (preparing === null) {
      throw new LedgerError("COMMIT_TOO_LARGE", `${input.transactions.length} transactions`, {
        count: input.transactions.length,
      });
    }

    const prepared = await preparing;
    // Only a transaction whose nonce is below its sender's current nonce can
    // have executed before (executing bumps the nonce past it, and nonces
    // never go back), so only those need a receipt lookup.
    const stale: string[] = [];
    for (const p of prepared) {
      if (p.ok && p.tx.nonce < (this.state.account(p.senderKey) ?? EMPTY_ACCOUNT).nonce)
        stale.push(p.hashKey);
    }
    const executedBefore = await this.findReceipts(stale);
    const execution = executeCommit(this.state, this.registry, input, prepared, (key) =>
      executedBefore.has(key),
    );

    const group = this.openGroup();
    const batch = group.batch;
    let record: CommitRecord;
    try {
      for (const write of this.state.apply(execution.changes)) {
        if (write.value === null) batch.delete(write.key);
        else batch.put(write.key, write.value);
      }
      for (const receipt of execution.receipts) {
        batch.put(receiptKey(receipt.txHash), encodeReceipt(receipt));
        group.receipts.add(byteKey(receipt.txHash));
      }
      record = {
        index: input.index,
        stateRoot: this.state.root(),
        timestampMs: input.timestampMs,
        executed: execution.receipts.length,
        failed: execution.receipts.filter((r) => !r.success).length,
        rejected: execution.rejected.length,
      };
      const recordBytes = encodeCommitRecord(record);
      batch.put(commitRecordKey(input.index), recordBytes);
      batch.put(LAST_APPLIED_KEY, recordBytes);
    } catch (error) {
      // Memory may be part-way through the commit: nothing more may be written, and the open group fails.
      this.failure = error as Error;
      this.writeNextGroup();
      throw error;
    }
    group.last = record;
    this.last = record;
    this.captureIfCheckpoint();
    this.writeNextGroup();
    const result = {
      index: input.index,
      stateRoot: record.stateRoot,
      alreadyApplied: false,
      receipts: execution.receipts,
      rejected: execution.rejected,
    };
    return { result, written: group.written };
  }

  /** The group the next executed commit joins. */
  private openGroup(): WriteGroup {
    if (this.group !== null) return this.group;
    let settle!: (error: Error | null) => void;
    const written = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === null ? resolve() : reject(error));
    });
    written.catch(() => undefined); // the callers waiting on it handle the failure
    this.group = { batch: new WriteBatch(), last: this.last, receipts: new Set(), written, settle };
    return this.group;
  }

  /** Starts writing the open group unless a write is in progress (its end starts the next one). */
  private writeNextGroup(): void {
    const group = this.group;
    if (this.writing !== null || group === null) return;
    this.group = null;
    this.writing = group;
    const write =
      this.failure === null
        ? this.store.write(group.batch, { sync: this.syncCommits })
        : Promise.reject(this.failure);
    write.then(
      () => {
        this.durable = group.last;
        this.finishWrite(group, null);
      },
      (error: Error) => {
        this.failure ??= error;
        this.finishWrite(group, error);
      },
    );
  }

  private finishWrite(group: WriteGroup, error: Error | null): void {
    this.writing = null;
    group.settle(error);
    this.writeNextGroup();
  }

  /** Resolves once every executed commit is written (or its write failed). */
  private async allWritten(): Promise<void> {
    for (;;) {
      const pending = this.writing ?? this.group;
      if (pending === null) return;
      await pending.written.catch(() => undefined);
    }
  }

  /**
   * Replaces the genesis state of a fresh ledger (nothing applied yet) with
   * the state after a certified checkpoint commit, so the node continues
   * from there instead of replaying the chain. The entries must be in
   * strictly increasing key order, all in state buckets, decode strictly
   * and hash to `record.stateRoot`; anything else is a SNAPSHOT_MISMATCH
   * and changes nothing. Old state, the new state, the commit's record and
   * the last-applied record (plus the caller's `alongside` writes, such as
   * the consensus commit at that index) go to the store in one atomic batch.
   * Commits and receipts before the checkpoint are simply not on this node.
   */
  installSnapshot(snapshot: SnapshotInstall, alongside: WriteBatch = new WriteBatch()): Promise<void> {
    const run = this.queue.then(() => this.installNow(snapshot, alongside));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async installNow(snapshot: SnapshotInstall, alongside: WriteBatch): Promise<void> {
    this.checkUsable();
    if (this.last.index !== 0) {
      throw new LedgerError("LEDGER_NOT_FRESH", `commits up to ${this.last.index} are applied already`, {
        lastApplied: this.last.index,
      });
    }
    const { record, entries } = snapshot;
    const mismatch = (message: string, details: Record<string, unknown> = {}) =>
      new LedgerError("SNAPSHOT_MISMATCH", `snapshot of commit ${record.index}: ${message}`, {
        index: record.index,
        ...details,
      });
    if (record.index < 1) throw mismatch("a snapshot follows a commit, not genesis");
    for (let i = 1; i < entries.length; i++) {
      if (compareBytes(entries[i - 1]!.key, entries[i]!.key) >= 0)
        throw mismatch(`entry ${i} is out of key order or repeated`);
    }
    let state: LedgerState;
    try {
      state = LedgerState.fromEntries(entries);
    } catch (error) {
      if (error instanceof LedgerError && error.code === "CORRUPT_STATE") throw mismatch(error.message);
      throw error;
    }
    if (state.params.chainId !== this.state.params.chainId)
      throw mismatch(`state of chain ${state.params.chainId}`);
    if (!bytesEqual(state.root(), record.stateRoot)) {
      throw mismatch("entries do not hash to the certified state root", {
        computed: toHex(state.root()),
        certified: toHex(record.stateRoot),
      });
    }
    const batch = new WriteBatch();
    for (const { key } of this.state.entries()) batch.delete(key);
    for (const { key, value } of entries) batch.put(key, value);
    const recordBytes = encodeCommitRecord(record);
    batch.put(commitRecordKey(record.index), recordBytes);
    batch.put(LAST_APPLIED_KEY, recordBytes);
    for (const op of alongside.operations) {
      if (op.type === "put") batch.put(op.key, op.value);
      else batch.delete(op.key);
    }
    try {
      await this.store.write(batch);
    } catch (error) {
      this.failure = error as Error;
      throw error;
    }
    this.state = state;
    this.last = record;
    this.durable = record;
    this.snapshots = [];
    this.captureIfCheckpoint();
  }

  /** The kept checkpoint snapshot after commit `index`, if any. */
  snapshotAt(index: number): StateSnapshot | null {
    return this.snapshots.find((s) => s.index === index) ?? null;
  }

  /** The kept checkpoint snapshots, oldest first. */
  get checkpointSnapshots(): readonly StateSnapshot[] {
    return this.snapshots;
  }

  private captureIfCheckpoint(): void {
    const every = this.snapshotIntervalCommits;
    if (every <= 0 || this.last.index === 0 || this.last.index % every !== 0) return;
    if (this.snapshots.at(-1)?.index === this.last.index) return;
    this.snapshots.push(new StateSnapshot(this.last, this.state.frozenEntries()));
    if (this.snapshots.length > SNAPSHOTS_KEPT) this.snapshots.shift();
  }

  private async findReceipts(hashKeys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const stored: string[] = [];
    // A receipt executed but not yet written is in the batch being written or the open one.
    for (const key of hashKeys) {
      if (this.writing?.receipts.has(key) || this.group?.receipts.has(key)) found.add(key);
      else stored.push(key);
    }
    for (let i = 0; i < stored.length; i += RECEIPT_LOOKUP_CONCURRENCY) {
      const chunk = stored.slice(i, i + RECEIPT_LOOKUP_CONCURRENCY);
      const values = await Promise.all(chunk.map((k) => this.store.get(receiptKey(fromByteKey(k)))));
      values.forEach((v, j) => {
        if (v !== null) found.add(chunk[j]!);
      });
    }
    return found;
  }

  getAccount(address: Uint8Array): Account {
    this.checkUsable();
    return this.state.account(byteKey(address)) ?? EMPTY_ACCOUNT;
  }

  getValidator(address: Uint8Array): ValidatorEntry | null {
    this.checkUsable();
    return this.state.validator(byteKey(address));
  }

  /** The validator set, ordered by address. */
  getValidators(): ValidatorEntry[] {
    this.checkUsable();
    return this.state.validatorList();
  }

  async getReceipt(txHash: Uint8Array): Promise<Receipt | null> {
    this.checkUsable();
    const bytes = await this.store.get(receiptKey(txHash));
    return bytes === null ? null : decodeStored(decodeReceipt, bytes);
  }

  async getCommitRecord(index: number): Promise<CommitRecord | null> {
    this.checkUsable();
    const bytes = await this.store.get(commitRecordKey(index));
    return bytes === null ? null : decodeMeta(bytes);
  }

  /** Proof of the account at `address` (inclusion, or non-inclusion for an empty account) under `stateRoot`. */
  prove(address: Uint8Array): StateProof {
    return this.proveKey(accountKey(address));
  }

  /** Proof of any state entry by store key. */
  proveKey(key: Uint8Array): StateProof {
    this.checkUsable();
    return this.state.prove(key);
  }

  /** The encoded value of any state entry by store key (module state for RPC queries). */
  getStateValue(key: Uint8Array): Uint8Array | null {
    this.checkUsable();
    return this.state.entryValue(key);
  }

  /** Module state of `bucket` under `prefix` (keys relative to the bucket), in key order. */
  scanModuleValues(
    bucket: Bucket,
    prefix: Uint8Array = new Uint8Array(),
  ): { key: Uint8Array; value: Uint8Array }[] {
    this.checkUsable();
    return this.state.scanModuleValues(bucket, prefix);
  }

  /** Value accounting: `supply + burned` equals the genesis supply. */
  totals(): StateTotals {
    this.checkUsable();
    return this.state.totals();
  }

  /** Stops the ledger after any commit in progress. The store stays open. */
  async close(): Promise<void> {
    await this.queue;
    await this.allWritten();
    this.closed = true;
  }

  private checkUsable(): void {
    if (this.closed) throw new LedgerError("LEDGER_CLOSED", "the ledger is closed", {});
    if (this.failure !== null) {
      throw new LedgerError(
        "LEDGER_CLOSED",
        `a commit write failed; reopen the ledger: ${this.failure.message}`,
        {},
      );
    }
  }
}

function decodeStored<T>(decode: (bytes: Uint8Array) => T, bytes: Uint8Array): T {
  try {
    return decode(bytes);
  } catch (error) {
    if (error instanceof CodecError) throw new LedgerError("CORRUPT_STATE", error.message, {});
    throw error;
  }
}

function decodeMeta(bytes: Uint8Array): CommitRecord {
  return decodeStored(decodeCommitRecord, bytes);
}

/** Parses a 32-byte transaction hash in hex (CLI and RPC input). */
export function parseTxHash(text: string): Uint8Array | null {
  const bytes = fromHex(text);
  return bytes !== null && bytes.byteLength === 32 ? bytes : null;
}
