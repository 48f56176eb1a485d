import type { Committee } from "../consensus/index.ts";
import {
  Bucket,
  bucketKey,
  bucketPrefix,
  indexKey,
  type Ledger,
  LedgerError,
  readIndexKey,
  type Store,
  type StoreEntry,
  WriteBatch,
} from "../ledger/index.ts";
import {
  isSnapshotGone,
  type NetworkHost,
  type StatePage,
  type StateSyncService,
  StateSyncTransport,
} from "../net/index.ts";
import { bytesEqual, CodecError, commitDigest, HyperspaceError, toHex, utf8 } from "../spec/index.ts";
import { putCommit, type RocksConsensusStore } from "./consensus-store.ts";
import type { Logger } from "./logger.ts";
import {
  CertificateError,
  type CheckpointCertificate,
  type CheckpointOffer,
  decodeCheckpointCertificate,
  decodeCheckpointOffer,
  encodeCheckpointCertificate,
  encodeCheckpointOffer,
  verifyCheckpointOffer,
} from "./state-sync-certificate.ts";

/**
 * Starting a full node from a certified checkpoint instead of genesis.
 *
 * Serving (every node): the ledger keeps a frozen copy of its state at the
 * newest checkpoints (Ledger `snapshotIntervalCommits`), and the certifier
 * hands over the quorum certificate of each checkpoint it sees certified.
 * This service persists those certificates (the newest
 * CERTIFICATES_KEPT) and offers peers the newest checkpoint for which it
 * holds both: certificate, commit and record, then the state in pages.
 *
 * Syncing (a full node with `stateSync` and an empty data dir): ask peers
 * for their offers, verify each against the genesis committee, take the
 * highest checkpoint, download its entries page by page (switching peers
 * on failure), and install them (ledger.installSnapshot checks the root)
 * together with the commit, the certificate and the origin marker in one
 * atomic write. The commit follower then continues from that commit.
 */

/**
 * Certificates kept on disk and in memory: the newest few checkpoints are all
 * anyone syncs from; ten is a few hundred kilobytes even for a large committee.
 */
export const CERTIFICATES_KEPT = 10;
/** A syncing node gives up on state sync after this long and follows from genesis (young chain, no peer serving). */
export const STATE_SYNC_TIMEOUT_MS = 60_000;
/** Pause between rounds of asking peers for offers: about one commit interval, so a new checkpoint is seen soon. */
export const STATE_SYNC_RETRY_MS = 500;
/**
 * The most state a download accepts. The ledger holds all state in memory,
 * so a node could not run a larger state anyway; past it a peer is lying
 * (endless pages) and the download starts over with others.
 */
export const STATE_SYNC_BYTES_MAX = 2 * 1024 * 1024 * 1024;
/** Peers asked for offers at once: the genesis validators and connected peers, up to this many. */
export const STATE_SYNC_PEERS_MAX = 32;

/** nodeMeta key: the checkpoint index this node's state started from (absent: genesis). */
const ORIGIN_KEY = bucketKey(Bucket.nodeMeta, utf8.encode("state-sync-origin"));

const certificateKey = (index: number) => bucketKey(Bucket.nodeCheckpointCertificate, indexKey(index));

export interface StateSyncOptions {
  readonly chainId: string;
  readonly committee: Committee;
  readonly ledger: Ledger;
  readonly store: Store;
  readonly consensusStore: RocksConsensusStore;
  readonly host: NetworkHost;
  readonly log: Logger;
  readonly timeoutMs?: number;
}

export interface SyncedCheckpoint {
  readonly index: number;
  readonly commitDigest: Uint8Array;
  readonly stateRoot: Uint8Array;
}

export class StateSync implements StateSyncService {
  private readonly transport: StateSyncTransport;
  /** Newest certificates by checkpoint index, at most CERTIFICATES_KEPT. */
  private readonly certificates = new Map<number, CheckpointCertificate>();
  private offerCache: { index: number; bytes: Uint8Array } | null = null;
  private origin = 0;

  private constructor(private readonly options: StateSyncOptions) {
    this.transport = new StateSyncTransport(options.host);
  }

  /** Loads the persisted certificates and origin; serves nothing until `serve`. */
  static async open(options: StateSyncOptions): Promise<StateSync> {
    const sync = new StateSync(options);
    const prefix = bucketPrefix(Bucket.nodeCheckpointCertificate);
    for await (const { value } of options.store.iterate(prefix, {
      reverse: true,
      limit: CERTIFICATES_KEPT,
    })) {
      const certificate = decodeCheckpointCertificate(value);
      sync.certificates.set(certificate.index, certificate);
    }
    const origin = await options.store.get(ORIGIN_KEY);
    sync.origin = origin === null ? 0 : readIndexKey(origin);
    return sync;
  }

  async serve(): Promise<void> {
    await this.transport.serve(this);
  }

  /** The checkpoint this node's state started from; 0 when it executed from genesis. */
  get originIndex(): number {
    return this.origin;
  }

  /** The newest checkpoint whose certificate this node holds; 0 when none. */
  get latestCertificateIndex(): number {
    return Math.max(0, ...this.certificates.keys());
  }

  /** Keeps and persists a checkpoint's certificate (from the certifier); the oldest beyond CERTIFICATES_KEPT is dropped. */
  async addCertificate(certificate: CheckpointCertificate): Promise<void> {
    if (this.certificates.has(certificate.index)) return;
    this.certificates.set(certificate.index, certificate);
    const batch = new WriteBatch().put(
      certificateKey(certificate.index),
      encodeCheckpointCertificate(certificate),
    );
    while (this.certificates.size > CERTIFICATES_KEPT) {
      const oldest = Math.min(...this.certificates.keys());
      this.certificates.delete(oldest);
      batch.delete(certificateKey(oldest));
    }
    await this.options.store.write(batch);
  }

  // Serving ------------------------------------------------------------------

  async checkpointOffer(): Promise<Uint8Array | null> {
    const snapshots = this.options.ledger.checkpointSnapshots;
    for (let i = snapshots.length - 1; i >= 0; i--) {
      const snapshot = snapshots[i]!;
      if (this.offerCache?.index === snapshot.index) return this.offerCache.bytes;
      const certificate = this.certificates.get(snapshot.index);
      if (certificate === undefined || !bytesEqual(certificate.stateRoot, snapshot.record.stateRoot))
        continue;
      const [commit] = await this.options.consensusStore.readCommits(snapshot.index, snapshot.index);
      if (commit === undefined || !bytesEqual(commitDigest(commit), certificate.commitDigest)) continue;
      const bytes = encodeCheckpointOffer({ certificate, commit, record: snapshot.record });
      this.offerCache = { index: snapshot.index, bytes };
      return bytes;
    }
    return null;
  }

  statePage(index: number, fromKey: Uint8Array, maxBytes: number): StatePage | null {
    return this.options.ledger.snapshotAt(index)?.page(fromKey, maxBytes) ?? null;
  }

  // Syncing ------------------------------------------------------------------

  /**
   * Installs the newest certified checkpoint the peers serve. Returns it, or
   * null if none could be had within the timeout (the caller then follows
   * from genesis). Peers that send invalid offers or state lose score.
   */
  async syncFromPeers(validatorPeers: readonly string[]): Promise<SyncedCheckpoint | null> {
    const { log } = this.options;
    const deadline = Date.now() + (this.options.timeoutMs ?? STATE_SYNC_TIMEOUT_MS);
    /** Peers that served a state not matching its certified root: not asked again in this sync. */
    const excluded = new Set<string>();
    while (Date.now() < deadline) {
      const offers = (await this.collectOffers(validatorPeers)).filter((o) => !excluded.has(o.peer));
      const best = offers.reduce<(typeof offers)[number] | null>(
        (top, o) => (top === null || o.offer.certificate.index > top.offer.certificate.index ? o : top),
        null,
      );
      if (best === null) {
        log.debug("no checkpoint offered yet", { peers: validatorPeers.length });
        await sleep(STATE_SYNC_RETRY_MS);
        continue;
      }
      const { offer } = best;
      const index = offer.certificate.index;
      const sources = offers.filter((o) => o.offer.certificate.index === index).map((o) => o.peer);
      log.info("syncing state from checkpoint", { index, peers: sources.length });
      const servedBy = new Set<string>();
      try {
        const entries = await this.download(index, sources, servedBy);
        await this.install(offer, entries);
        log.info("state installed from checkpoint", {
          index,
          entries: entries.length,
          stateRoot: toHex(offer.certificate.stateRoot),
        });
        return {
          index,
          commitDigest: offer.certificate.commitDigest,
          stateRoot: offer.certificate.stateRoot,
        };
      } catch (error) {
        if (error instanceof LedgerError && error.code === "SNAPSHOT_MISMATCH") {
          // The certificate is valid, so whoever served these pages served a wrong state. When
          // one peer served them all it is to blame; either way none of them is asked again.
          if (servedBy.size === 1) for (const peer of servedBy) this.options.host.penalise(peer, "Malformed");
          for (const peer of servedBy) excluded.add(peer);
        } else if (!(error instanceof HyperspaceError)) throw error;
        log.warn("state sync attempt failed", { index, error: String(error) });
        await sleep(STATE_SYNC_RETRY_MS);
      }
    }
    log.warn("no certified checkpoint could be synced in time: following from genesis");
    return null;
  }

  private async collectOffers(
    validatorPeers: readonly string[],
  ): Promise<{ peer: string; offer: CheckpointOffer }[]> {
    const { host, chainId, committee, log } = this.options;
    const peers = [...new Set([...validatorPeers, ...host.peers()])]
      .filter((p) => p !== host.peerId)
      .slice(0, STATE_SYNC_PEERS_MAX);
    const answers = await Promise.all(
      peers.map(async (peer) => {
        try {
          const bytes = await this.transport.fetchCheckpointOffer(peer);
          if (bytes === null) return [];
          const offer = decodeCheckpointOffer(bytes);
          verifyCheckpointOffer(offer, chainId, committee);
          return [{ peer, offer }];
        } catch (error) {
          if (error instanceof CodecError || error instanceof CertificateError)
            host.penalise(peer, "Malformed");
          log.debug("checkpoint offer refused", { peer, error: String(error) });
          return [];
        }
      }),
    );
    return answers.flat();
  }

  /**
   * Every entry of checkpoint `index`, page by page: from the first source
   * while it answers, then the next (pages are the same from any holder of
   * the checkpoint). `servedBy` collects the peers whose pages were used.
   */
  private async download(
    index: number,
    sources: readonly string[],
    servedBy: Set<string>,
  ): Promise<StoreEntry[]> {
    const entries: StoreEntry[] = [];
    let bytes = 0;
    let fromKey: Uint8Array | null = new Uint8Array();
    let source = 0;
    let failures = 0;
    while (fromKey !== null) {
      const peer = sources[source % sources.length]!;
      let page: StatePage;
      try {
        page = await this.transport.fetchStatePage(peer, index, fromKey);
      } catch (error) {
        if (!(error instanceof HyperspaceError)) throw error;
        this.options.log.debug("state page failed", { peer, index, gone: isSnapshotGone(error) });
        // Each source gets one more chance per page; then the attempt starts over with fresh offers.
        if (++failures >= sources.length * 2) throw error;
        source++;
        continue;
      }
      failures = 0;
      servedBy.add(peer);
      for (const entry of page.entries) {
        bytes += entry.key.byteLength + entry.value.byteLength;
        entries.push(entry);
      }
      if (bytes > STATE_SYNC_BYTES_MAX) {
        throw new CertificateError("OFFER_MISMATCH", `checkpoint ${index}: state larger than the bound`, {
          index,
        });
      }
      fromKey = page.nextKey;
    }
    return entries;
  }

  private async install(offer: CheckpointOffer, entries: StoreEntry[]): Promise<void> {
    const { certificate, commit, record } = offer;
    const alongside = new WriteBatch();
    putCommit(alongside, commit);
    alongside.put(certificateKey(certificate.index), encodeCheckpointCertificate(certificate));
    alongside.put(ORIGIN_KEY, indexKey(certificate.index));
    await this.options.ledger.installSnapshot({ record, entries }, alongside);
    this.certificates.set(certificate.index, certificate);
    this.origin = certificate.index;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
