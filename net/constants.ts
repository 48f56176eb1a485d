/**
 * Protocol ids and the bounds of every message and queue in net/. Each bound
 * says why it has its value and what happens past it.
 */

/** Prefix of every stream protocol and gossip topic; the chain id follows, so two chains never mix. */
export const PROTOCOL_PREFIX = "/hyperspace";

/** Stream protocols (versioned). */
export const Protocol = {
  /** Long-lived push stream: a validator's own blocks, sent to every committee member. */
  ConsensusPush: "consensus/push/1",
  /** Long-lived push stream: batches of transactions, sent to the validator that proposes them. */
  TransactionPush: "txs/push/1",
  /** Request/response: blocks by reference, commits by index range. */
  ConsensusFetch: "consensus/fetch/1",
  /** Request/response: payment-channel messages between payer and payee. */
  Channel: "channel/1",
  /** Request/response: content-addressed chunks (checkpoints, models). */
  Chunk: "chunk/1",
  /** Request/response: a certified checkpoint and its state entries in pages, for nodes that start from one. */
  StateSync: "state-sync/1",
} as const;

/** Largest frame on any stream: one block (8 MiB, spec BLOCK_BYTES_MAX) plus framing. */
export const FRAME_BYTES_MAX = 8 * 1024 * 1024 + 1024;
/** Largest request: a list of block references or a small command. 64 KiB holds 1,000 references. */
export const REQUEST_BYTES_MAX = 64 * 1024;
/** Largest response: a batch of blocks or commits; 16 MiB keeps memory per request bounded. */
export const RESPONSE_BYTES_MAX = 16 * 1024 * 1024;
/** Largest gossip message: a transaction or an offer; larger data goes over request/response. */
export const GOSSIP_BYTES_MAX = 64 * 1024;

/** A request that takes longer than this is abandoned: a healthy loopback or LAN peer answers in milliseconds. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** Concurrent inbound requests served per protocol; past it new requests are refused (stream reset). */
export const INBOUND_REQUESTS_MAX = 64;
/**
 * Frames queued per outbound push stream. At 20 blocks/s per validator this is
 * several seconds of backlog; past it the oldest frame is dropped, because a
 * peer that far behind fetches missing blocks by reference anyway.
 */
export const PUSH_QUEUE_FRAMES_MAX = 256;

/** Peer score bounds: a peer starts at 0, loses points for invalid data and is disconnected at the threshold. */
export const PEER_SCORE_DISCONNECT_THRESHOLD = -100;
/** A disconnected peer is refused for this long before it may reconnect. */
export const PEER_BAN_MS = 60_000;
/** Peers whose score is tracked; the least recently seen entry is evicted past this. */
export const PEER_SCORE_ENTRIES_MAX = 10_000;

/**
 * State-sync page budget: 1 MiB is about ten thousand accounts, so a page
 * crosses a loopback or LAN link in milliseconds (far inside
 * REQUEST_TIMEOUT_MS even on a slow link) and the server's per-request
 * memory stays small whatever the state's size.
 */
export const STATE_PAGE_BYTES_MAX = 1024 * 1024;
/** A store key is a bucket byte and an id or two (under 100 bytes today); 1 KiB leaves room and bounds requests. */
export const STATE_KEY_BYTES_MAX = 1024;
/** A state-sync request is a kind, a checkpoint index and one key. */
export const STATE_SYNC_REQUEST_BYTES_MAX = STATE_KEY_BYTES_MAX + 64;
