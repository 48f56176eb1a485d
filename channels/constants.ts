/**
 * Channel rules and bounds. Each bound says why it has its value.
 *
 * Time on chain is measured in commit indices, never in commit timestamps:
 * an index is a deterministic fact of the TxContext that no single leader
 * can push forward (a Byzantine leader could stamp its commit hours ahead and
 * end every running challenge period at once). A close requested in commit
 * `c` with challenge period `p` has deadline `c + p`: a challenge is accepted
 * while the commit index is at most the deadline, and a settle only after it.
 */

/** The ledger module name: keys the module's escrow total. */
export const CHANNELS_MODULE_NAME = "channels";

/**
 * Shortest challenge period in commits. A payee's watcher sees the close only
 * after its commit executes, and its challenge then needs a mempool hop, a
 * block and a commit of its own: four commits is the least in which an
 * online payee can answer. Payees should ask for far more (see
 * PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT); this is only the chain's floor.
 */
export const CHALLENGE_PERIOD_COMMITS_MIN = 4;
/**
 * Longest challenge period in commits: it bounds how long a payer's deposit
 * can stay locked by its own choice. Ten million commits is weeks at a
 * devnet's few commits per second.
 */
export const CHALLENGE_PERIOD_COMMITS_MAX = 10_000_000;

/**
 * What a payee accepts by default before it serves on a channel: 600 commits
 * is about two minutes at a devnet's five commits per second, time for a
 * payee that restarts to catch up and challenge.
 */
export const PAYEE_CHALLENGE_PERIOD_COMMITS_MIN_DEFAULT = 600;

/**
 * Sequences of vouchers start here; 0 in a closing record means "closed with
 * no voucher".
 */
export const VOUCHER_SEQUENCE_FIRST = 1;

/** Unit names in quotes ("token", "request", "step"): 32 bytes names any unit. */
export const UNIT_NAME_BYTES_MAX = 32;
/** Why a session ended, for logs: 128 bytes explains without bloating a message. */
export const END_REASON_BYTES_MAX = 128;
/** Peer names handed to the transport (libp2p peer ids are ~52 characters). */
export const PEER_NAME_BYTES_MAX = 128;
/** One wire message of the channel protocol: a voucher plus framing is under 200 bytes; 512 leaves room. */
export const CHANNEL_MESSAGE_BYTES_MAX = 512;

/**
 * How many units a payee delivers beyond what is paid: the payee serves while
 * the paid amount covers what it has delivered, so when payment stops it
 * stops within one unit. This is the payee's whole exposure on a channel.
 */
export const UNPAID_UNITS_MAX = 1;

/**
 * How long a session waits for an answer before it sends its state again
 * (the payer its newest voucher, the payee its status or quote). Lost
 * messages cost at most this much stall; 250 ms is a few round trips.
 */
export const RESEND_INTERVAL_MS = 250;

/**
 * Sessions one endpoint runs at once: a provider serving 4,096 concurrent
 * paying clients is far above any planned node; more are refused, not queued.
 */
export const SESSIONS_MAX = 4096;

/**
 * A watcher sends its challenge again when the chain has not shown it after
 * this many commits (the first submission may have been dropped by a full
 * mempool or a lost connection). Four commits is one challenge's round trip.
 */
export const CHALLENGE_RETRY_COMMITS = 4;
/** Channels one watcher follows: a payee with 100,000 open channels is far beyond a provider's load. */
export const WATCHED_CHANNELS_MAX = 100_000;

/**
 * Payee memory per open channel, the bench's bound: the payee keeps ids,
 * the payer's key, the deposit and its newest voucher (about 200 bytes of
 * data); 2 KiB allows for JS object overhead and nothing else.
 */
export const PAYEE_CHANNEL_BYTES_MAX = 2048;
