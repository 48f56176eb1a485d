import {
  type Account,
  addressFromPublicKey,
  assert,
  byteKey,
  bytesEqual,
  CodecError,
  decodeAccount,
  encodeAccount,
  fromByteKey,
} from "../spec/index.ts";
import { Bucket, bucketName, isStateBucket } from "./buckets.ts";
import { LedgerError } from "./errors.ts";
import { proveKey, type StateProof } from "./proof.ts";
import { SparseMerkleTree, stateKeyHash, stateValueHash } from "./smt.ts";
import {
  accountKey,
  BURNED_KEY,
  type ChainParams,
  decodeAmount,
  decodeChainParams,
  ESCROW_KEY_PREFIX,
  encodeAmount,
  encodeChainParams,
  escrowKey,
  PARAMS_KEY,
  validatorKey,
} from "./state-keys.ts";
import { decodeValidatorEntry, encodeValidatorEntry, type ValidatorEntry } from "./validator.ts";

/**
 * The ledger state in memory, and the overlays that execution writes into.
 *
 * `LedgerState` is the committed state: every state entry decoded into maps
 * (accounts, validators, module values, escrows, burned fees, chain params)
 * plus the state tree over their encoded forms. Execution never mutates it:
 * it reads through a `StateOverlay` and returns the overlay, and the ledger
 * then applies the overlay once per commit (`apply`), which updates the maps
 * and the tree and yields the store writes of that commit.
 *
 * An account entry exists only while the account is not empty (balance,
 * nonce and stake all zero): an empty account is deleted, so "never
 * touched" and "emptied" are the same state and give the same root. A
 * non-empty nonce keeps the entry, so a nonce never goes back to zero.
 */

export interface StateView {
  readonly params: ChainParams;
  /** Keys are `byteKey(address)`. */
  account(addressKey: string): Account | null;
  validator(addressKey: string): ValidatorEntry | null;
  /** Keys are `byteKey(store key)`. */
  moduleValue(storeKey: string): Uint8Array | null;
  burned(): bigint;
  escrow(moduleName: string): bigint;
}

/** Writes on top of a parent view. Accounts are never deleted here (empty ones are, at apply). */
export class StateOverlay implements StateView {
  readonly accounts = new Map<string, Account>();
  readonly validators = new Map<string, ValidatorEntry | null>();
  readonly moduleValues = new Map<string, Uint8Array | null>();
  readonly escrows = new Map<string, bigint>();
  burnedAmount: bigint | null = null;

  constructor(private readonly parent: StateView) {}

  get params(): ChainParams {
    return this.parent.params;
  }

  account(addressKey: string): Account | null {
    return this.accounts.get(addressKey) ?? this.parent.account(addressKey);
  }

  validator(addressKey: string): ValidatorEntry | null {
    const own = this.validators.get(addressKey);
    return own !== undefined ? own : this.parent.validator(addressKey);
  }

  moduleValue(storeKey: string): Uint8Array | null {
    const own = this.moduleValues.get(storeKey);
    return own !== undefined ? own : this.parent.moduleValue(storeKey);
  }

  burned(): bigint {
    return this.burnedAmount ?? this.parent.burned();
  }

  escrow(moduleName: string): bigint {
    return this.escrows.get(moduleName) ?? this.parent.escrow(moduleName);
  }

  /** Copies every write of this overlay into `target` (a transaction's writes into its commit's). */
  mergeInto(target: StateOverlay): void {
    for (const [k, v] of this.accounts) target.accounts.set(k, v);
    for (const [k, v] of this.validators) target.validators.set(k, v);
    for (const [k, v] of this.moduleValues) target.moduleValues.set(k, v);
    for (const [k, v] of this.escrows) target.escrows.set(k, v);
    if (this.burnedAmount !== null) target.burnedAmount = this.burnedAmount;
  }
}

/** One store write produced by applying a commit's state changes: a put, or a delete when `value` is null. */
export interface StateWrite {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

/** Value accounting of the whole state: `supply + burned` never changes after genesis. */
export interface StateTotals {
  readonly balances: bigint;
  readonly stakes: bigint;
  readonly escrows: bigint;
  readonly burned: bigint;
  /** balances + stakes + escrows: the value that still exists. */
  readonly supply: bigint;
}

function isEmptyAccount(account: Account): boolean {
  return account.balance === 0n && account.nonce === 0 && account.stake === 0n;
}

function corrupt(key: Uint8Array, message: string): LedgerError {
  return new LedgerError("CORRUPT_STATE", `state entry ${Buffer.from(key).toString("hex")}: ${message}`, {
    key: Buffer.from(key).toString("hex"),
  });
}

export class LedgerState implements StateView {
  private readonly accounts = new Map<string, Account>();
  private readonly validators = new Map<string, ValidatorEntry>();
  private readonly moduleValues = new Map<string, Uint8Array>();
  private readonly escrows = new Map<string, bigint>();
  private burnedAmount = 0n;
  private chainParams: ChainParams | null = null;
  private tree = new SparseMerkleTree();

  /**
   * Loads a state from its store entries (at open, or from genesis). Every
   * entry is decoded strictly; a bad one is a CORRUPT_STATE error.
   */
  static fromEntries(entries: Iterable<{ key: Uint8Array; value: Uint8Array }>): LedgerState {
    const state = new LedgerState();
    const leaves: { keyHash: Uint8Array; valueHash: Uint8Array }[] = [];
    for (const { key, value } of entries) {
      state.load(key, value);
      leaves.push({ keyHash: stateKeyHash(key), valueHash: stateValueHash(value) });
    }
    if (state.chainParams === null) throw corrupt(PARAMS_KEY, "chain parameters missing");
    state.tree = SparseMerkleTree.fromLeaves(leaves);
    return state;
  }

  private load(key: Uint8Array, value: Uint8Array): void {
    const bucket = key[0] ?? -1;
    const rest = key.subarray(1);
    if (!isStateBucket(bucket)) throw corrupt(key, `bucket ${bucketName(bucket)} is not state`);
    try {
      switch (bucket) {
        case Bucket.ledgerAccount: {
          const account = decodeAccount(value);
          if (rest.byteLength !== 20 || isEmptyAccount(account)) throw corrupt(key, "bad account entry");
          this.accounts.set(byteKey(rest), account);
          return;
        }
        case Bucket.ledgerValidator: {
          const entry = decodeValidatorEntry(value);
          if (!bytesEqual(addressFromPublicKey(entry.publicKey), rest))
            throw corrupt(key, "validator key mismatch");
          this.validators.set(byteKey(rest), entry);
          return;
        }
        case Bucket.ledgerGlobal: {
          if (bytesEqual(key, PARAMS_KEY)) this.chainParams = decodeChainParams(value);
          else if (bytesEqual(key, BURNED_KEY)) this.burnedAmount = decodeAmount(value);
          else if (Buffer.from(key).subarray(0, ESCROW_KEY_PREFIX.byteLength).equals(ESCROW_KEY_PREFIX))
            this.escrows.set(
              Buffer.from(key.subarray(ESCROW_KEY_PREFIX.byteLength)).toString("utf8"),
              decodeAmount(value),
            );
          else throw corrupt(key, "unknown global entry");
          return;
        }
        default:
          this.moduleValues.set(byteKey(key), value);
      }
    } catch (error) {
      if (error instanceof CodecError) throw corrupt(key, error.message);
      throw error;
    }
  }

  get params(): ChainParams {
    assert(this.chainParams !== null, "state has chain parameters");
    return this.chainParams;
  }

  account(addressKey: string): Account | null {
    return this.accounts.get(addressKey) ?? null;
  }

  validator(addressKey: string): ValidatorEntry | null {
    return this.validators.get(addressKey) ?? null;
  }

  moduleValue(storeKey: string): Uint8Array | null {
    return this.moduleValues.get(storeKey) ?? null;
  }

  burned(): bigint {
    return this.burnedAmount;
  }

  escrow(moduleName: string): bigint {
    return this.escrows.get(moduleName) ?? 0n;
  }

  /** Validators ordered by address. */
  validatorList(): ValidatorEntry[] {
    return [...this.validators.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  }

  /** The encoded value of any state entry, by store key (for proofs and queries). */
  entryValue(key: Uint8Array): Uint8Array | null {
    const bucket = key[0];
    const rest = key.subarray(1);
    if (bucket === Bucket.ledgerAccount) {
      const account = this.accounts.get(byteKey(rest));
      return account === undefined ? null : encodeAccount(account);
    }
    if (bucket === Bucket.ledgerValidator) {
      const entry = this.validators.get(byteKey(rest));
      return entry === undefined ? null : encodeValidatorEntry(entry);
    }
    if (bucket === Bucket.ledgerGlobal) {
      if (bytesEqual(key, PARAMS_KEY)) return encodeChainParams(this.params);
      if (bytesEqual(key, BURNED_KEY)) return encodeAmount(this.burnedAmount);
      for (const [name, amount] of this.escrows)
        if (bytesEqual(key, escrowKey(name))) return encodeAmount(amount);
      return null;
    }
    return this.moduleValues.get(byteKey(key)) ?? null;
  }

  /** Module values of one state bucket whose key (after the bucket byte) starts with `prefix`, in key order. */
  scanModuleValues(bucket: Bucket, prefix: Uint8Array): { key: Uint8Array; value: Uint8Array }[] {
    const start = byteKey(Uint8Array.of(bucket, ...prefix));
    return [...this.moduleValues.entries()]
      .filter(([k]) => k.startsWith(start))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, value]) => ({ key: fromByteKey(k).subarray(1), value }));
  }

  root(): Uint8Array {
    return this.tree.root();
  }

  prove(key: Uint8Array): StateProof {
    return proveKey(this.tree, key, this.entryValue(key));
  }

  /**
   * A frozen copy of the state's entries, for a checkpoint snapshot: the maps
   * are copied shallowly (values are never mutated in place, only replaced),
   * so later commits do not show through. The tree is not copied.
   */
  frozenEntries(): () => Iterable<{ key: Uint8Array; value: Uint8Array }> {
    const copy = new LedgerState();
    for (const [k, v] of this.accounts) copy.accounts.set(k, v);
    for (const [k, v] of this.validators) copy.validators.set(k, v);
    for (const [k, v] of this.moduleValues) copy.moduleValues.set(k, v);
    for (const [k, v] of this.escrows) copy.escrows.set(k, v);
    copy.burnedAmount = this.burnedAmount;
    copy.chainParams = this.chainParams;
    return () => copy.entries();
  }

  /** Every state entry as store key and value, for tests and genesis. */
  *entries(): Iterable<{ key: Uint8Array; value: Uint8Array }> {
    yield { key: PARAMS_KEY, value: encodeChainParams(this.params) };
    yield { key: BURNED_KEY, value: encodeAmount(this.burnedAmount) };
    for (const [name, amount] of this.escrows) yield { key: escrowKey(name), value: encodeAmount(amount) };
    for (const [k, a] of this.accounts) yield { key: accountKey(fromByteKey(k)), value: encodeAccount(a) };
    for (const [k, v] of this.validators)
      yield { key: validatorKey(fromByteKey(k)), value: encodeValidatorEntry(v) };
    for (const [k, v] of this.moduleValues) yield { key: fromByteKey(k), value: v };
  }

  totals(): StateTotals {
    let balances = 0n;
    let stakes = 0n;
    let escrows = 0n;
    for (const a of this.accounts.values()) {
      balances += a.balance;
      stakes += a.stake;
    }
    for (const e of this.escrows.values()) escrows += e;
    return { balances, stakes, escrows, burned: this.burnedAmount, supply: balances + stakes + escrows };
  }

  /**
   * Applies one commit's changes: updates the maps and the tree, and returns
   * the store writes. The caller computes the root once afterwards.
   */
  apply(changes: StateOverlay): StateWrite[] {
    const writes: StateWrite[] = [];
    const write = (key: Uint8Array, value: Uint8Array | null) => {
      writes.push({ key, value });
      this.tree.update(stateKeyHash(key), value === null ? null : stateValueHash(value));
    };
    for (const [k, account] of changes.accounts) {
      const key = accountKey(fromByteKey(k));
      if (isEmptyAccount(account)) {
        if (this.accounts.delete(k)) write(key, null);
      } else {
        this.accounts.set(k, account);
        write(key, encodeAccount(account));
      }
    }
    for (const [k, entry] of changes.validators) {
      const key = validatorKey(fromByteKey(k));
      if (entry === null) {
        if (this.validators.delete(k)) write(key, null);
      } else {
        this.validators.set(k, entry);
        write(key, encodeValidatorEntry(entry));
      }
    }
    for (const [k, value] of changes.moduleValues) {
      const key = fromByteKey(k);
      if (value === null) {
        if (this.moduleValues.delete(k)) write(key, null);
      } else {
        this.moduleValues.set(k, value);
        write(key, value);
      }
    }
    for (const [name, amount] of changes.escrows) {
      if (amount === 0n) {
        if (this.escrows.delete(name)) write(escrowKey(name), null);
      } else {
        this.escrows.set(name, amount);
        write(escrowKey(name), encodeAmount(amount));
      }
    }
    if (changes.burnedAmount !== null && changes.burnedAmount !== this.burnedAmount) {
      this.burnedAmount = changes.burnedAmount;
      write(BURNED_KEY, encodeAmount(this.burnedAmount));
    }
    return writes;
  }
}
