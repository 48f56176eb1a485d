/**
 * Shared fixtures for the market's tests: fixed keys and peer identities, a
 * genesis, the real ledger (channels and market modules) driven one commit
 * per call, and a MarketAccount over it. Not exported from index.ts.
 */
import { type ChannelChain, channelsModule, decodeChannelRecord } from "../channels/index.ts";
import {
  Bucket,
  bucketKey,
  buildTransaction,
  createGenesis,
  type Genesis,
  Ledger,
  MemoryStore,
  type Receipt,
  type Store,
  type TxEnvelope,
} from "../ledger/index.ts";
import {
  addressFromPublicKey,
  encodeTransaction,
  type KeyPair,
  sign,
  type Transaction,
  toHex,
} from "../spec/index.ts";
import { seededKeys } from "../spec/testing.ts";
import type { MarketAccount, PeerIdentity, TxOutcome } from "./interface.ts";
import { marketModule } from "./module.ts";
import type { MarketKindName, MarketPayloads } from "./payloads.ts";
import { peerIdFromPublicKey, signPeerBinding } from "./peer-id.ts";
import { MarketState } from "./state.ts";
import { buildMarketTransaction } from "./transactions.ts";

export const CHAIN_ID = "hyperspace-market-test";
export const GENESIS_TIME_MS = 1_700_000_000_000;
/** Each test commit is this much later than the one before. */
export const COMMIT_INTERVAL_MS = 100;
export const GENESIS_BALANCE = 10_000_000n;
export const FEE = 10n;

/** An actor: an account and a libp2p peer identity. Actor 7 is the fee recipient. */
export interface Actor {
  readonly keys: KeyPair;
  readonly address: Uint8Array;
  readonly peerKeys: KeyPair;
  readonly peerId: string;
}

const ACCOUNT_KEYS = seededKeys(8, 1, 0x3a);
const PEER_KEYS = seededKeys(8, 2, 0x3a);
export const ACTORS: Actor[] = ACCOUNT_KEYS.map((keys, i) => ({
  keys,
  address: addressFromPublicKey(keys.publicKey),
  peerKeys: PEER_KEYS[i]!,
  peerId: peerIdFromPublicKey(PEER_KEYS[i]!.publicKey),
}));
export const FEE_RECIPIENT = ACTORS[7]!.address;

export function testGenesis(): Genesis {
  return createGenesis({
    chainId: CHAIN_ID,
    genesisTimeMs: GENESIS_TIME_MS,
    minFee: 1n,
    accounts: ACTORS.slice(0, 7).map((a) => ({ address: a.address, balance: GENESIS_BALANCE })),
  });
}

/** The peer-binding signature of actor `who` (its peer key over its account). */
export function binding(who: number, chainId = CHAIN_ID): Uint8Array {
  const actor = ACTORS[who]!;
  return signPeerBinding(chainId, actor.address, actor.peerId, actor.peerKeys.secretKey);
}

export function peerIdentity(who: number): PeerIdentity {
  const actor = ACTORS[who]!;
  return { peerId: actor.peerId, sign: (message) => sign(message, actor.peerKeys.secretKey) };
}

/** The real ledger with the channels and market modules, one commit per call. */
export class TestChain {
  private constructor(
    readonly ledger: Ledger,
    readonly store: Store,
  ) {}

  static async open(store: Store = new MemoryStore()): Promise<TestChain> {
    const ledger = await Ledger.open({
      store,
      genesis: testGenesis(),
      modules: [channelsModule, marketModule],
    });
    return new TestChain(ledger, store);
  }

  get market(): MarketState {
    return new MarketState(this.ledger);
  }

  get commitIndex(): number {
    return this.ledger.lastAppliedIndex;
  }

  /** The timestamp the next commit will carry. */
  get nextTimestampMs(): number {
    return GENESIS_TIME_MS + (this.commitIndex + 1) * COMMIT_INTERVAL_MS;
  }

  envelope(who: number, ahead = 0): TxEnvelope {
    const actor = ACTORS[who]!;
    return {
      chainId: CHAIN_ID,
      keys: actor.keys,
      nonce: this.ledger.getAccount(actor.address).nonce + ahead,
      fee: FEE,
    };
  }

  async commit(txs: readonly Transaction[]): Promise<Receipt[]> {
    const index = this.ledger.lastAppliedIndex + 1;
    const result = await this.ledger.applyCommit({
      index,
      timestampMs: GENESIS_TIME_MS + index * COMMIT_INTERVAL_MS,
      feeRecipient: FEE_RECIPIENT,
      transactions: txs.map(encodeTransaction),
    });
    if (result.rejected.length > 0) throw new Error(`rejected: ${JSON.stringify(result.rejected)}`);
    return [...result.receipts];
  }

  async one(tx: Transaction): Promise<Receipt> {
    const [receipt] = await this.commit([tx]);
    return receipt!;
  }

  /** Executes one market transaction of actor `who`; returns its receipt. */
  run<K extends MarketKindName>(who: number, kind: K, payload: MarketPayloads[K]): Promise<Receipt> {
    return this.one(buildMarketTransaction(this.envelope(who), kind, payload));
  }

  async advance(commits: number): Promise<void> {
    for (let i = 0; i < commits; i++) await this.commit([]);
  }

  balance(who: number): bigint {
    return this.ledger.getAccount(ACTORS[who]!.address).balance;
  }

  /** The channels SDK's view of this chain (transactions execute in a commit of their own). */
  channelChain(): ChannelChain {
    return {
      chainId: async () => CHAIN_ID,
      nonce: async (address) => this.ledger.getAccount(address).nonce,
      commitIndex: async () => this.commitIndex,
      getChannel: async (channelId) => {
        const bytes = this.ledger.getStateValue(bucketKey(Bucket.channelsState, channelId));
        return bytes === null ? null : decodeChannelRecord(bytes);
      },
      submit: async (tx) => {
        const receipt = await this.one(tx);
        return {
          txHash: toHex(receipt.txHash),
          success: receipt.success,
          commitIndex: receipt.commitIndex,
          error: receipt.success ? null : `${receipt.errorCode}: ${receipt.errorMessage}`,
        };
      },
    };
  }

  /** A MarketAccount for actor `who` that executes each transaction in a commit of its own. */
  account(who: number): MarketAccount {
    const actor = ACTORS[who]!;
    return {
      chainId: CHAIN_ID,
      keys: actor.keys,
      address: actor.address,
      nowMs: () => GENESIS_TIME_MS + this.commitIndex * COMMIT_INTERVAL_MS,
      submit: async (kind, payload): Promise<TxOutcome> => {
        const receipt = await this.one(buildTransaction(this.envelope(who), kind, payload));
        return {
          txHash: receipt.txHash,
          commitIndex: receipt.commitIndex,
          success: receipt.success,
          errorCode: receipt.errorCode,
          errorMessage: receipt.errorMessage,
          events: receipt.events,
        };
      },
    };
  }
}

export { codecProperties, runSeed } from "../spec/testing.ts";
