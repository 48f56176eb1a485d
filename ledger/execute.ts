import { type Account, assert, byteKey, EMPTY_ACCOUNT, HyperspaceError } from "../spec/index.ts";
import { ERROR_CODE_BYTES_MAX, ERROR_MESSAGE_BYTES_MAX, FEE_BURN_PERCENT } from "./constants.ts";
import { TransactionContext } from "./context.ts";
import type { ModuleRegistry } from "./module.ts";
import { type PreparedTransaction, prepareTransactions } from "./prepare.ts";
import { type Receipt, type RejectedTransaction, type RejectionReason, truncateUtf8 } from "./receipt.ts";
import { StateOverlay, type StateView } from "./state.ts";

/**
 * The execution engine: (state, ordered transactions of one commit) ->
 * (state changes, receipts). Synchronous and pure: it reads the state
 * through a view, writes only into the overlay it returns, and its outcome
 * depends on nothing but its arguments.
 *
 * Per transaction, in commit order:
 * 1. Admission (any failure rejects it with no state change, no receipt):
 *    strict decoding, chain id, signature (prepare.ts); not already executed
 *    (its hash has a receipt, from an earlier commit or earlier in this one);
 *    nonce equal to the sender's; fee at least the minimum and within the
 *    sender's balance.
 * 2. The fee is paid (split between burn and fee recipient, constants.ts) and
 *    the nonce bumped. This stands whatever happens next.
 * 3. The kind's handler decodes the payload and applies it in an overlay of
 *    its own. A typed error (HyperspaceError) discards that overlay and
 *    gives a failed receipt; success merges it. Any other error propagates.
 */

export interface CommitInput {
  /** Commit index: 1, 2, 3... (0 is genesis). */
  readonly index: number;
  readonly timestampMs: number;
  /** Address of the committing leader's validator; null burns every fee. */
  readonly feeRecipient: Uint8Array | null;
  /** Encoded transactions in commit order. */
  readonly transactions: readonly Uint8Array[];
}

export interface CommitExecution {
  readonly changes: StateOverlay;
  readonly receipts: readonly Receipt[];
  readonly rejected: readonly RejectedTransaction[];
}

/** Whether a transaction hash (as `byteKey(hash)`) already has a receipt from an earlier commit. */
export type ExecutedBefore = (hashKey: string) => boolean;

export function splitFee(fee: bigint, feeRecipient: Uint8Array | null): { burned: bigint; reward: bigint } {
  const burned = feeRecipient === null ? fee : (fee * FEE_BURN_PERCENT) / 100n;
  return { burned, reward: fee - burned };
}

export function executeCommit(
  state: StateView,
  registry: ModuleRegistry,
  input: CommitInput,
  prepared: readonly PreparedTransaction[] = prepareTransactions(input.transactions, state.params.chainId),
  executedBefore: ExecutedBefore = () => false,
): CommitExecution {
  assert(prepared.length === input.transactions.length, "one prepared entry per transaction");
  const changes = new StateOverlay(state);
  const receipts: Receipt[] = [];
  const rejected: RejectedTransaction[] = [];
  const executedHere = new Set<string>();
  const feeRecipientKey = input.feeRecipient === null ? null : byteKey(input.feeRecipient);
  const { minFee } = state.params;

  for (let position = 0; position < prepared.length; position++) {
    const item = prepared[position]!;
    if (!item.ok) {
      rejected.push({ position, txHash: item.txHash, reason: item.reason });
      continue;
    }
    const { tx, txHash, hashKey, sender, senderKey } = item;
    const account: Account = changes.account(senderKey) ?? EMPTY_ACCOUNT;
    let reason: RejectionReason | null = null;
    if (executedHere.has(hashKey) || executedBefore(hashKey)) reason = "DUPLICATE";
    else if (tx.nonce !== account.nonce) reason = "BAD_NONCE";
    else if (tx.fee < minFee) reason = "FEE_TOO_LOW";
    else if (account.balance < tx.fee) reason = "CANNOT_PAY_FEE";
    if (reason !== null) {
      rejected.push({ position, txHash, reason });
      continue;
    }

    // Pay the fee and bump the nonce: these stand even if the kind fails.
    const { burned, reward } = splitFee(tx.fee, input.feeRecipient);
    changes.accounts.set(senderKey, {
      ...account,
      balance: account.balance - tx.fee,
      nonce: account.nonce + 1,
    });
    if (feeRecipientKey !== null && reward > 0n) {
      const recipient = changes.account(feeRecipientKey) ?? EMPTY_ACCOUNT;
      changes.accounts.set(feeRecipientKey, { ...recipient, balance: recipient.balance + reward });
    }
    if (burned > 0n) changes.burnedAmount = changes.burned() + burned;
    executedHere.add(hashKey);

    let success = true;
    let errorCode = "";
    let errorMessage = "";
    let events: TransactionContext["events"] = [];
    const resolved = registry.resolve(tx.kind);
    if (resolved === undefined) {
      success = false;
      errorCode = "UNKNOWN_KIND";
      errorMessage = `no module handles kind ${tx.kind}`;
    } else {
      const overlay = new StateOverlay(changes);
      const context = new TransactionContext(overlay, resolved.module, {
        commitIndex: input.index,
        timestampMs: input.timestampMs,
        feeRecipient: input.feeRecipient,
        txHash,
        nonce: tx.nonce,
        sender,
        senderPublicKey: tx.sender,
      });
      let stage = "BAD_PAYLOAD";
      try {
        const payload = resolved.handler.decode(tx.payload);
        stage = "";
        resolved.handler.apply(context, payload);
        overlay.mergeInto(changes);
        events = context.events;
      } catch (error) {
        if (!(error instanceof HyperspaceError)) throw error;
        success = false;
        errorCode = (stage === "" ? error.code : stage) || "FAILED";
        errorMessage = error.message;
      }
    }
    receipts.push({
      txHash,
      commitIndex: input.index,
      position,
      sender,
      nonce: tx.nonce,
      kind: tx.kind,
      success,
      errorCode: truncateUtf8(errorCode, ERROR_CODE_BYTES_MAX),
      errorMessage: truncateUtf8(errorMessage, ERROR_MESSAGE_BYTES_MAX),
      feePaid: tx.fee,
      feeBurned: burned,
      events,
    });
  }
  return { changes, receipts, rejected };
}
