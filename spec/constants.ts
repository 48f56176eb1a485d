/**
 * Protocol constants and size bounds. Every bound says why it has its value.
 * The decoders enforce these, so an oversized input is a typed error.
 */

/** Protocol version carried in domain tags; bump on any wire change. */
export const PROTOCOL_VERSION = 1;

/** ed25519 sizes. */
export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** sha256 digest size. */
export const DIGEST_BYTES = 32;
/** Addresses are the first 20 bytes of a domain-separated hash of the public key (160 bits, as Ethereum). */
export const ADDRESS_BYTES = 20;

/** Chain ids are short ASCII names ("hyperspace-devnet"); 64 bytes leaves room for a suffix. */
export const CHAIN_ID_BYTES_MAX = 64;
/** Transaction kinds are dotted names ("transfer", "channel.open"); 32 bytes is plenty. */
export const TX_KIND_BYTES_MAX = 32;
/** A transaction payload holds one module's message; 16 KiB fits every kind we define with margin. */
export const TX_PAYLOAD_BYTES_MAX = 16 * 1024;
/** Encoded transaction: payload plus the fixed fields and signature. */
export const TX_BYTES_MAX = TX_PAYLOAD_BYTES_MAX + 512;

/** Amounts are unsigned 64-bit base units. */
export const AMOUNT_MAX = (1n << 64n) - 1n;
/** Nonces, rounds, indices and timestamps fit a JS safe integer. */
export const SAFE_INTEGER_MAX = Number.MAX_SAFE_INTEGER;

/** Committee size bound: the leader schedule and votes index authorities by u16; 1,024 is far above any planned committee. */
export const COMMITTEE_SIZE_MAX = 1024;
/** A block references at most one block per authority. */
export const BLOCK_ANCESTORS_MAX = COMMITTEE_SIZE_MAX;
/** 10,000 transactions per block covers the 1,000-per-block bench with a 10x margin. */
export const BLOCK_TRANSACTIONS_MAX = 10_000;
/** Encoded block size: 8 MiB keeps one block well under a stream frame and a RocksDB value. */
export const BLOCK_BYTES_MAX = 8 * 1024 * 1024;
/** A commit lists the blocks of its sub-DAG: at most one per authority per round above the GC depth. */
export const COMMIT_BLOCKS_MAX = 64 * COMMITTEE_SIZE_MAX;

/**
 * Domain tags for hashing and signing, for every layer. `hash` prefixes the
 * tag with its length, so no digest of one kind can equal another kind's.
 */
export const Domain = {
  Transaction: "hyperspace/v1/transaction",
  Block: "hyperspace/v1/block",
  Commit: "hyperspace/v1/commit",
  Voucher: "hyperspace/v1/voucher",
  Address: "hyperspace/v1/address",
  StateLeaf: "hyperspace/v1/state-leaf",
  StateNode: "hyperspace/v1/state-node",
  StateRootVote: "hyperspace/v1/state-root-vote",
  ChannelId: "hyperspace/v1/channel-id",
  Genesis: "hyperspace/v1/genesis",
  ChannelCooperativeClose: "hyperspace/v1/channel-cooperative-close",
  MarketPodId: "hyperspace/v1/market/pod-id",
  MarketPeerBinding: "hyperspace/v1/market/peer-binding",
  MarketInvite: "hyperspace/v1/market/invite",
  MarketOffer: "hyperspace/v1/market/offer",
  MarketApiKey: "hyperspace/v1/market/api-key",
} as const;

export type DomainTag = (typeof Domain)[keyof typeof Domain];
