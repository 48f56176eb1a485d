/**
 * The consensus core of one authority: pure and synchronous, like Sui's
 * core.rs. It takes verified blocks and timer ticks, and yields blocks to
 * persist, our own blocks to broadcast and commits, through `takeOutput`.
 * The authority loop (authority.ts) or the simulator drives it and does the
 * I/O: it persists the output before broadcasting or delivering any of it.
 *
 * Proposing: once the threshold clock reaches a round above our last block,
 * we propose when the previous round's leader block is in the DAG, or else
 * once `leaderTimeoutMs` has passed since the round began; never sooner than
 * `minRoundDelayMs` after our previous proposal. A block references our own
 * previous block first, then each other authority's newest block below the
 * round that we have not referenced yet (a quorum of the previous round among
 * them, by the threshold clock).
 *
 * Committing: after every change the universal committer decides what it
 * can; committed leaders are linearised into commits; reputation scores
 * swap the leader schedule every `commitsPerScheduleUpdate` commits,
 * applying from the leader after that commit on. The GC round follows the
 * last committed leader at `gcDepthRounds`.
 */
import {
  assert,
  type Block,
  type BlockBody,
  type BlockRef,
  blockDigest,
  bytesEqual,
  type Commit,
  withSignature,
} from "../spec/index.ts";
import { type AddBlocksResult, BlockManager, type MissingBlock } from "./block_manager.ts";
import type { Slot } from "./block_ref.ts";
import type { BlockVerifier } from "./block_verifier.ts";
import type { Committee } from "./committee.ts";
import { DagState, type EquivocationEvidence } from "./dag_state.ts";
import type { BlockError } from "./errors.ts";
import { verifiedGenesis } from "./genesis.ts";
import type { Clock, CommittedSubDag, TransactionSource } from "./interface.ts";
import { LeaderSchedule, type LeaderScheduleKind } from "./leader_schedule.ts";
import { buildSwapTable, ReputationScores } from "./leader_scoring.ts";
import type { DecidedLeader } from "./leader_status.ts";
import { type CommitChainTip, chainTipOf, GENESIS_CHAIN_TIP, Linearizer } from "./linearizer.ts";
import type { BlockSigner } from "./signature.ts";
import { ThresholdClock } from "./threshold_clock.ts";
import { UniversalCommitter } from "./universal_committer.ts";
import { VerifiedBlock } from "./verified_block.ts";

export interface CoreOptions {
  readonly leaderSchedule: LeaderScheduleKind;
  /** Rounds per wave (3 in Mysticeti) and whether every round has a leader. */
  readonly waveLength: number;
  readonly pipelined: boolean;
  /**
   * Rounds kept below the last committed leader. 50 rounds is several
   * seconds of rounds at WAN speed: a block that late is useless, and a
   * peer further behind catches up through commit sync instead.
   */
  readonly gcDepthRounds: number;
  /** How long to wait for the previous round's leader before proposing without it. */
  readonly leaderTimeoutMs: number;
  /** Least time between two of our proposals: bounds the block rate when the network is fast. */
  readonly minRoundDelayMs: number;
  /** Re-send our last block after this long without a new round (peers may have missed it). */
  readonly rebroadcastIntervalMs: number;
  /** Commits per reputation window; Sui uses 300 (long enough that one unlucky round does not swap a leader). */
  readonly commitsPerScheduleUpdate: number;
  /** Transaction budget of one block (count and total bytes). */
  readonly blockTransactionsMax: number;
  readonly blockTransactionBytesMax: number;
  /**
   * Only for the simulator's Byzantine authorities: edits the ancestors of
   * our next block (for example, leaving out the leader to withhold a vote).
   * Must keep our own block first and a quorum of the previous round.
   */
  readonly ancestorPolicy?: (
    round: number,
    leader: Slot | null,
    ancestors: VerifiedBlock[],
  ) => VerifiedBlock[];
}

export const DEFAULT_CORE_OPTIONS: CoreOptions = {
  leaderSchedule: "stake-weighted",
  waveLength: 3,
  pipelined: true,
  gcDepthRounds: 50,
  leaderTimeoutMs: 200,
  minRoundDelayMs: 50,
  rebroadcastIntervalMs: 1_000,
  commitsPerScheduleUpdate: 300,
  blockTransactionsMax: 10_000,
  /** 4 MiB leaves half of the 8 MiB block bound for ancestors and framing. */
  blockTransactionBytesMax: 4 * 1024 * 1024,
};

/** What a core recovers from its store after a restart. */
export interface RecoveredState {
  /** Stored blocks above the recovered GC round (ours included). */
  readonly blocks: readonly Block[];
  /** The most recent commits, ascending and consecutive, ending with the last one. */
  readonly commits: readonly Commit[];
  readonly ownLastBlock: Block | null;
}

export interface CoreOutput {
  /** Blocks newly accepted into the DAG, to persist. */
  readonly blocks: readonly Block[];
  /** Our newest proposal, to persist as such. */
  readonly ownLastBlock: Block | null;
  /** Our blocks to send to every peer once the above is persisted (new, or re-sent). */
  readonly broadcast: readonly Block[];
  readonly commits: readonly CommittedSubDag[];
  /** Blocks that failed acceptance checks, for logs and peer scoring. */
  readonly rejected: readonly BlockError[];
}

const EMPTY_OUTPUT: CoreOutput = Object.freeze({
  blocks: [],
  ownLastBlock: null,
  broadcast: [],
  commits: [],
  rejected: [],
});

export interface CoreArgs {
  readonly committee: Committee;
  readonly ownIndex: number;
  readonly signer: BlockSigner;
  readonly clock: Clock;
  readonly transactions: TransactionSource | null;
  /** Used for the acceptance checks (timestamps); signatures are checked before blocks reach the core. */
  readonly verifier: BlockVerifier | null;
  readonly options?: Partial<CoreOptions>;
  readonly recovered?: RecoveredState;
  /**
   * Do not propose until `setLastKnownProposedRound` is called: set when the
   * store was empty, so that a node that lost its disk first learns from its
   * peers which round it last proposed in, and never equivocates.
   */
  readonly awaitOwnBlockSync?: boolean;
}

export class Core {
  readonly committee: Committee;
  readonly ownIndex: number;
  readonly options: CoreOptions;
  readonly dag: DagState;
  readonly schedule: LeaderSchedule;
  readonly committer: UniversalCommitter;
  private readonly manager: BlockManager;
  private readonly clock: ThresholdClock;
  private readonly linearizer: Linearizer;
  private readonly reputation: ReputationScores;
  private readonly time: Clock;
  private readonly signer: BlockSigner;
  private readonly transactions: TransactionSource | null;

  private lastDecided: Slot;
  private tip: CommitChainTip = GENESIS_CHAIN_TIP;
  private ownLast: VerifiedBlock;
  private readonly lastIncludedRound: Float64Array;
  private lastKnownProposedRound: number | null;
  private roundStartMs: number;
  private lastProposedAtMs = Number.NEGATIVE_INFINITY;
  private lastBroadcastMs: number;
  /** Our blocks whose transactions are not yet committed or dropped. */
  private readonly ownPending = new Map<string, VerifiedBlock>();

  private outBlocks: Block[] = [];
  private outOwnLast: Block | null = null;
  private outBroadcast: Block[] = [];
  private outCommits: CommittedSubDag[] = [];
  private outRejected: BlockError[] = [];

  constructor(args: CoreArgs) {
    this.committee = args.committee;
    this.ownIndex = args.ownIndex;
    assert(args.committee.isAuthority(args.ownIndex), "own index outside the committee");
    this.options = { ...DEFAULT_CORE_OPTIONS, ...args.options };
    this.time = args.clock;
    this.signer = args.signer;
    this.transactions = args.transactions;
    this.dag = new DagState(args.committee, verifiedGenesis(args.committee));
    this.manager = new BlockManager(this.dag, args.verifier);
    this.clock = new ThresholdClock(args.committee);
    this.schedule = new LeaderSchedule(args.committee, this.options.leaderSchedule);
    this.committer = new UniversalCommitter(args.committee, this.dag, this.schedule, {
      waveLength: this.options.waveLength,
      pipelined: this.options.pipelined,
    });
    this.linearizer = new Linearizer(this.options.gcDepthRounds);
    this.reputation = new ReputationScores(args.committee, this.options.commitsPerScheduleUpdate);
    this.lastIncludedRound = new Float64Array(args.committee.size).fill(-1);
    this.lastKnownProposedRound = args.awaitOwnBlockSync === true ? null : -1;
    for (let author = 0; author < args.committee.size; author++) {
      this.clock.add(0, author);
    }
    this.lastDecided = { round: 0, author: this.schedule.elect(0) };
    this.ownLast = this.dag.lastBlockOf(args.ownIndex);
    const now = this.time.nowMs();
    this.roundStartMs = now;
    this.lastBroadcastMs = now;
    if (args.recovered !== undefined) this.recover(args.recovered);
    this.tryCommit();
    this.tryPropose();
  }

  // ---- inputs ----

  /** Adds verified blocks from `peer` (or from our store or a fetch); commits and proposes what it can. */
  addBlocks(blocks: readonly VerifiedBlock[], peer?: number): void {
    const result = this.manager.addBlocks(blocks, peer);
    if (result.accepted.length === 0 && result.rejected.length === 0) return;
    this.absorb(result);
    this.tryCommit();
    this.tryPropose();
  }

  /** Called when `nextWakeupMs` has passed: proposes after a leader timeout, re-sends a stalled block. */
  tick(): void {
    this.tryPropose();
    const now = this.time.nowMs();
    if (now >= this.lastBroadcastMs + this.options.rebroadcastIntervalMs && this.ownLast.round > 0) {
      this.outBroadcast.push(this.ownLast.block);
      this.lastBroadcastMs = now;
    }
  }

  /** After a disk loss: the highest round our peers hold a block of ours from. Proposals resume above it. */
  setLastKnownProposedRound(round: number): void {
    this.lastKnownProposedRound = Math.max(round, this.ownLast.round);
    this.tryPropose();
  }

  /**
   * Applies commits that f+1 stake of peers vouched for (commit_syncer.ts),
   * with their verified blocks, when we are too far behind to decide them
   * ourselves. Stops at the first commit that does not extend our chain.
   */
  applyCertifiedCommits(
    commits: readonly {
      readonly commit: Commit;
      readonly digest: Uint8Array;
      readonly blocks: readonly VerifiedBlock[];
    }[],
  ): number {
    let applied = 0;
    for (const { commit, digest, blocks } of commits) {
      if (commit.index !== this.tip.index + 1 || !bytesEqual(commit.previousDigest, this.tip.digest)) break;
      if (commit.leader.round <= this.lastDecided.round) break;
      const gcRound = Math.max(0, commit.leader.round - this.options.gcDepthRounds);
      if (gcRound > this.dag.gcRound) {
        this.dag.setGcRound(gcRound);
        this.absorb(this.manager.onGcRoundAdvanced());
      }
      this.absorb(this.manager.addBlocks(blocks));
      const held = blocks.map((b) => this.dag.get(b.ref));
      if (held.some((b) => b === undefined)) break;
      for (const block of held as VerifiedBlock[]) {
        block.committed = true;
        if (block.author === this.ownIndex && this.ownPending.delete(block.key)) {
          this.transactions?.notify(block.ref, block.transactions, "committed");
        }
      }
      this.tip = chainTipOf(commit, digest);
      this.lastDecided = { round: commit.leader.round, author: commit.leader.author };
      this.reputation.record(commit);
      if (this.reputation.commitsUntilUpdate === 0) {
        this.schedule.setSwapTable(buildSwapTable(this.committee, this.reputation.take()));
      }
      this.outCommits.push({ commit, digest, blocks: (held as VerifiedBlock[]).map((b) => b.block) });
      applied++;
    }
    if (applied > 0) {
      this.committer.prune(this.lastDecided.round);
      this.collectGarbage();
      this.tryCommit();
      this.tryPropose();
    }
    return applied;
  }

  // ---- outputs ----

  takeOutput(): CoreOutput {
    if (
      this.outBlocks.length === 0 &&
      this.outOwnLast === null &&
      this.outBroadcast.length === 0 &&
      this.outCommits.length === 0 &&
      this.outRejected.length === 0
    ) {
      return EMPTY_OUTPUT;
    }
    const output: CoreOutput = {
      blocks: this.outBlocks,
      ownLastBlock: this.outOwnLast,
      broadcast: this.outBroadcast,
      commits: this.outCommits,
      rejected: this.outRejected,
    };
    this.outBlocks = [];
    this.outOwnLast = null;
    this.outBroadcast = [];
    this.outCommits = [];
    this.outRejected = [];
    return output;
  }

  /** The earliest time at which `tick` may make progress. */
  nextWakeupMs(): number {
    let wake = this.lastBroadcastMs + this.options.rebroadcastIntervalMs;
    const round = this.clock.round;
    if (
      round > this.ownLast.round &&
      this.lastKnownProposedRound !== null &&
      round > this.lastKnownProposedRound
    ) {
      const earliest = Math.max(
        this.lastProposedAtMs + this.options.minRoundDelayMs,
        this.leaderPresent(round - 1) ? 0 : this.roundStartMs + this.options.leaderTimeoutMs,
      );
      wake = Math.min(wake, earliest);
    }
    return wake;
  }

  missingBlocks(): MissingBlock[] {
    return this.manager.missingBlocks();
  }

  /** Whether we hold the block, accepted or waiting for its ancestors. */
  hasBlock(ref: BlockRef): boolean {
    return this.manager.has(ref);
  }

  /** A block we hold, accepted or waiting for its ancestors (to serve a peer's fetch). */
  getBlock(ref: BlockRef): Block | undefined {
    return (this.dag.get(ref) ?? this.manager.getWaiting(ref))?.block;
  }

  /** Per authority, the highest round we accepted a block at (sent with fetches, so peers add what we lack). */
  highestAcceptedRounds(): number[] {
    return this.committee.authorities.map((_, author) => this.lastAcceptedRound(author));
  }

  /** The highest round we accepted a block of `author` at. */
  lastAcceptedRound(author: number): number {
    return this.dag.lastBlockOf(author).round;
  }

  /** Whether some waiting block lacks an ancestor nobody has sent us. */
  get hasMissingBlocks(): boolean {
    return this.manager.missingCount > 0;
  }

  get clockRound(): number {
    return this.clock.round;
  }

  get lastProposedRound(): number {
    return this.ownLast.round;
  }

  get ownLastBlock(): Block {
    return this.ownLast.block;
  }

  get lastCommitIndex(): number {
    return this.tip.index;
  }

  get lastCommitTip(): CommitChainTip {
    return this.tip;
  }

  get lastDecidedLeader(): Slot {
    return this.lastDecided;
  }

  get equivocations(): readonly EquivocationEvidence[] {
    return this.dag.equivocations;
  }

  /** The leader slot of `round` under the current schedule. */
  leaderOf(round: number): Slot | null {
    return this.committer.leaderOf(round);
  }

  // ---- internals ----

  private absorb(result: AddBlocksResult): void {
    for (const block of result.accepted) {
      this.outBlocks.push(block.block);
      if (this.clock.add(block.round, block.author)) this.roundStartMs = this.time.nowMs();
      if (block.author === this.ownIndex && block.round > this.ownLast.round) {
        // Our own block came back to us (recovery after a disk loss): build on it.
        this.ownLast = block;
      }
    }
    for (const error of result.rejected) this.outRejected.push(error);
  }

  private leaderPresent(round: number): boolean {
    const leader = this.committer.leaderOf(round);
    return leader === null || this.dag.blocksAtSlot(leader.round, leader.author).length > 0;
  }

  private tryPropose(): void {
    const round = this.clock.round;
    if (round <= this.ownLast.round) return;
    if (this.lastKnownProposedRound === null || round <= this.lastKnownProposedRound) return;
    const now = this.time.nowMs();
    if (now < this.lastProposedAtMs + this.options.minRoundDelayMs) return;
    const timedOut = now >= this.roundStartMs + this.options.leaderTimeoutMs;
    if (!timedOut && !this.leaderPresent(round - 1)) return;

    let ancestors: VerifiedBlock[] = [this.ownLast];
    for (let author = 0; author < this.committee.size; author++) {
      if (author === this.ownIndex) continue;
      const block = this.dag.lastBlockBelow(author, round);
      if (block !== undefined && block.round > this.lastIncludedRound[author]!) ancestors.push(block);
    }
    if (this.options.ancestorPolicy !== undefined) {
      ancestors = this.options.ancestorPolicy(round, this.committer.leaderOf(round - 1), ancestors);
    }
    let timestampMs = now;
    let parentStake = 0;
    for (const ancestor of ancestors) {
      if (ancestor.timestampMs > timestampMs) timestampMs = ancestor.timestampMs;
      if (ancestor.round === round - 1) parentStake += this.committee.stake(ancestor.author);
    }
    assert(
      this.committee.reachedQuorum(parentStake),
      `no quorum of round ${round - 1} to propose round ${round}`,
    );
    const transactions =
      this.transactions?.pull(this.options.blockTransactionBytesMax, this.options.blockTransactionsMax) ?? [];
    const body: BlockBody = {
      epoch: this.committee.epoch,
      round,
      author: this.ownIndex,
      timestampMs,
      ancestors: ancestors.map((a) => a.ref),
      transactions,
    };
    const signed = withSignature(body, (digest) => this.signer.sign(digest));
    const block = new VerifiedBlock(signed);
    const result = this.manager.addBlocks([block]);
    assert(result.accepted.includes(block), "own block not accepted");
    this.ownLast = block;
    for (const ancestor of ancestors) this.lastIncludedRound[ancestor.author] = ancestor.round;
    this.lastProposedAtMs = now;
    this.lastBroadcastMs = now;
    this.outOwnLast = block.block;
    this.outBroadcast.push(block.block);
    if (transactions.length > 0) this.ownPending.set(block.key, block);
    this.absorb(result);
    this.tryCommit();
  }

  private tryCommit(): void {
    for (;;) {
      if (this.reputation.commitsUntilUpdate === 0) {
        this.schedule.setSwapTable(buildSwapTable(this.committee, this.reputation.take()));
      }
      const decided = this.committer.tryDecide(this.lastDecided);
      if (decided.length === 0) return;
      // Stop at the commit that completes the reputation window: the leaders after it use the new schedule.
      let budget = this.reputation.commitsUntilUpdate;
      let cut = decided.length;
      for (let i = 0; i < decided.length; i++) {
        if (decided[i]!.kind === "commit" && --budget === 0) {
          cut = i + 1;
          break;
        }
      }
      for (const leader of decided.slice(0, cut)) this.commitLeader(leader);
      this.lastDecided = decided[cut - 1]!.slot;
      this.committer.prune(this.lastDecided.round);
      this.collectGarbage();
      if (cut === decided.length) return;
    }
  }

  private commitLeader(leader: DecidedLeader): void {
    if (leader.kind !== "commit") return;
    const linearized = this.linearizer.commit(leader.block, this.tip);
    this.tip = chainTipOf(linearized.commit, linearized.digest);
    this.reputation.record(linearized.commit);
    this.outCommits.push({ commit: linearized.commit, digest: linearized.digest, blocks: linearized.blocks });
    for (const block of linearized.verifiedBlocks) {
      if (block.author !== this.ownIndex || !this.ownPending.delete(block.key)) continue;
      this.transactions?.notify(block.ref, block.transactions, "committed");
    }
  }

  private collectGarbage(): void {
    const gcRound = Math.max(0, this.tip.leaderRound - this.options.gcDepthRounds);
    if (gcRound <= this.dag.gcRound) return;
    this.dag.setGcRound(gcRound);
    for (const [key, block] of this.ownPending) {
      if (block.round > gcRound) continue;
      this.ownPending.delete(key);
      this.transactions?.notify(block.ref, block.transactions, "dropped");
    }
    this.absorb(this.manager.onGcRoundAdvanced());
  }

  private recover(state: RecoveredState): void {
    const last = state.commits.at(-1);
    if (last !== undefined) {
      this.tip = chainTipOf(last);
      this.lastDecided = { round: last.leader.round, author: last.leader.author };
      this.dag.setGcRound(Math.max(0, last.leader.round - this.options.gcDepthRounds));
      // Rebuild the reputation window the last commit is in, and the table of the window before it.
      const window = this.options.commitsPerScheduleUpdate;
      const windowStart = Math.floor((last.index - 1) / window) * window + 1;
      const previous = state.commits.filter((c) => c.index >= windowStart - window && c.index < windowStart);
      if (windowStart > window && previous.length === window) {
        for (const commit of previous) this.reputation.record(commit);
        this.schedule.setSwapTable(buildSwapTable(this.committee, this.reputation.take()));
      }
      for (const commit of state.commits) if (commit.index >= windowStart) this.reputation.record(commit);
      if (this.reputation.commitsUntilUpdate === 0) {
        // The window is complete: its table applies after the last commit.
        this.schedule.setSwapTable(buildSwapTable(this.committee, this.reputation.take()));
      }
    }
    const blocks = [...state.blocks].sort((a, b) => a.round - b.round);
    this.absorb(this.manager.addBlocks(blocks.map((b) => new VerifiedBlock(b))));
    for (const commit of state.commits) {
      for (const ref of commit.blocks) {
        const block = this.dag.get(ref);
        if (block !== undefined) block.committed = true;
      }
    }
    if (state.ownLastBlock !== null && state.ownLastBlock.round > this.ownLast.round) {
      this.ownLast =
        this.dag.get({ ...state.ownLastBlock, digest: blockDigest(state.ownLastBlock) }) ??
        new VerifiedBlock(state.ownLastBlock);
    }
    for (const ancestor of this.ownLast.ancestors) {
      this.lastIncludedRound[ancestor.author] = Math.max(
        this.lastIncludedRound[ancestor.author]!,
        ancestor.round,
      );
    }
    if (this.lastKnownProposedRound !== null) {
      this.lastKnownProposedRound = Math.max(this.lastKnownProposedRound, this.ownLast.round);
    }
    // The blocks we just re-read are already stored; only new ones need persisting.
    this.outBlocks = [];
    if (this.ownLast.round > 0) this.outBroadcast.push(this.ownLast.block);
    this.lastBroadcastMs = this.time.nowMs();
  }
}

/** The commit range recovery needs: the GC window of commits, and the current and previous reputation windows. */
export function recoveryCommitRange(
  lastCommitIndex: number,
  options: Pick<CoreOptions, "gcDepthRounds" | "commitsPerScheduleUpdate">,
): { fromIndex: number; toIndex: number } {
  const window = options.commitsPerScheduleUpdate;
  const windowStart = Math.floor((lastCommitIndex - 1) / window) * window + 1;
  const fromIndex = Math.max(1, Math.min(lastCommitIndex - options.gcDepthRounds + 1, windowStart - window));
  return { fromIndex, toIndex: lastCommitIndex };
}
