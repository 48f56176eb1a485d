import type { KeyPair } from "../spec/index.ts";

/**
 * The contracts the node implements for the market (the seams between
 * market/ and node/). Each is small on purpose: the market's logic runs
 * against them, and the tests run it against the real ledger through a
 * one-commit-per-transaction driver.
 */

/** The outcome of one executed transaction (from its receipt). */
export interface TxOutcome {
  readonly txHash: Uint8Array;
  readonly commitIndex: number;
  readonly success: boolean;
  readonly errorCode: string;
  readonly errorMessage: string;
  /** The receipt's events (name and encoded data), e.g. channels' "channel.opened". */
  readonly events: readonly { readonly name: string; readonly data: Uint8Array }[];
}

/**
 * The node's account: its keys, and a way to get a transaction of this
 * account executed. `submit` signs a transaction of `kind` with `payload`
 * (the node picks the nonce and fee), submits it, and resolves with its
 * receipt once it is committed.
 */
export interface MarketAccount {
  readonly chainId: string;
  readonly keys: KeyPair;
  readonly address: Uint8Array;
  submit(kind: string, payload: Uint8Array): Promise<TxOutcome>;
  /** The latest commit's timestamp (invite expiry is checked against commit time). */
  nowMs(): number;
}

/** The node's libp2p identity: its peer id and a signature by its peer key (Ed25519). */
export interface PeerIdentity {
  readonly peerId: string;
  sign(message: Uint8Array): Promise<Uint8Array> | Uint8Array;
}
