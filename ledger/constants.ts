/**
 * Ledger rules and bounds. Each bound says why it has its value.
 */

/**
 * Fee rule: of every fee, FEE_BURN_PERCENT percent (rounded down) is burned
 * and the rest goes to the commit's fee recipient (the committing leader's
 * validator address). With no fee recipient, the whole fee is burned. Burned
 * fees are tracked in state, so Σ balances + Σ stakes + Σ module escrows +
 * burned is the genesis supply forever.
 */
export const FEE_BURN_PERCENT = 50n;

/** Default minimum fee: every executed transaction costs something, so a key with no balance creates no state. */
export const MIN_FEE_DEFAULT = 1n;
/** Default minimum validator stake (base units); a genesis file may set its own. */
export const MIN_VALIDATOR_STAKE_DEFAULT = 1_000n;
/** Fee that the transaction builders use when the caller gives none: 100 x the default minimum. */
export const TX_FEE_DEFAULT = 100n;

/** Transactions in one commit: 200,000 is 20 full blocks; it keeps one commit's write batch under ~100 MB. */
export const COMMIT_TRANSACTIONS_MAX = 200_000;

/** Events one transaction may emit: a module emits a few per call; 16 bounds a receipt's size. */
export const EVENTS_PER_TX_MAX = 16;
/** An event name is a short dotted name, like a transaction kind. */
export const EVENT_NAME_BYTES_MAX = 32;
/** Event data: 1 KiB carries ids and amounts with room to spare. */
export const EVENT_DATA_BYTES_MAX = 1024;
/** Error codes are short SCREAMING_SNAKE names. */
export const ERROR_CODE_BYTES_MAX = 64;
/** An error message in a receipt is cut to 256 bytes: enough to explain, small enough to store per transaction. */
export const ERROR_MESSAGE_BYTES_MAX = 256;

/** Validator metadata bounds: a name for humans, a libp2p peer id (base58 is ~52 chars), a few multiaddrs. */
export const VALIDATOR_NAME_BYTES_MAX = 64;
export const PEER_ID_BYTES_MAX = 128;
export const MULTIADDRS_MAX = 8;
export const MULTIADDR_BYTES_MAX = 256;

/** Genesis accounts: one million keeps a genesis file near 100 MB, far above any devnet or bench. */
export const GENESIS_ACCOUNTS_MAX = 1_000_000;

/** Module names are short lowercase words ("core", "channels"); they key escrow totals. */
export const MODULE_NAME_BYTES_MAX = 32;
