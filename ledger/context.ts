import {
  type Account,
  AMOUNT_MAX,
  addressFromPublicKey,
  assert,
  byteKey,
  EMPTY_ACCOUNT,
} from "../spec/index.ts";
import { bucketKey } from "./buckets.ts";
import { EVENT_DATA_BYTES_MAX, EVENT_NAME_BYTES_MAX, EVENTS_PER_TX_MAX } from "./constants.ts";
import { LedgerError } from "./errors.ts";
import type { LedgerModule, TxContext } from "./module.ts";
import { STATE_KEY_BYTES_MAX, STATE_VALUE_BYTES_MAX } from "./proof.ts";
import type { LedgerEvent } from "./receipt.ts";
import type { StateOverlay } from "./state.ts";
import type { ChainParams } from "./state-keys.ts";
import type { ValidatorEntry } from "./validator.ts";

/** Facts about the transaction being executed that the context exposes. */
export interface TxFacts {
  readonly commitIndex: number;
  readonly timestampMs: number;
  readonly feeRecipient: Uint8Array | null;
  readonly txHash: Uint8Array;
  readonly nonce: number;
  readonly sender: Uint8Array;
  readonly senderPublicKey: Uint8Array;
}

/**
 * The TxContext a handler runs with: reads go through the transaction's
 * overlay, writes land in it, and every value move conserves value (debit
 * one place, credit another), so no handler can create or destroy tokens.
 */
export class TransactionContext implements TxContext {
  readonly events: LedgerEvent[] = [];
  readonly commitIndex: number;
  readonly timestampMs: number;
  readonly feeRecipient: Uint8Array | null;
  readonly txHash: Uint8Array;
  readonly nonce: number;
  readonly sender: Uint8Array;
  readonly senderPublicKey: Uint8Array;

  constructor(
    private readonly overlay: StateOverlay,
    private readonly module: LedgerModule,
    facts: TxFacts,
  ) {
    this.commitIndex = facts.commitIndex;
    this.timestampMs = facts.timestampMs;
    this.feeRecipient = facts.feeRecipient;
    this.txHash = facts.txHash;
    this.nonce = facts.nonce;
    this.sender = facts.sender;
    this.senderPublicKey = facts.senderPublicKey;
  }

  get params(): ChainParams {
    return this.overlay.params;
  }

  get chainId(): string {
    return this.overlay.params.chainId;
  }

  getAccount(address: Uint8Array): Account {
    return this.overlay.account(byteKey(address)) ?? EMPTY_ACCOUNT;
  }

  private setAccount(address: Uint8Array, account: Account): void {
    this.overlay.accounts.set(byteKey(address), account);
  }

  private debitBalance(address: Uint8Array, amount: bigint): void {
    assert(amount >= 0n, "amounts are non-negative");
    const account = this.getAccount(address);
    if (account.balance < amount) {
      throw new LedgerError("INSUFFICIENT_BALANCE", `balance ${account.balance} < ${amount}`, {
        balance: account.balance,
        amount,
      });
    }
    this.setAccount(address, { ...account, balance: account.balance - amount });
  }

  private creditBalance(address: Uint8Array, amount: bigint): void {
    assert(amount >= 0n, "amounts are non-negative");
    const account = this.getAccount(address);
    assert(account.balance + amount <= AMOUNT_MAX, "total supply fits 64 bits, so no balance overflows");
    this.setAccount(address, { ...account, balance: account.balance + amount });
  }

  transferFromSender(to: Uint8Array, amount: bigint): void {
    this.debitBalance(this.sender, amount);
    this.creditBalance(to, amount);
  }

  escrowBalance(): bigint {
    return this.overlay.escrow(this.module.name);
  }

  lockFromSender(amount: bigint): void {
    this.debitBalance(this.sender, amount);
    this.overlay.escrows.set(this.module.name, this.escrowBalance() + amount);
  }

  releaseTo(to: Uint8Array, amount: bigint): void {
    const held = this.escrowBalance();
    assert(
      amount >= 0n && amount <= held,
      `module ${this.module.name} releases ${amount} of ${held} escrowed`,
    );
    this.overlay.escrows.set(this.module.name, held - amount);
    this.creditBalance(to, amount);
  }

  stakeFromSender(amount: bigint): void {
    this.debitBalance(this.sender, amount);
    const account = this.getAccount(this.sender);
    this.setAccount(this.sender, { ...account, stake: account.stake + amount });
  }

  unstakeToSender(amount: bigint): void {
    assert(amount >= 0n, "amounts are non-negative");
    const account = this.getAccount(this.sender);
    if (account.stake < amount) {
      throw new LedgerError("INSUFFICIENT_STAKE", `stake ${account.stake} < ${amount}`, {
        stake: account.stake,
        amount,
      });
    }
    this.setAccount(this.sender, {
      ...account,
      stake: account.stake - amount,
      balance: account.balance + amount,
    });
  }

  getValidator(address: Uint8Array): ValidatorEntry | null {
    return this.overlay.validator(byteKey(address));
  }

  putValidator(entry: ValidatorEntry): void {
    const address = addressFromPublicKey(entry.publicKey);
    assert(this.getAccount(address).stake === entry.stake, "a validator's stake is its account's stake");
    this.overlay.validators.set(byteKey(address), entry);
  }

  deleteValidator(address: Uint8Array): void {
    assert(this.getAccount(address).stake === 0n, "a validator leaves only with no stake");
    this.overlay.validators.set(byteKey(address), null);
  }

  private moduleKey(key: Uint8Array): string {
    const bucket = this.module.bucket;
    assert(bucket !== null, `module ${this.module.name} owns no state bucket`);
    if (key.byteLength + 1 > STATE_KEY_BYTES_MAX) {
      throw new LedgerError("STATE_LIMIT", `module key of ${key.byteLength} bytes`, {
        bytes: key.byteLength,
      });
    }
    return byteKey(bucketKey(bucket, key));
  }

  getModuleValue(key: Uint8Array): Uint8Array | null {
    return this.overlay.moduleValue(this.moduleKey(key));
  }

  setModuleValue(key: Uint8Array, value: Uint8Array): void {
    if (value.byteLength > STATE_VALUE_BYTES_MAX) {
      throw new LedgerError("STATE_LIMIT", `module value of ${value.byteLength} bytes`, {
        bytes: value.byteLength,
      });
    }
    this.overlay.moduleValues.set(this.moduleKey(key), new Uint8Array(value));
  }

  deleteModuleValue(key: Uint8Array): void {
    this.overlay.moduleValues.set(this.moduleKey(key), null);
  }

  emit(name: string, data: Uint8Array): void {
    if (this.events.length >= EVENTS_PER_TX_MAX) {
      throw new LedgerError("TOO_MANY_EVENTS", `more than ${EVENTS_PER_TX_MAX} events`, {});
    }
    if (Buffer.byteLength(name) > EVENT_NAME_BYTES_MAX || data.byteLength > EVENT_DATA_BYTES_MAX) {
      throw new LedgerError("EVENT_TOO_LARGE", `event ${name.slice(0, 32)} too large`, {});
    }
    this.events.push({ name, data: new Uint8Array(data) });
  }
}
