/**
 * Shared fixtures for the channels tests: fixed keys, a genesis, and a small
 * driver that runs transactions through the real ledger (with the channels
 * module registered) one commit at a time. Not exported from index.ts.
 */
import {
  Bucket,
  bucketKey,
  createGenesis,
  type Genesis,
  genesisSupply,
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
  signVoucher,
  type Transaction,
  toHex,
  type Voucher,
} from "../spec/index.ts";
import { seededKeys } from "../spec/testing.ts";
import { channelsModule } from "./module.ts";
import { type ChannelRecord, decodeChannelRecord } from "./record.ts";
import type { ChannelChain } from "./sdk.ts";

export const CHAIN_ID = "hyperspace-channels-test";
export const OTHER_CHAIN_ID = "hyperspace-other-chain";
export const GENESIS_BALANCE = 1_000_000n;
/** Fee every test transaction pays. */
export const FEE = 10n;

/** Keys 0-3 hold balances and take every role; key 4 is the fee recipient (a validator's address). */
export const KEYS = seededKeys(5, 0, 0xc4);
export const ADDRESSES = KEYS.map((k) => addressFromPublicKey(k.publicKey));
export const FEE_RECIPIENT = ADDRESSES[4]!;

export function testGenesis(chainId = CHAIN_ID): Genesis {
  return createGenesis({
    chainId,
    genesisTimeMs: 1_700_000_000_000,
    minFee: 1n,
    accounts: ADDRESSES.slice(0, 4).map((address) => ({ address, balance: GENESIS_BALANCE })),
  });
}

export const SUPPLY = genesisSupply(testGenesis());

export function voucherFor(
  keys: KeyPair,
  channelId: Uint8Array,
  cumulativeAmount: bigint,
  sequence: number,
  chainId = CHAIN_ID,
): Voucher {
  return signVoucher({ chainId, channelId, cumulativeAmount, sequence }, keys.secretKey);
}

/** The real ledger with the channels module, driven one commit at a time. */
export class TestChain {
  private constructor(
    readonly ledger: Ledger,
    readonly store: Store,
  ) {}

  static async open(store: Store = new MemoryStore(), genesis = testGenesis()): Promise<TestChain> {
    const ledger = await Ledger.open({ store, genesis, modules: [channelsModule] });
    return new TestChain(ledger, store);
  }

  get commitIndex(): number {
    return this.ledger.lastAppliedIndex;
  }

  /** The envelope for the next transaction of key `who` (nonce from state, plus `ahead` for batches). */
  envelope(who: number, ahead = 0): TxEnvelope {
    const keys = KEYS[who]!;
    return {
      chainId: CHAIN_ID,
      keys,
      nonce: this.ledger.getAccount(ADDRESSES[who]!).nonce + ahead,
      fee: FEE,
    };
  }

  /** Executes the transactions in one commit; returns their receipts (every one must be admitted). */
  async commit(txs: readonly Transaction[]): Promise<Receipt[]> {
    const index = this.ledger.lastAppliedIndex + 1;
    const result = await this.ledger.applyCommit({
      index,
      timestampMs: 1_700_000_000_000 + index * 100,
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

  /** Empty commits, to let commit indices pass. */
  async advance(commits: number): Promise<void> {
    for (let i = 0; i < commits; i++) await this.commit([]);
  }

  channel(channelId: Uint8Array): ChannelRecord | null {
    const bytes = this.ledger.getStateValue(bucketKey(Bucket.channelsState, channelId));
    return bytes === null ? null : decodeChannelRecord(bytes);
  }

  channels(): { channelId: Uint8Array; record: ChannelRecord }[] {
    return this.ledger
      .scanModuleValues(Bucket.channelsState)
      .map((e) => ({ channelId: e.key, record: decodeChannelRecord(e.value) }));
  }

  balance(who: number): bigint {
    return this.ledger.getAccount(ADDRESSES[who]!).balance;
  }
}

/** The SDK's chain interface over a TestChain: each submitted transaction executes in a commit of its own. */
export function ledgerChain(chain: TestChain): ChannelChain {
  return {
    chainId: async () => chain.ledger.chainId,
    nonce: async (address) => chain.ledger.getAccount(address).nonce,
    getChannel: async (channelId) => chain.channel(channelId),
    commitIndex: async () => chain.commitIndex,
    submit: async (tx) => {
      const receipt = await chain.one(tx);
      return {
        txHash: toHex(receipt.txHash),
        success: receipt.success,
        commitIndex: receipt.commitIndex,
        error: receipt.success ? null : `${receipt.errorCode}: ${receipt.errorMessage}`,
      };
    },
  };
}
