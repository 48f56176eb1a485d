/**
 * Catching up through commits. When blocks arrive from rounds far above our
 * DAG (more than `lagRounds`), fetching ancestors one round trip per round
 * would take too long; instead we ask peers for the commits after our last
 * one, with their blocks. A commit is taken only once peers holding at
 * least f+1 stake (so at least one honest authority) returned the same
 * commit digest, and only in chain order (index and previous digest).
 * Requests are bounded in size (`commitsPerRequestMax`), number (one round
 * of requests to f+1 stake of peers at a time) and time (`requestTimeoutMs`).
 */
import { type Block, bytesEqual, type Commit, commitDigest, toHex } from "../spec/index.ts";
import { blockKey, refKey } from "./block_ref.ts";
import type { Committee } from "./committee.ts";
import { SyncError } from "./errors.ts";
import type { CommitRange } from "./interface.ts";
import type { CommitChainTip } from "./linearizer.ts";

export interface CommitSyncOptions {
  /** How far above our DAG a peer's block must be before we sync commits instead of ancestors. */
  readonly lagRounds: number;
  /** 100 commits of a 100-authority committee is about 10,000 blocks: one reply stays under a few hundred MB even when full. */
  readonly commitsPerRequestMax: number;
  readonly requestTimeoutMs: number;
}

export const DEFAULT_COMMIT_SYNC_OPTIONS: CommitSyncOptions = {
  lagRounds: 25,
  commitsPerRequestMax: 100,
  requestTimeoutMs: 5_000,
};

export interface CommitRequest {
  readonly id: number;
  readonly peer: number;
  readonly fromIndex: number;
  readonly toIndex: number;
  readonly deadlineMs: number;
}

export interface CertifiedCommit {
  readonly commit: Commit;
  readonly digest: Uint8Array;
  /** The commit's blocks in its order (the leader last). */
  readonly blocks: readonly Block[];
}

interface Candidate {
  readonly commit: Commit;
  readonly digest: Uint8Array;
  readonly blocks: readonly Block[];
  readonly peers: Set<number>;
  stake: number;
}

export class CommitSyncer {
  readonly options: CommitSyncOptions;
  /** Per authority, the highest round of a verified block of it we were sent. */
  private readonly highestSeen: Float64Array;
  private readonly inFlight = new Map<number, CommitRequest>();
  private readonly candidates = new Map<number, Map<string, Candidate>>();
  private nextId = 1;
  private rotation = 0;

  constructor(
    private readonly committee: Committee,
    private readonly ownIndex: number,
    options: Partial<CommitSyncOptions> = {},
  ) {
    this.options = { ...DEFAULT_COMMIT_SYNC_OPTIONS, ...options };
    this.highestSeen = new Float64Array(committee.size);
  }

  /** Records the round of a verified block by `author` (accepted into the DAG or not). */
  observeRound(author: number, round: number): void {
    if (this.committee.isAuthority(author) && round > this.highestSeen[author]!)
      this.highestSeen[author] = round;
  }

  /**
   * Whether authorities holding f+1 stake (so at least one honest one) have
   * shown us blocks more than `lagRounds` above our DAG; a lone Byzantine
   * author signing far-future blocks cannot set off a sync.
   */
  isBehind(localHighestRound: number): boolean {
    const threshold = localHighestRound + this.options.lagRounds;
    let stake = 0;
    for (let author = 0; author < this.committee.size; author++) {
      if (this.highestSeen[author]! > threshold) stake += this.committee.stake(author);
    }
    return this.committee.reachedValidity(stake);
  }

  nextDeadlineMs(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const request of this.inFlight.values()) earliest = Math.min(earliest, request.deadlineMs);
    return earliest;
  }

  /** When behind and idle, asks peers holding f+1 stake for the commits after `lastIndex`. */
  plan(lastIndex: number, localHighestRound: number, nowMs: number): CommitRequest[] {
    for (const request of [...this.inFlight.values()]) {
      if (request.deadlineMs <= nowMs) this.inFlight.delete(request.id);
    }
    if (this.inFlight.size > 0 || !this.isBehind(localHighestRound)) return [];
    const requests: CommitRequest[] = [];
    let stake = 0;
    const size = this.committee.size;
    for (let i = 0; i < size && !this.committee.reachedValidity(stake); i++) {
      const peer = (this.rotation + i) % size;
      if (peer === this.ownIndex) continue;
      stake += this.committee.stake(peer);
      const request: CommitRequest = {
        id: this.nextId++,
        peer,
        fromIndex: lastIndex + 1,
        toIndex: lastIndex + this.options.commitsPerRequestMax,
        deadlineMs: nowMs + this.options.requestTimeoutMs,
      };
      this.inFlight.set(request.id, request);
      requests.push(request);
    }
    this.rotation = (this.rotation + 1) % size;
    return requests;
  }

  /**
   * Records a peer's reply. Commits outside the asked range, or whose blocks
   * do not match their references, end the reply there (SyncError).
   */
  onResponse(id: number, range: CommitRange): void {
    const request = this.inFlight.get(id);
    if (request === undefined) return;
    this.inFlight.delete(id);
    const fail = (code: "COMMIT_MISMATCH" | "COMMIT_CHAIN_BROKEN", detail: string): never => {
      throw new SyncError(code, detail, { peer: request.peer, detail });
    };
    const blocks = new Map<string, Block>();
    for (const block of range.blocks) {
      blocks.set(blockKey(block), block);
    }
    let expected = request.fromIndex;
    for (const commit of range.commits) {
      if (commit.index !== expected || commit.index > request.toIndex) {
        fail("COMMIT_CHAIN_BROKEN", `commit ${commit.index} where ${expected} was due`);
      }
      expected++;
      const own = commit.blocks.map((ref) => blocks.get(refKey(ref)));
      if (own.some((b) => b === undefined)) fail("COMMIT_MISMATCH", `commit ${commit.index} lacks blocks`);
      const last = commit.blocks.at(-1);
      if (last === undefined || refKey(last) !== refKey(commit.leader)) {
        fail("COMMIT_MISMATCH", `commit ${commit.index} does not end with its leader`);
      }
      const digest = commitDigest(commit);
      const key = toHex(digest);
      let atIndex = this.candidates.get(commit.index);
      if (atIndex === undefined) {
        atIndex = new Map();
        this.candidates.set(commit.index, atIndex);
      }
      let candidate = atIndex.get(key);
      if (candidate === undefined) {
        candidate = { commit, digest, blocks: own as Block[], peers: new Set(), stake: 0 };
        atIndex.set(key, candidate);
      }
      if (!candidate.peers.has(request.peer)) {
        candidate.peers.add(request.peer);
        candidate.stake += this.committee.stake(request.peer);
      }
    }
  }

  onFailure(id: number): void {
    this.inFlight.delete(id);
  }

  /** The commits after `tip` that f+1 stake vouched for, in chain order; forgets them. */
  takeCertified(tip: CommitChainTip): CertifiedCommit[] {
    const taken: CertifiedCommit[] = [];
    let index = tip.index + 1;
    let previous = tip.digest;
    for (;;) {
      const atIndex = this.candidates.get(index);
      const certified =
        atIndex === undefined
          ? undefined
          : [...atIndex.values()].find((c) => this.committee.reachedValidity(c.stake));
      if (certified === undefined || !bytesEqual(certified.commit.previousDigest, previous)) break;
      taken.push({ commit: certified.commit, digest: certified.digest, blocks: certified.blocks });
      previous = certified.digest;
      index++;
    }
    for (const key of [...this.candidates.keys()]) if (key < index) this.candidates.delete(key);
    return taken;
  }
}
