/**
 * Which missing blocks to fetch, from whom, and when to give up on a peer.
 * Pure: the authority loop (or the simulator) sends the requests it plans
 * and reports the answers.
 *
 * A missing block is asked first of the peers the block manager names (the
 * author of a block that references it, who proposed with it; the peer that
 * sent that block; the missing block's own author), then of the other
 * authorities in turn. Requests are bounded in size
 * (`blocksPerRequestMax`), in number (`requestsPerPeerMax` per peer,
 * `requestsInFlightMax` in all) and in time (`requestTimeoutMs`, after which
 * the blocks are asked of the next peer). A reply may hold the blocks we
 * asked that peer for and their ancestors (a peer adds those we lack, see
 * fetch_service.ts), at most `blocksPerRequestMax` in all; anything else is
 * refused with a SyncError.
 */
import { assert, type Block, type BlockRef } from "../spec/index.ts";
import type { MissingBlock } from "./block_manager.ts";
import { blockKey, refKey } from "./block_ref.ts";
import type { Committee } from "./committee.ts";
import { SyncError } from "./errors.ts";

export interface SynchronizerOptions {
  /** Sui fetches up to 1,000 blocks at once; 200 keeps a reply of 1,000-transaction blocks near 50 MB. */
  readonly blocksPerRequestMax: number;
  /** Two requests per peer keep one in flight while the other is answered. */
  readonly requestsPerPeerMax: number;
  /** A bound on total fetch concurrency, whatever the committee size. */
  readonly requestsInFlightMax: number;
  /** A peer that has not answered by then is presumed slow or faulty: ask the next one. */
  readonly requestTimeoutMs: number;
  /** After a peer lacked a block or failed, wait this long before asking again (no request storms). */
  readonly retryDelayMs: number;
}

export const DEFAULT_SYNCHRONIZER_OPTIONS: SynchronizerOptions = {
  blocksPerRequestMax: 200,
  requestsPerPeerMax: 2,
  requestsInFlightMax: 16,
  requestTimeoutMs: 2_000,
  retryDelayMs: 100,
};

export interface FetchRequest {
  readonly id: number;
  readonly peer: number;
  readonly refs: readonly BlockRef[];
  readonly deadlineMs: number;
}

interface Wanted {
  readonly ref: BlockRef;
  attempts: number;
  request: number | null;
  notBeforeMs: number;
}

export class Synchronizer {
  readonly options: SynchronizerOptions;
  private readonly wanted = new Map<string, Wanted>();
  private readonly inFlight = new Map<number, FetchRequest>();
  private readonly perPeer: Int32Array;
  private nextId = 1;

  constructor(
    private readonly committee: Committee,
    private readonly ownIndex: number,
    options: Partial<SynchronizerOptions> = {},
  ) {
    this.options = { ...DEFAULT_SYNCHRONIZER_OPTIONS, ...options };
    this.perPeer = new Int32Array(committee.size);
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** The earliest deadline of a request in flight or of a retry (the loop wakes then to re-plan). */
  nextDeadlineMs(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const request of this.inFlight.values()) earliest = Math.min(earliest, request.deadlineMs);
    for (const wanted of this.wanted.values()) {
      if (wanted.request === null && wanted.notBeforeMs > 0)
        earliest = Math.min(earliest, wanted.notBeforeMs);
    }
    return earliest;
  }

  /** Plans new requests for the blocks still missing; expires requests past their deadline. */
  plan(missing: readonly MissingBlock[], nowMs: number): FetchRequest[] {
    for (const request of [...this.inFlight.values()]) {
      if (request.deadlineMs <= nowMs) this.release(request.id, true, nowMs);
    }
    const current = new Set<string>();
    const byPeer = new Map<number, BlockRef[]>();
    for (const { ref, peers } of missing) {
      const key = refKey(ref);
      current.add(key);
      let wanted = this.wanted.get(key);
      if (wanted === undefined) {
        wanted = { ref, attempts: 0, request: null, notBeforeMs: 0 };
        this.wanted.set(key, wanted);
      }
      if (wanted.request !== null || wanted.notBeforeMs > nowMs) continue;
      const peer = this.choosePeer(peers, wanted.attempts);
      const list = byPeer.get(peer);
      if (list === undefined) byPeer.set(peer, [ref]);
      else list.push(ref);
    }
    for (const [key, wanted] of this.wanted) {
      if (!current.has(key) && wanted.request === null) this.wanted.delete(key);
    }
    const requests: FetchRequest[] = [];
    for (const [peer, refs] of byPeer) {
      for (let i = 0; i < refs.length; i += this.options.blocksPerRequestMax) {
        if (this.inFlight.size >= this.options.requestsInFlightMax) return requests;
        if (this.perPeer[peer]! >= this.options.requestsPerPeerMax) break;
        const request: FetchRequest = {
          id: this.nextId++,
          peer,
          refs: refs.slice(i, i + this.options.blocksPerRequestMax),
          deadlineMs: nowMs + this.options.requestTimeoutMs,
        };
        this.inFlight.set(request.id, request);
        this.perPeer[peer]!++;
        for (const ref of request.refs) this.wanted.get(refKey(ref))!.request = request.id;
        requests.push(request);
      }
    }
    return requests;
  }

  /**
   * A peer answered request `id`. Returns the blocks it asked for (to verify
   * and add); throws SyncError if the reply holds anything else. Asked-for
   * blocks left out of the reply are asked of the next peer.
   */
  onResponse(id: number, blocks: readonly Block[], nowMs: number): Block[] {
    const request = this.inFlight.get(id);
    if (request === undefined) return [];
    const asked = new Set(request.refs.map(refKey));
    this.release(id, false, nowMs);
    if (blocks.length > this.options.blocksPerRequestMax) {
      throw new SyncError(
        "TOO_MANY_BLOCKS",
        `${blocks.length} blocks > ${this.options.blocksPerRequestMax}`,
        {
          peer: request.peer,
        },
      );
    }
    // Newest first: a block is welcome if we asked for it or a welcome block references it.
    const welcome = new Set(asked);
    const useful: Block[] = [];
    for (const block of [...blocks].sort((a, b) => b.round - a.round)) {
      const key = blockKey(block);
      if (!welcome.has(key)) {
        throw new SyncError("UNREQUESTED_BLOCK", `block ${block.round}/${block.author} was not asked for`, {
          peer: request.peer,
        });
      }
      welcome.delete(key);
      for (const ancestor of block.ancestors) welcome.add(refKey(ancestor));
      asked.delete(key);
      this.wanted.delete(key);
      useful.push(block);
    }
    for (const key of asked) {
      const wanted = this.wanted.get(key);
      if (wanted === undefined) continue;
      wanted.attempts++;
      wanted.notBeforeMs = nowMs + this.options.retryDelayMs;
    }
    return useful;
  }

  /** The request failed (an error or a timeout reported by the network). */
  onFailure(id: number, nowMs: number): void {
    this.release(id, true, nowMs);
  }

  private release(id: number, failed: boolean, nowMs: number): void {
    const request = this.inFlight.get(id);
    if (request === undefined) return;
    this.inFlight.delete(id);
    this.perPeer[request.peer]!--;
    for (const ref of request.refs) {
      const wanted = this.wanted.get(refKey(ref));
      if (wanted === undefined || wanted.request !== id) continue;
      wanted.request = null;
      if (failed) {
        wanted.attempts++;
        wanted.notBeforeMs = nowMs + this.options.retryDelayMs;
      }
    }
  }

  /** Hinted peers first (the author leads the list), then everyone else, skipping ourselves. */
  private choosePeer(hints: readonly number[], attempts: number): number {
    const candidates = hints.filter((p) => p !== this.ownIndex && this.committee.isAuthority(p));
    for (let p = 0; p < this.committee.size; p++) {
      if (p !== this.ownIndex && !candidates.includes(p)) candidates.push(p);
    }
    assert(candidates.length > 0, "a committee of one has nobody to fetch from");
    return candidates[attempts % candidates.length]!;
  }
}
