import type { Ledger, Receipt } from "../ledger/index.ts";
import {
  addressFromPublicKey,
  encodeTransaction,
  HyperspaceError,
  type KeyPair,
  type Transaction,
  toHex,
  transactionDigest,
} from "../spec/index.ts";

export class WalletError extends HyperspaceError<"REJECTED" | "TIMEOUT", { hash: string }> {}

/** How long a submitted transaction of the node's own account may take to execute. */
export const OWN_TRANSACTION_TIMEOUT_MS = 60_000;
const RECEIPT_POLL_MS = 25;

/**
 * The node's own account (its validator key, or a wallet key on a full
 * node), shared by every service that sends transactions for it: payment
 * channels and the market. Nonces are handed out here, one at a time, as
 * the larger of the ledger's next nonce and one past the last nonce handed
 * out, so two services never sign the same nonce. A transaction the mempool
 * refuses gives its nonce back when it was the last one handed out.
 */
export class NodeWallet {
  readonly address: Uint8Array;
  /** One past the last nonce handed out. */
  private next = 0;

  constructor(
    readonly keys: KeyPair,
    private readonly ledger: Ledger,
    private readonly admit: (bytes: Uint8Array) => Promise<string>,
    /** Why a committed transaction was rejected without a receipt (bad nonce, unpaid fee), if it was. */
    private readonly rejection: (hash: string) => string | undefined = () => undefined,
  ) {
    this.address = addressFromPublicKey(keys.publicKey);
  }

  /** Reserves the next nonce. The caller must `submit` a transaction with it. */
  reserveNonce(): number {
    const nonce = Math.max(this.ledger.getAccount(this.address).nonce, this.next);
    this.next = nonce + 1;
    return nonce;
  }

  /** Admits a transaction signed with a reserved nonce and waits for its receipt. */
  async submit(tx: Transaction): Promise<Receipt> {
    const digest = transactionDigest(tx);
    try {
      await this.admit(encodeTransaction(tx));
    } catch (error) {
      if (tx.nonce === this.next - 1) this.next = tx.nonce;
      throw error;
    }
    const deadline = Date.now() + OWN_TRANSACTION_TIMEOUT_MS;
    const hash = toHex(digest);
    for (;;) {
      const receipt = await this.ledger.getReceipt(digest);
      if (receipt !== null) return receipt;
      const reason = this.rejection(hash);
      if (reason !== undefined) {
        if (tx.nonce === this.next - 1) this.next = tx.nonce;
        throw new WalletError("REJECTED", `transaction ${hash} was rejected: ${reason}`, { hash });
      }
      if (Date.now() > deadline) {
        throw new WalletError(
          "TIMEOUT",
          `transaction ${hash} did not execute in ${OWN_TRANSACTION_TIMEOUT_MS} ms`,
          { hash },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RECEIPT_POLL_MS));
    }
  }

  /** Builds, signs and submits in one step (no await between nonce and admission). */
  submitWith(build: (nonce: number) => Transaction): Promise<Receipt> {
    return this.submit(build(this.reserveNonce()));
  }
}
