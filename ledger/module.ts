import { type Account, assert, TX_KIND_BYTES_MAX } from "../spec/index.ts";
import { Bucket, bucketName, isStateBucket } from "./buckets.ts";
import { MODULE_NAME_BYTES_MAX } from "./constants.ts";
import type { ChainParams } from "./state-keys.ts";
import type { ValidatorEntry } from "./validator.ts";

/**
 * The module registry: how later layers (channels, market) add transaction
 * kinds and state of their own without the ledger importing them. A module
 * names its kinds and the one state bucket it owns; the ledger routes each
 * transaction to its kind's handler with a synchronous context.
 *
 * A handler must be deterministic: it reads only the context and the
 * payload (never clocks, randomness or I/O). It throws a HyperspaceError
 * subclass for an expected failure; the transaction then gets a failed
 * receipt, pays its fee, and every change the handler made is undone. Any
 * other exception is a bug and propagates (the node stops loudly).
 */

/** The synchronous state a handler sees while one transaction executes. */
export interface TxContext {
  readonly chainId: string;
  readonly params: ChainParams;
  readonly commitIndex: number;
  readonly timestampMs: number;
  readonly txHash: Uint8Array;
  /** The transaction's nonce (the sender's account nonce is already one past it). */
  readonly nonce: number;
  /** Sender address and public key (the signer). */
  readonly sender: Uint8Array;
  readonly senderPublicKey: Uint8Array;
  readonly feeRecipient: Uint8Array | null;

  /** Any account (an empty one if it never existed). */
  getAccount(address: Uint8Array): Account;
  /** Moves `amount` from the sender's balance to `to`; throws LedgerError INSUFFICIENT_BALANCE. */
  transferFromSender(to: Uint8Array, amount: bigint): void;

  /** The calling module's escrow: value it holds for its own objects (channel deposits, job rewards). */
  escrowBalance(): bigint;
  /** Moves `amount` from the sender's balance into the module's escrow; INSUFFICIENT_BALANCE. */
  lockFromSender(amount: bigint): void;
  /** Pays `amount` out of the module's escrow to `to`. Releasing more than is held is a module bug (assertion). */
  releaseTo(to: Uint8Array, amount: bigint): void;

  /** Moves sender balance to sender stake; INSUFFICIENT_BALANCE. */
  stakeFromSender(amount: bigint): void;
  /** Moves sender stake back to sender balance; INSUFFICIENT_STAKE. */
  unstakeToSender(amount: bigint): void;
  getValidator(address: Uint8Array): ValidatorEntry | null;
  putValidator(entry: ValidatorEntry): void;
  deleteValidator(address: Uint8Array): void;

  /** The module's own state: keys are relative to its bucket. */
  getModuleValue(key: Uint8Array): Uint8Array | null;
  setModuleValue(key: Uint8Array, value: Uint8Array): void;
  deleteModuleValue(key: Uint8Array): void;

  /** Adds an event to the transaction's receipt (at most EVENTS_PER_TX_MAX). */
  emit(name: string, data: Uint8Array): void;
}

/**
 * One transaction kind. Method syntax keeps handlers of different payload
 * types assignable to KindHandler<unknown> in a module's table.
 */
export interface KindHandler<Payload = unknown> {
  /** Strict decoding of the payload; throws a typed error (CodecError, LedgerError BAD_PAYLOAD). */
  decode(payload: Uint8Array): Payload;
  apply(context: TxContext, payload: Payload): void;
}

export interface LedgerModule {
  /** Lowercase name, unique among modules; keys the module's escrow total. */
  readonly name: string;
  /** The state bucket the module owns (null: no state of its own). */
  readonly bucket: Bucket | null;
  readonly kinds: Readonly<Record<string, KindHandler>>;
}

export interface ResolvedKind {
  readonly module: LedgerModule;
  readonly handler: KindHandler;
}

const MODULE_NAME_PATTERN = /^[a-z][a-z0-9-]*$/;
/** Buckets whose entries only the ledger itself writes, through the typed context methods. */
const LEDGER_OWNED_BUCKETS: readonly number[] = [
  Bucket.ledgerAccount,
  Bucket.ledgerValidator,
  Bucket.ledgerGlobal,
];

export class ModuleRegistry {
  private readonly byKind = new Map<string, ResolvedKind>();

  constructor(readonly modules: readonly LedgerModule[]) {
    const names = new Set<string>();
    const buckets = new Set<number>();
    for (const module of modules) {
      assert(
        MODULE_NAME_PATTERN.test(module.name) && module.name.length <= MODULE_NAME_BYTES_MAX,
        `bad module name ${module.name}`,
      );
      assert(!names.has(module.name), `module ${module.name} registered twice`);
      names.add(module.name);
      if (module.bucket !== null) {
        assert(
          isStateBucket(module.bucket),
          `module ${module.name}: ${bucketName(module.bucket)} is not a state bucket`,
        );
        assert(
          !LEDGER_OWNED_BUCKETS.includes(module.bucket),
          `module ${module.name}: the ledger owns its bucket`,
        );
        assert(
          !buckets.has(module.bucket),
          `module ${module.name}: bucket ${bucketName(module.bucket)} already owned`,
        );
        buckets.add(module.bucket);
      }
      for (const [kind, handler] of Object.entries(module.kinds)) {
        assert(kind.length > 0 && Buffer.byteLength(kind) <= TX_KIND_BYTES_MAX, `bad kind name ${kind}`);
        assert(!this.byKind.has(kind), `transaction kind ${kind} registered twice`);
        this.byKind.set(kind, { module, handler });
      }
    }
  }

  resolve(kind: string): ResolvedKind | undefined {
    return this.byKind.get(kind);
  }

  get kinds(): string[] {
    return [...this.byKind.keys()];
  }
}
