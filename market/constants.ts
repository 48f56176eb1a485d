/**
 * Market rules and bounds. Each bound says why it has its value and what
 * happens past it.
 *
 * Time on chain: the provider unbonding period is counted in commit indices
 * (as channels do), since an index is a fact no single leader can push
 * forward. Invite expiry uses the commit timestamp, because people give an
 * invite a lifetime in hours and days ("--ttl 2d"); a leader that stamps its
 * commit early or late moves an expiry by at most its own skew.
 */

/** The ledger module name: keys the module's escrow total (provider bonds). */
export const MARKET_MODULE_NAME = "market";

// ---- provider registry -------------------------------------------------------

/**
 * Least bond a provider locks to register: enough that registering thousands
 * of fake providers to crowd the registry costs real value; small next to a
 * devnet validator's stake.
 */
export const PROVIDER_BOND_MIN = 1_000n;
/**
 * A provider that leaves keeps its bond locked for this many commits (about
 * two minutes at a devnet's five commits per second, the same as a payee's
 * default challenge period), so channels it served can still be closed and
 * disputed against a provider that is still bonded.
 */
export const PROVIDER_UNBONDING_COMMITS = 600;
/** Models one provider declares: a node serves a handful; 16 keeps a record small. */
export const PROVIDER_MODELS_MAX = 16;
/** A model's display name ("kjv-mlp"): 64 bytes names any model. */
export const MODEL_NAME_BYTES_MAX = 64;
/** Declared accelerator memory in MiB: 16 TiB is far above any single device. */
export const VRAM_MIB_MAX = 16 * 1024 * 1024;
/** MiB per GiB: constraints are given in GiB (`minVramGb`), records hold MiB. */
export const MIB_PER_GIB = 1024;

// ---- pods ------------------------------------------------------------------

/** A pod's name is for people ("research-team"): 64 bytes. */
export const POD_NAME_BYTES_MAX = 64;
/** Capabilities a pod declares ("inference", "embedding", "training"): 8 covers every kind the market sells. */
export const POD_CAPABILITIES_MAX = 8;
/** One capability name. */
export const CAPABILITY_BYTES_MAX = 32;
/**
 * Members of one pod: pods are small teams pooling machines; 256 members
 * keeps the member list one RPC answer and the router's candidate scan cheap.
 * A join past it fails with POD_FULL.
 */
export const POD_MEMBERS_MAX = 256;
/** Peer ids one invite transaction names: 32 keeps the payload far under the transaction bound. */
export const POD_INVITE_PEERS_MAX = 32;
/** Longest invite lifetime: 90 days; a longer-lived invite should be a membership. */
export const INVITE_TTL_MS_MAX = 90 * 24 * 60 * 60 * 1000;
/** Default invite lifetime when none is given: 7 days. */
export const INVITE_TTL_MS_DEFAULT = 7 * 24 * 60 * 60 * 1000;
/** Random bytes in an invite code, so two codes with the same terms differ: 16 bytes never collide. */
export const INVITE_NONCE_BYTES = 16;
/** Text prefix of an invite code (base64url follows). */
export const INVITE_CODE_PREFIX = "hsi_";

// ---- offers and latency ------------------------------------------------------

/** A provider gossips its live offer this often: load changes in seconds, and 5 s keeps gossip light. */
export const OFFER_INTERVAL_MS = 5_000;
/** An offer older than this is stale (six missed intervals): its provider is treated as gone. */
export const OFFER_TTL_MS = 30_000;
/** Offers stamped further than this in the future are ignored: clocks of honest peers agree within seconds. */
export const OFFER_CLOCK_SKEW_MS = 10_000;
/** Providers whose offers one node keeps; past it the oldest offer is evicted. */
export const OFFERS_MAX = 10_000;
/** Queue lengths above this are clamped in offers: past it a provider is simply "very busy". */
export const OFFER_QUEUE_MAX = 1_000_000;
/** Load is reported in per-mille of capacity (0 idle, 1000 saturated; more means overloaded, up to 10x). */
export const LOAD_PERMILLE_MAX = 10_000;

/**
 * Weight of a new sample in a latency EWMA: 0.2 weighs about the last five
 * requests, quick to notice a peer slowing down, steady against one outlier.
 */
export const LATENCY_EWMA_ALPHA = 0.2;
/**
 * Latency assumed for a peer never measured. An unmeasured peer ranks behind
 * any measured peer that answers within 250 ms, so the router prefers proven
 * peers but still tries new ones when the known ones are slow or loaded.
 */
export const UNMEASURED_LATENCY_MS = 250;
/** A failed stream counts as this many milliseconds of latency in the EWMA, pushing the peer down the ranking. */
export const FAILURE_PENALTY_MS = 5_000;
/** Peers whose latency profile one node keeps; past it the least recently updated is evicted. */
export const LATENCY_PROFILES_MAX = 10_000;

// ---- metering and routing ----------------------------------------------------

/**
 * Tokens a provider delivers beyond what is paid for (its credit window): the
 * provider's whole exposure to one request. When the credit is not covered
 * the provider stops within one token. A token of the shipped model is
 * under 0.1 ms of compute, so 1,024 tokens are well under a tenth of a
 * second of work and a small amount of value; the window lets the client
 * pay once per VOUCHER_INTERVAL_TOKENS_DEFAULT tokens instead of once per
 * token. A provider selling a dearer model sets a smaller window.
 */
export const CREDIT_WINDOW_TOKENS_DEFAULT = 1024;
/** Most credit a provider may extend: 4,096 tokens is a whole request of the largest size. */
export const CREDIT_WINDOW_TOKENS_MAX = 4096;
/**
 * The client signs a voucher after this many tokens received (and one more
 * at the end for the rest). Half the default credit window: the voucher for
 * one batch reaches the provider while it still has credit for the next, so
 * a healthy stream never stalls on payment (against a smaller window the
 * client pays every half window). One voucher round (sign, send, verify,
 * persist on both ends) costs 0.1 to 0.3 ms of CPU on this shared 2-core
 * host: every 128 tokens that was about two microseconds per token, a few
 * percent of the shipped model's token; every 512 it is under half a
 * microsecond (bench/market.bench.ts).
 */
export const VOUCHER_INTERVAL_TOKENS_DEFAULT = 512;
/**
 * Tokens one `tokens` frame carries. A provider sends the tokens it
 * generated since its last frame together, so a fast model pays the cost of
 * a frame (encoding, a stream write, decoding, waking the reader: a few
 * microseconds in process, tens over libp2p with its framing and
 * encryption) once per batch instead of once per token; 64 tokens keep a
 * frame under 1.5 KiB.
 */
export const TOKENS_PER_FRAME_MAX = 64;
/**
 * Longest a generated token waits for more to share its frame. The first
 * token of a request and every token of a paced provider go out at once;
 * after that a token waits at most 4 ms, a quarter of a 60 Hz display
 * frame, so a reader of the stream sees no difference, while a frame of the
 * shipped model (about 70 us a token here) carries some fifty tokens.
 */
export const TOKEN_FLUSH_INTERVAL_MS = 4;
/**
 * A provider stream that sends nothing for this long is treated as failed and
 * the router fails over. Five seconds is far above any healthy token gap.
 */
export const STREAM_STALL_TIMEOUT_MS = 5_000;
/** Providers one request may try before it fails: the first and two failovers. */
export const FAILOVER_ATTEMPTS_MAX = 3;
/**
 * Bounds of a provider's pacing (`tokensPerSecondMax`). Below one token a
 * second a paced stream would come near STREAM_STALL_TIMEOUT_MS between
 * tokens and be failed over as stalled; a million a second is far above
 * what any model here generates, so a larger bound paces nothing.
 */
export const TOKENS_PER_SECOND_MIN = 1;
export const TOKENS_PER_SECOND_MAX = 1_000_000;
/** Bytes of a request id: 16 random bytes never collide among a node's requests. */
export const REQUEST_ID_BYTES = 16;
/** Frames a client or provider keeps queued for one stream before the stream is ended as too slow. */
export const STREAM_QUEUE_FRAMES_MAX = 4_096;
/** Concurrent requests one provider serves: above this a request is refused with BUSY (the caller fails over). */
export const PROVIDER_CONCURRENT_REQUESTS_MAX = 64;
/** Concurrent requests one router runs: an HTTP burst past it waits for no one, it is refused. */
export const ROUTER_CONCURRENT_REQUESTS_MAX = 256;

// ---- channel pool ------------------------------------------------------------

/**
 * How long a provider waits to see a request's channel open on chain. The
 * client opens the channel and sends the request once its own node has
 * applied the commit; the provider's node may apply it a moment later
 * (validators apply each commit within milliseconds of each other, a
 * following node within a few commits). Two seconds is ten devnet commits;
 * past it the channel is refused as not open.
 */
export const CHANNEL_VISIBLE_WAIT_MS = 2_000;
/** Between looks at the chain for that channel: a read of local state, cheap at 25 ms. */
export const CHANNEL_VISIBLE_POLL_MS = 25;

/**
 * A new channel's deposit covers this many requests of the one that opened it,
 * so a client does not pay an on-chain open per request; capped by the
 * remaining budget.
 */
export const CHANNEL_DEPOSIT_REQUESTS = 16;
/** Channels one payer pool holds open: one or two per provider of a pod, 1,024 is plenty. */
export const POOL_CHANNELS_MAX = 1_024;

// ---- API keys ------------------------------------------------------------------

/** OpenAI's default tier-free rate: 60 requests per minute per key. */
export const API_KEY_RATE_PER_MINUTE_DEFAULT = 60;
/** Keys one node issues: a node serves a team, not the public; 1,000 keys is far above that. */
export const API_KEYS_MAX = 1_000;
/** Models on one key's allowlist. */
export const API_KEY_MODELS_MAX = 16;
/** A key's label for people. */
export const API_KEY_NAME_BYTES_MAX = 64;
/** Random bytes in an API key's secret: 32 bytes, unguessable. */
export const API_KEY_SECRET_BYTES = 32;
/** Text prefix of an API key, like OpenAI's "sk-". */
export const API_KEY_PREFIX = "hs-";
/** Body of one OpenAI-compatible request: a 64 KiB prompt plus the JSON around it. */
export const OPENAI_BODY_BYTES_MAX = 128 * 1024;
/** Chat messages in one request: 256 turns is a long conversation. */
export const CHAT_MESSAGES_MAX = 256;
