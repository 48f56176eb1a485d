/**
 * The authority loop: a thin async shell around the synchronous Core, like
 * Sui's core_thread.rs. Every input (a peer's block, a fetch reply, a timer)
 * runs as one step on a serial queue; after each step the core's output is
 * persisted (awaited) before our blocks are broadcast and commits are handed
 * on, so a crash never loses what was sent or executed. The loop also runs
 * the synchronizer (missing ancestors), the commit syncer (far behind) and,
 * after a disk loss, the sync of our own last block before we propose.
 *
 * It implements ConsensusService for net/: peers' blocks and requests come
 * in through it.
 */
import type { Block, BlockRef, Commit } from "../spec/index.ts";
import { blockDigest } from "../spec/index.ts";
import { refKey } from "./block_ref.ts";
import { BlockVerifier } from "./block_verifier.ts";
import { CommitSyncer, type CommitSyncOptions } from "./commit_syncer.ts";
import type { Committee } from "./committee.ts";
import { Core, type CoreOptions, DEFAULT_CORE_OPTIONS } from "./core.ts";
import { BlockError, SyncError } from "./errors.ts";
import { blocksForFetch } from "./fetch_service.ts";
import type {
  Clock,
  CommitRange,
  CommittedSubDag,
  ConsensusNetwork,
  ConsensusService,
  ConsensusStore,
  TimerHandle,
  Timers,
  TransactionSource,
} from "./interface.ts";
import { loadRecoveredState } from "./recovery.ts";
import type { BlockSigner, SignatureVerifier } from "./signature.ts";
import { Synchronizer, type SynchronizerOptions } from "./synchronizer.ts";
import type { VerifiedBlock } from "./verified_block.ts";

/** Structured logging, as node/ provides it (a pino child logger fits). */
export interface ConsensusLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface AuthorityOptions {
  readonly core: Partial<CoreOptions>;
  readonly synchronizer: Partial<SynchronizerOptions>;
  readonly commitSync: Partial<CommitSyncOptions>;
  /** How often to re-ask peers for our last block after a disk loss, until a quorum answered. */
  readonly ownBlockSyncRetryMs: number;
  /**
   * Peers' blocks waiting for the loop. 10,000 is many rounds of a large
   * committee; past it new blocks are dropped (the synchronizer fetches them
   * again if they are needed).
   */
  readonly inboundBlocksMax: number;
  /** Blocks served in one fetch reply; larger requests are cut to this. */
  readonly servedBlocksMax: number;
  /** Commits served in one reply. */
  readonly servedCommitsMax: number;
}

/** Peers' blocks held unwritten for at most this many rounds' worth when we neither propose nor commit. */
const UNWRITTEN_ROUNDS_MAX = 4;

export const DEFAULT_AUTHORITY_OPTIONS: AuthorityOptions = {
  core: {},
  synchronizer: {},
  commitSync: {},
  ownBlockSyncRetryMs: 1_000,
  inboundBlocksMax: 10_000,
  servedBlocksMax: 200,
  servedCommitsMax: 100,
};

export interface AuthorityArgs {
  readonly committee: Committee;
  readonly ownIndex: number;
  readonly signer: BlockSigner;
  readonly signatureVerifier?: SignatureVerifier;
  readonly store: ConsensusStore;
  readonly network: ConsensusNetwork;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly transactions: TransactionSource | null;
  /** Receives each commit once it is persisted, in order; awaited before the next step runs. */
  readonly onCommit: (subDag: CommittedSubDag) => void | Promise<void>;
  /** A broken invariant or a failed store write stops the authority and lands here. */
  readonly onFatal?: (error: unknown) => void;
  readonly options?: Partial<AuthorityOptions>;
  readonly log?: ConsensusLogger;
}

const silent: ConsensusLogger = { info() {}, warn() {} };

export class Authority implements ConsensusService {
  readonly core: Core;
  private readonly options: AuthorityOptions;
  private readonly verifier: BlockVerifier;
  private readonly synchronizer: Synchronizer;
  private readonly commitSyncer: CommitSyncer;
  private readonly log: ConsensusLogger;
  private queue: Promise<void> = Promise.resolve();
  private inbound = 0;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private failure: unknown = null;
  /** Accepted blocks not yet persisted: they go with the next write of our own block or a commit. */
  private unwritten: Block[] = [];
  /** Each author's highest-round block handed to us, before verification (for a peer's own-block sync). */
  private readonly latestReceived: (Block | undefined)[];

  private constructor(
    private readonly args: AuthorityArgs,
    core: Core,
    verifier: BlockVerifier,
    options: AuthorityOptions,
  ) {
    this.core = core;
    this.verifier = verifier;
    this.options = options;
    this.log = args.log ?? silent;
    this.synchronizer = new Synchronizer(args.committee, args.ownIndex, options.synchronizer);
    this.commitSyncer = new CommitSyncer(args.committee, args.ownIndex, options.commitSync);
    this.latestReceived = new Array(args.committee.size);
  }

  /** Recovers from the store (or starts fresh), re-broadcasts our last block and starts the loop. */
  static async start(args: AuthorityArgs): Promise<Authority> {
    const options = { ...DEFAULT_AUTHORITY_OPTIONS, ...args.options };
    const coreOptions = { ...DEFAULT_CORE_OPTIONS, ...options.core };
    const recovered = await loadRecoveredState(args.store, coreOptions);
    const verifier = new BlockVerifier(args.committee, {
      clock: args.clock,
      ...(args.signatureVerifier !== undefined ? { signatureVerifier: args.signatureVerifier } : {}),
    });
    const core = new Core({
      committee: args.committee,
      ownIndex: args.ownIndex,
      signer: args.signer,
      clock: args.clock,
      transactions: args.transactions,
      verifier,
      options: coreOptions,
      ...(recovered !== null ? { recovered } : {}),
      awaitOwnBlockSync: recovered === null,
    });
    const authority = new Authority(args, core, verifier, options);
    authority.log.info(
      { round: core.lastProposedRound, commitIndex: core.lastCommitIndex, recovered: recovered !== null },
      "consensus authority started",
    );
    await authority.run(() => {});
    if (recovered === null) void authority.syncOwnLastBlock();
    return authority;
  }

  get error(): unknown {
    return this.failure;
  }

  /** Stops the loop after the step in progress; pending inputs are dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.queue.catch(() => {});
    if (this.failure === null) await this.writeUnwritten([], null).catch(() => {});
  }

  private async writeUnwritten(commits: readonly Commit[], ownLastBlock: Block | null): Promise<void> {
    if (this.unwritten.length === 0 && commits.length === 0 && ownLastBlock === null) return;
    const blocks = this.unwritten;
    this.unwritten = [];
    await this.args.store.write({ blocks, commits, ownLastBlock });
  }

  // ---- ConsensusService ----

  handleBlock(peer: number, block: Block, encodedBytes?: number): void {
    if (this.stopped || this.inbound >= this.options.inboundBlocksMax) return;
    this.inbound++;
    if (
      this.args.committee.isAuthority(block.author) &&
      block.round > (this.latestReceived[block.author]?.round ?? 0)
    ) {
      this.latestReceived[block.author] = block;
    }
    void this.run(() => {
      this.inbound--;
      const verified = this.verify(peer, block, encodedBytes);
      if (verified === null) return;
      this.commitSyncer.observeRound(verified.author, verified.round);
      this.core.addBlocks([verified], peer);
    });
  }

  async handleFetchBlocks(
    _peer: number,
    refs: readonly BlockRef[],
    highestAcceptedRounds?: readonly number[],
  ): Promise<Block[]> {
    const { blocks, notHeld } = blocksForFetch(
      this.core,
      refs,
      highestAcceptedRounds,
      this.options.servedBlocksMax,
    );
    if (notHeld.length > 0) {
      // Older than our in-memory DAG: from the store.
      for (const block of await this.args.store.readBlocks(notHeld)) if (block !== null) blocks.push(block);
    }
    return blocks;
  }

  async handleFetchLatestBlocks(_peer: number, authors: readonly number[]): Promise<Block[]> {
    const blocks: Block[] = [];
    for (const author of new Set(authors)) {
      if (!this.args.committee.isAuthority(author)) continue;
      // The newest of what we accepted and what is still queued: the asker verifies it.
      const accepted =
        author === this.args.ownIndex ? this.core.ownLastBlock : this.core.dag.lastBlockOf(author).block;
      const queued = this.latestReceived[author];
      const block = queued !== undefined && queued.round > accepted.round ? queued : accepted;
      if (block.round > 0) blocks.push(block);
    }
    return blocks;
  }

  async handleFetchCommits(_peer: number, fromIndex: number, toIndex: number): Promise<CommitRange> {
    const to = Math.min(toIndex, fromIndex + this.options.servedCommitsMax - 1);
    if (to < fromIndex) return { commits: [], blocks: [] };
    const commits: Commit[] = await this.args.store.readCommits(fromIndex, to);
    const refs = commits.flatMap((c) => c.blocks);
    const blocks = (await this.args.store.readBlocks(refs)).filter((b): b is Block => b !== null);
    return { commits, blocks };
  }

  // ---- the loop ----

  /** Runs one step on the serial queue, then persists and delivers the core's output. */
  private run(step: () => void): Promise<void> {
    const next = this.queue.then(async () => {
      if (this.stopped) return;
      try {
        step();
        await this.flush();
      } catch (error) {
        this.fail(error);
      }
    });
    this.queue = next;
    return next;
  }

  private fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = error;
    this.stopped = true;
    this.timer?.cancel();
    this.log.warn({ error: String(error) }, "consensus authority stopped");
    this.args.onFatal?.(error);
  }

  /**
   * Persists what the core produced, then broadcasts and delivers it. Our own
   * block and commits are written before they leave (a synced write each).
   * Peers' blocks wait for that write instead of taking one of their own, as
   * Sui's DagState does: about one write per round instead of one per block
   * received. Nothing durable depends on them until then, and one lost in a
   * crash is fetched again from its author, who holds it durably.
   */
  private async flush(): Promise<void> {
    const out = this.core.takeOutput();
    for (const block of out.blocks) this.unwritten.push(block);
    if (
      out.commits.length > 0 ||
      out.ownLastBlock !== null ||
      this.unwritten.length >= this.args.committee.size * UNWRITTEN_ROUNDS_MAX
    ) {
      await this.writeUnwritten(
        out.commits.map((c) => c.commit),
        out.ownLastBlock,
      );
    }
    for (const block of out.broadcast) this.args.network.broadcastBlock(block);
    for (const error of out.rejected) this.log.warn({ code: error.code, ...error.payload }, "block rejected");
    for (const subDag of out.commits) await this.args.onCommit(subDag);
    if (this.stopped) return;
    this.planFetches();
    this.schedule();
  }

  private schedule(): void {
    const now = this.args.clock.nowMs();
    const wake = Math.min(
      this.core.nextWakeupMs(),
      this.synchronizer.nextDeadlineMs(),
      this.commitSyncer.nextDeadlineMs(),
    );
    this.timer?.cancel();
    this.timer = this.args.timers.setTimer(Math.max(1, wake - now), () => {
      this.timer = null;
      void this.run(() => this.core.tick());
    });
  }

  private verify(peer: number, block: Block, encodedBytes?: number): VerifiedBlock | null {
    try {
      return this.verifier.verify(block, encodedBytes);
    } catch (error) {
      if (!(error instanceof BlockError)) throw error;
      this.log.warn({ peer, code: error.code, ...error.payload }, "invalid block");
      return null;
    }
  }

  private planFetches(): void {
    const now = this.args.clock.nowMs();
    const missing =
      this.core.hasMissingBlocks || this.synchronizer.inFlightCount > 0 ? this.core.missingBlocks() : [];
    for (const request of this.synchronizer.plan(missing, now)) {
      this.args.network.fetchBlocks(request.peer, request.refs, this.core.highestAcceptedRounds()).then(
        (blocks) =>
          this.run(() => {
            let useful: Block[];
            try {
              useful = this.synchronizer.onResponse(request.id, blocks, this.args.clock.nowMs());
            } catch (error) {
              if (!(error instanceof SyncError)) throw error;
              this.log.warn({ peer: request.peer, code: error.code }, "bad fetch reply");
              return;
            }
            const verified = useful.map((b) => this.verify(request.peer, b)).filter((b) => b !== null);
            this.core.addBlocks(verified, request.peer);
          }),
        () => this.run(() => this.synchronizer.onFailure(request.id, this.args.clock.nowMs())),
      );
    }
    const lastIndex = this.core.lastCommitIndex;
    for (const request of this.commitSyncer.plan(lastIndex, this.core.dag.highestAcceptedRound, now)) {
      this.args.network.fetchCommits(request.peer, request.fromIndex, request.toIndex).then(
        (range) => this.run(() => this.applyCommitReply(request.id, request.peer, range)),
        () => this.run(() => this.commitSyncer.onFailure(request.id)),
      );
    }
  }

  private applyCommitReply(id: number, peer: number, range: CommitRange): void {
    try {
      this.commitSyncer.onResponse(id, range);
    } catch (error) {
      if (!(error instanceof SyncError)) throw error;
      this.log.warn({ peer, code: error.code }, "bad commit reply");
      return;
    }
    const certified = this.commitSyncer.takeCertified(this.core.lastCommitTip);
    if (certified.length === 0) return;
    const verified = certified.map(({ commit, digest, blocks }) => ({
      commit,
      digest,
      blocks: blocks.map((b) => this.verify(peer, b)).filter((b) => b !== null),
    }));
    const applied = this.core.applyCertifiedCommits(verified);
    this.log.info({ applied, commitIndex: this.core.lastCommitIndex }, "synced commits");
  }

  /**
   * After a disk loss: ask every peer for the newest block of ours it holds,
   * until peers with a quorum of stake (with us) answered; then propose only
   * above the highest round found, so we never sign two blocks for a round.
   */
  private async syncOwnLastBlock(): Promise<void> {
    const { committee, ownIndex, network } = this.args;
    const answered = new Set<number>([ownIndex]);
    let stake = committee.stake(ownIndex);
    let highest = 0;
    const found = new Map<string, Block>();
    while (!committee.reachedQuorum(stake) && !this.stopped) {
      const peers = committee.authorities.map((_, i) => i).filter((i) => !answered.has(i));
      await Promise.allSettled(
        peers.map(async (peer) => {
          const blocks = await network.fetchLatestBlocks(peer, [ownIndex]);
          if (answered.has(peer)) return;
          answered.add(peer);
          stake += committee.stake(peer);
          for (const block of blocks) {
            if (block.author !== ownIndex || this.verify(peer, block) === null) continue;
            highest = Math.max(highest, block.round);
            found.set(refKey({ round: block.round, author: ownIndex, digest: blockDigest(block) }), block);
          }
        }),
      );
      if (!committee.reachedQuorum(stake) && !this.stopped) {
        await new Promise<void>((resolve) =>
          this.args.timers.setTimer(this.options.ownBlockSyncRetryMs, resolve),
        );
      }
    }
    if (this.stopped) return;
    this.log.info({ round: highest, peers: answered.size }, "synced own last block from peers");
    await this.run(() => {
      const verified = [...found.values()].map((b) => this.verify(ownIndex, b)).filter((b) => b !== null);
      this.core.addBlocks(verified);
      this.core.setLastKnownProposedRound(highest);
    });
  }
}
