/**
 * A deterministic simulation of a whole committee in one process: every
 * authority runs the real Core, block verifier, synchronizer and in-memory
 * store, over a virtual network (per-link delays, loss and a partition
 * before the global stabilisation time, GST) on a virtual clock. f
 * authorities may be faulty (behaviours in byzantine.ts). One seed fixes
 * everything, so a failing seed replays exactly.
 *
 * Checks: safety (the commit sequences of all non-Byzantine authorities are
 * prefixes of one another, and none of them ever signed two blocks for a
 * round, restarts included) and liveness (every honest authority commits at
 * least LIVENESS_COMMITS_MIN times after GST).
 *
 * Latencies: a leader's commit latency is the time from its proposal to the
 * commit at each honest authority; a transaction's is the time from its
 * arrival in an honest authority's mempool to that authority committing it.
 */
import { type Block, type BlockRef, blockDigest, byteKey, type Commit, toHex } from "../../spec/index.ts";
import { blockKey, refKey } from "../block_ref.ts";
import { BlockVerifier } from "../block_verifier.ts";
import { Committee } from "../committee.ts";
import { Core, type CoreOptions, DEFAULT_CORE_OPTIONS } from "../core.ts";
import { BlockError, SyncError } from "../errors.ts";
import { blocksForFetch } from "../fetch_service.ts";
import type { BlockOutcome, TransactionSource } from "../interface.ts";
import type { LeaderScheduleKind } from "../leader_schedule.ts";
import { InMemoryConsensusStore } from "../memory_store.ts";
import { loadRecoveredStateSync } from "../recovery.ts";
import { Synchronizer } from "../synchronizer.ts";
import {
  type Behaviour,
  CORRUPTIONS,
  corrupt,
  equivocatingVariant,
  pickCorruption,
  withholdPolicy,
} from "./byzantine.ts";
import { EventQueue, type Scheduled } from "./event_queue.ts";
import { constantLatency, jitterLatency, type LatencyModel } from "./latency.ts";
import { Rng } from "./rng.ts";
import { simKey, simSigner, simVerifier } from "./sim_signature.ts";

/** Liveness: after GST (and after the last crash or restart) every honest authority commits at least this many leaders. */
export const LIVENESS_COMMITS_MIN = 3;
/**
 * Without a fixed duration a seed stops once every honest authority made this
 * many commits after GST and the last fault (restarted authorities one since
 * coming back): enough to check liveness, few enough for milliseconds a seed.
 */
export const STOP_COMMITS_AFTER_GST = 4;
/** Message loss before GST is drawn per seed from [0, this]. */
export const LOSS_BEFORE_GST_MAX = 0.2;
/** Jitter of the per-link delay in seeds with faults before GST: δ × [0.8, 1.2]. */
export const SWEEP_JITTER = 0.2;

export interface SimulationOptions {
  readonly validators: number;
  /** How many authorities misbehave (at most f keeps the protocol's guarantees). */
  readonly byzantine: number;
  readonly behaviour: Behaviour | "none";
  /** δ, the one-way network delay in which latencies are reported. */
  readonly deltaMs: number;
  /** By default: δ with ±20% jitter when there are faults before GST, else exactly δ. */
  readonly latency?: LatencyModel;
  /** Message loss and a partition before GST, drawn per seed. */
  readonly faultsBeforeGst: boolean;
  readonly leaderTimeoutMs?: number;
  readonly minRoundDelayMs?: number;
  readonly gcDepthRounds?: number;
  readonly commitsPerScheduleUpdate?: number;
  readonly leaderSchedule?: LeaderScheduleKind;
  /** Each honest authority's mempool gets one transaction every this many ms. */
  readonly txIntervalMs?: number;
  /** Processing time charged per received block (0: infinitely fast authorities). */
  readonly cpuMsPerBlock?: number;
  /** Run exactly this long after GST; by default, until STOP_COMMITS_AFTER_GST commits (at most a generous cap). */
  readonly durationAfterGstMs?: number;
  /** Crash faults: at a random time before GST (and maybe restart), or at the start for good. */
  readonly crashAt?: "random" | "start";
  /** Keep per-commit latency samples (for before/after comparisons). */
  readonly recordSamples?: boolean;
}

export interface LatencySample {
  readonly commitIndex: number;
  readonly atMs: number;
  readonly latencyMs: number;
}

export interface SeedResult {
  readonly seed: number;
  readonly safetyViolation: string | null;
  readonly livenessFailure: string | null;
  /** The fewest commits any honest authority made. */
  readonly commits: number;
  readonly highestRound: number;
  readonly leaderLatenciesMs: number[];
  readonly txLatenciesMs: number[];
  /** Rejected blocks by BlockError code, at honest authorities. */
  readonly rejected: Readonly<Record<string, number>>;
  /** Corrupted blocks that an honest authority accepted or rejected for another reason than the planted one. */
  readonly misjudged: number;
  readonly equivocationsSeen: number;
  /** Rounds that an authority restarted with a lost disk signed twice (best effort: peers had not seen its block). */
  readonly amnesiaEquivocations: number;
  readonly samples: LatencySample[];
  readonly events: number;
  readonly gstMs: number;
  readonly endMs: number;
}

enum Kind {
  Deliver,
  FetchRequest,
  FetchResponse,
  LatestRequest,
  LatestResponse,
  Timer,
  Crash,
  Restart,
}

interface Event extends Scheduled {
  readonly kind: Kind;
  readonly to: number;
  readonly from: number;
  readonly block?: Block;
  readonly blocks?: readonly Block[];
  readonly refs?: readonly BlockRef[];
  readonly rounds?: readonly number[];
  readonly id?: number;
  /** The incarnation of the receiver the message was meant for (a restart starts a new one). */
  readonly incarnation?: number;
  readonly wipe?: boolean;
  /** The CPU cost was already charged. */
  readonly paid?: boolean;
  readonly planted?: string;
}

/**
 * An honest authority's mempool: one transaction arrives every `intervalMs`
 * (from a random phase). Arrivals are materialised when the proposer pulls,
 * each stamped with its own arrival time, so they cost no events.
 */
class SimMempool implements TransactionSource {
  readonly pending: Uint8Array[] = [];
  readonly submittedAt = new Map<number, number>();
  private nextId = 0;
  private nextArrivalMs: number;

  constructor(
    private readonly onCommitted: (latencyMs: number) => void,
    private readonly nowMs: () => number,
    private readonly intervalMs: number,
    phaseMs: number,
  ) {
    this.nextArrivalMs = phaseMs;
  }

  pull(_maxBytes: number, maxCount: number): readonly Uint8Array[] {
    const now = this.nowMs();
    while (this.nextArrivalMs <= now) {
      const tx = new Uint8Array(8);
      const id = this.nextId++;
      new DataView(tx.buffer).setUint32(0, id);
      this.submittedAt.set(id, this.nextArrivalMs);
      this.pending.push(tx);
      this.nextArrivalMs += this.intervalMs;
    }
    return this.pending.splice(0, maxCount);
  }

  notify(_block: BlockRef, transactions: readonly Uint8Array[], outcome: BlockOutcome): void {
    for (const tx of transactions) {
      if (outcome === "dropped") {
        this.pending.push(tx);
        continue;
      }
      const id = new DataView(tx.buffer, tx.byteOffset, tx.byteLength).getUint32(0);
      const at = this.submittedAt.get(id);
      if (at === undefined) continue;
      this.submittedAt.delete(id);
      this.onCommitted(this.nowMs() - at);
    }
  }
}

interface OwnSync {
  readonly answered: Set<number>;
  stake: number;
  highest: number;
  readonly found: Block[];
  retryAtMs: number;
}

class SimNode {
  core: Core | null = null;
  synchronizer: Synchronizer;
  incarnation = 0;
  timerAtMs = Number.POSITIVE_INFINITY;
  timerGeneration = 0;
  busyUntilMs = 0;
  crashed = false;
  everCrashed = false;
  /** Restarted at least once with its disk lost. */
  wiped = false;
  ownSync: OwnSync | null = null;
  /** Blocks this (Byzantine) authority signed besides its core's, served on fetch. */
  readonly extraBlocks = new Map<string, Block>();
  /** Digest of every block this authority signed, by round (for the equivocation check). */
  readonly signedRounds = new Map<number, string>();
  /** commits[i]: the digest of commit i + 1 (a restart with a lost disk commits the same indices again). */
  readonly commits: string[] = [];
  /** Commits made after GST, after the last scheduled fault and after this authority's own (re)start. */
  commitsSettled = 0;
  startedAtMs = 0;
  readonly store = new InMemoryConsensusStore();

  constructor(
    readonly index: number,
    readonly behaviour: Behaviour | "none",
    readonly mempool: SimMempool | null,
    committee: Committee,
  ) {
    this.synchronizer = new Synchronizer(committee, index);
  }
}

export class Simulation {
  readonly committee: Committee;
  private readonly rng: Rng;
  private readonly queue = new EventQueue<Event>();
  private readonly nodes: SimNode[];
  private readonly latency: LatencyModel;
  private readonly coreOptions: CoreOptions;
  private readonly verifier: BlockVerifier;
  private readonly byzantine: ReadonlySet<number>;
  private readonly createdAt = new Map<string, number>();
  private readonly leaderLatencies: number[] = [];
  private readonly txLatencies: number[] = [];
  private readonly samples: LatencySample[] = [];
  private readonly rejected: Record<string, number> = {};
  private misjudged = 0;
  private amnesiaEquivocations = 0;
  private nowMs = 0;
  private events = 0;
  private readonly gstMs: number;
  private readonly endMs: number;
  private readonly loss: number;
  private readonly side: number[] | null;
  private safetyViolation: string | null = null;
  private variantCounter = 0;
  /** After this time no crash or restart is scheduled: commits count towards liveness. */
  private settledFromMs: number;
  private readonly fixedDuration: boolean;
  private stopped = false;

  constructor(
    readonly options: SimulationOptions,
    readonly seed: number,
  ) {
    const n = options.validators;
    const delta = options.deltaMs;
    this.rng = new Rng(seed);
    this.committee = Committee.fromStakes(
      new Array<number>(n).fill(1),
      Array.from({ length: n }, (_, i) => simKey(i)),
    );
    this.latency =
      options.latency ??
      (options.faultsBeforeGst ? jitterLatency(delta, SWEEP_JITTER) : constantLatency(delta));
    const leaderTimeoutMs = options.leaderTimeoutMs ?? 4 * delta;
    this.coreOptions = {
      ...DEFAULT_CORE_OPTIONS,
      leaderSchedule: options.leaderSchedule ?? "stake-weighted",
      leaderTimeoutMs,
      minRoundDelayMs: options.minRoundDelayMs ?? delta / 5,
      rebroadcastIntervalMs: 2 * leaderTimeoutMs,
      gcDepthRounds: options.gcDepthRounds ?? 20,
      commitsPerScheduleUpdate: options.commitsPerScheduleUpdate ?? 30,
    };
    this.verifier = new BlockVerifier(this.committee, {
      signatureVerifier: simVerifier,
      clock: { nowMs: () => this.nowMs },
    });

    // The scenario: who misbehaves, and how the network behaves before GST.
    const faulty = options.behaviour === "none" ? 0 : Math.min(options.byzantine, n);
    this.byzantine = new Set(this.rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, faulty));
    if (options.faultsBeforeGst) {
      this.gstMs = this.rng.int(2, 6) * delta;
      this.loss = this.rng.float() * LOSS_BEFORE_GST_MAX;
      if (this.rng.chance(0.5)) {
        const order = this.rng.shuffle(Array.from({ length: n }, (_, i) => i));
        const cut = this.rng.int(1, n - 1);
        this.side = new Array<number>(n).fill(0);
        for (const v of order.slice(0, cut)) this.side[v] = 1;
      } else this.side = null;
    } else {
      this.gstMs = 0;
      this.loss = 0;
      this.side = null;
    }
    this.fixedDuration = options.durationAfterGstMs !== undefined;
    this.endMs = this.gstMs + (options.durationAfterGstMs ?? 60 * delta + 10 * leaderTimeoutMs);
    this.settledFromMs = this.gstMs;

    const txIntervalMs = options.txIntervalMs ?? delta;
    this.nodes = Array.from({ length: n }, (_, i) => {
      const behaviour = this.byzantine.has(i) ? (options.behaviour as Behaviour) : "none";
      const mempool =
        behaviour === "none"
          ? new SimMempool(
              (latency) => this.txLatencies.push(latency),
              () => this.nowMs,
              txIntervalMs,
              this.rng.float() * txIntervalMs,
            )
          : null;
      return new SimNode(i, behaviour, mempool, this.committee);
    });
  }

  /** The Byzantine authorities of this seed. */
  get faulty(): ReadonlySet<number> {
    return this.byzantine;
  }

  run(): SeedResult {
    const delta = this.options.deltaMs;
    for (const node of this.nodes) this.start(node, false, false);
    for (const node of this.nodes) {
      if (node.behaviour !== "crash") continue;
      if (this.options.crashAt === "start") {
        this.crash(node);
        continue;
      }
      const crashAt = this.rng.float() * (this.gstMs + 5 * delta);
      this.push({ kind: Kind.Crash, atMs: crashAt, to: node.index, from: node.index });
      this.settledFromMs = Math.max(this.settledFromMs, crashAt);
      if (this.rng.chance(0.6)) {
        const wipe = this.rng.chance(1 / 3);
        const restartAt = crashAt + this.rng.int(2, 10) * delta;
        this.push({ kind: Kind.Restart, atMs: restartAt, to: node.index, from: node.index, wipe });
        this.settledFromMs = Math.max(this.settledFromMs, restartAt);
      }
    }

    for (;;) {
      const event = this.queue.peek();
      if (event === undefined || event.atMs > this.endMs || this.safetyViolation !== null || this.stopped)
        break;
      this.queue.pop();
      this.nowMs = event.atMs;
      this.events++;
      this.dispatch(event);
    }
    if (!this.stopped) this.nowMs = this.endMs;
    return this.result();
  }

  // ---- events ----

  /** Queues an event; every event object gets the same shape, which keeps dispatch fast. */
  private push(event: Omit<Event, "seq">): void {
    this.queue.push({
      atMs: event.atMs,
      seq: 0,
      kind: event.kind,
      to: event.to,
      from: event.from,
      block: event.block,
      blocks: event.blocks,
      refs: event.refs,
      rounds: event.rounds,
      id: event.id,
      incarnation: event.incarnation,
      wipe: event.wipe,
      paid: event.paid,
      planted: event.planted,
    });
  }

  private dispatch(event: Event): void {
    const node = this.nodes[event.to]!;
    switch (event.kind) {
      case Kind.Crash:
        this.crash(node);
        return;
      case Kind.Restart:
        if (node.crashed) this.start(node, true, event.wipe === true);
        return;
    }
    const core = node.core;
    if (core === null || node.crashed) return;
    if (event.incarnation !== undefined && event.incarnation !== node.incarnation) return;
    switch (event.kind) {
      case Kind.Timer:
        if (event.id !== node.timerGeneration) return;
        node.timerAtMs = Number.POSITIVE_INFINITY;
        if (node.ownSync !== null && this.nowMs >= node.ownSync.retryAtMs) this.askLatest(node);
        core.tick();
        break;
      case Kind.Deliver: {
        if (this.chargeCpu(node, event, 1)) return;
        this.receive(node, event.from, event.block!, event.planted);
        break;
      }
      case Kind.FetchRequest:
        this.serveFetch(node, event);
        return;
      case Kind.FetchResponse: {
        if (this.chargeCpu(node, event, event.blocks!.length)) return;
        let useful: Block[];
        try {
          useful = node.synchronizer.onResponse(event.id!, event.blocks!, this.nowMs);
        } catch (error) {
          if (!(error instanceof SyncError)) throw error;
          this.count(error.code);
          break;
        }
        const verified = [];
        for (const block of useful) {
          try {
            verified.push(this.verifier.verify(block));
          } catch (error) {
            if (!(error instanceof BlockError)) throw error;
            this.count(error.code);
          }
        }
        core.addBlocks(verified, event.from);
        break;
      }
      case Kind.LatestRequest: {
        const own = this.nodes[event.from]!;
        const block = core.dag.lastBlockOf(event.from).block;
        this.send(node.index, event.from, {
          kind: Kind.LatestResponse,
          blocks: block.round > 0 ? [block] : [],
          incarnation: own.incarnation,
        });
        return;
      }
      case Kind.LatestResponse: {
        const sync = node.ownSync;
        if (sync === null || sync.answered.has(event.from)) return;
        sync.answered.add(event.from);
        sync.stake += this.committee.stake(event.from);
        for (const block of event.blocks!) {
          sync.highest = Math.max(sync.highest, block.round);
          sync.found.push(block);
        }
        if (this.committee.reachedQuorum(sync.stake)) {
          node.ownSync = null;
          core.addBlocks(sync.found.flatMap((b) => this.verifyQuietly(b)));
          core.setLastKnownProposedRound(sync.highest);
        }
        break;
      }
    }
    this.afterStep(node);
  }

  /** With a CPU cost per block, delays the event until the authority is free; returns whether it was delayed. */
  private chargeCpu(node: SimNode, event: Event, blocks: number): boolean {
    const cost = this.options.cpuMsPerBlock ?? 0;
    if (cost === 0 || event.paid === true) return false;
    const start = Math.max(this.nowMs, node.busyUntilMs);
    node.busyUntilMs = start + cost * blocks;
    this.push({ ...event, atMs: node.busyUntilMs, paid: true });
    return true;
  }

  private receive(node: SimNode, from: number, block: Block, planted: string | undefined): void {
    let verified: ReturnType<BlockVerifier["verify"]>;
    try {
      verified = this.verifier.verify(block);
    } catch (error) {
      if (!(error instanceof BlockError)) throw error;
      this.count(error.code);
      if (planted !== undefined && planted !== error.code) this.misjudged++;
      return;
    }
    // Every planted fault but the timestamp one (checked on acceptance) must fail verification.
    if (planted !== undefined && planted !== "TIMESTAMP_BEFORE_ANCESTOR") this.misjudged++;
    const core = node.core!;
    core.addBlocks([verified], from);
    if (planted === "TIMESTAMP_BEFORE_ANCESTOR") {
      // Accepted is right only if no ancestor is later (early blocks all carry timestamp 0).
      const accepted = core.dag.get(verified.ref);
      if (accepted?.parents.some((p) => p !== undefined && p.timestampMs > accepted.timestampMs))
        this.misjudged++;
    }
  }

  private afterStep(node: SimNode): void {
    const core = node.core!;
    {
      const out = core.takeOutput();
      if (out.blocks.length > 0 || out.commits.length > 0 || out.ownLastBlock !== null) {
        node.store.writeSync({
          blocks: out.blocks,
          commits: out.commits.map((c) => c.commit),
          ownLastBlock: out.ownLastBlock,
        });
      }
      for (const error of out.rejected) this.count(error.code);
      if (out.ownLastBlock !== null) this.signed(node, out.ownLastBlock);
      for (const block of out.broadcast) this.broadcast(node, block);
      for (const subDag of out.commits) this.committed(node, subDag.commit, subDag.digest);
    }
    if (core.hasMissingBlocks || node.synchronizer.inFlightCount > 0) {
      for (const request of node.synchronizer.plan(core.missingBlocks(), this.nowMs)) {
        this.send(node.index, request.peer, {
          kind: Kind.FetchRequest,
          refs: request.refs,
          rounds: core.highestAcceptedRounds(),
          id: request.id,
          incarnation: this.nodes[request.peer]!.incarnation,
        });
      }
    }
    let wake = Math.min(core.nextWakeupMs(), node.synchronizer.nextDeadlineMs());
    if (node.ownSync !== null) wake = Math.min(wake, node.ownSync.retryAtMs);
    wake = Math.max(wake, this.nowMs + 0.5);
    if (wake < node.timerAtMs) {
      node.timerAtMs = wake;
      this.push({
        kind: Kind.Timer,
        atMs: wake,
        to: node.index,
        from: node.index,
        id: ++node.timerGeneration,
        incarnation: node.incarnation,
      });
    }
  }

  // ---- authorities ----

  private start(node: SimNode, restart: boolean, wipe: boolean): void {
    if (wipe) {
      node.store.wipe();
      node.wiped = true;
    }
    const recovered = restart ? loadRecoveredStateSync(node.store, this.coreOptions) : null;
    node.crashed = false;
    node.startedAtMs = this.nowMs;
    node.incarnation++;
    node.timerAtMs = Number.POSITIVE_INFINITY;
    node.synchronizer = new Synchronizer(this.committee, node.index, {
      requestTimeoutMs: 4 * this.options.deltaMs + 10 * (this.options.cpuMsPerBlock ?? 0),
    });
    const amnesia = restart && recovered === null;
    node.core = new Core({
      committee: this.committee,
      ownIndex: node.index,
      signer: simSigner(simKey(node.index)),
      clock: { nowMs: () => this.nowMs },
      transactions: node.mempool,
      verifier: this.verifier,
      options:
        node.behaviour === "withhold"
          ? { ...this.coreOptions, ancestorPolicy: withholdPolicy(this.committee, node.index) }
          : this.coreOptions,
      ...(recovered !== null ? { recovered } : {}),
      awaitOwnBlockSync: amnesia,
    });
    if (amnesia) {
      node.ownSync = {
        answered: new Set([node.index]),
        stake: this.committee.stake(node.index),
        highest: 0,
        found: [],
        retryAtMs: 0,
      };
      this.askLatest(node);
    }
    this.afterStep(node);
  }

  private askLatest(node: SimNode): void {
    const sync = node.ownSync!;
    sync.retryAtMs = this.nowMs + 4 * this.options.deltaMs;
    for (let peer = 0; peer < this.nodes.length; peer++) {
      if (sync.answered.has(peer)) continue;
      this.send(node.index, peer, { kind: Kind.LatestRequest, incarnation: this.nodes[peer]!.incarnation });
    }
  }

  private crash(node: SimNode): void {
    node.crashed = true;
    node.everCrashed = true;
    node.core = null;
    node.ownSync = null;
    node.timerGeneration++;
  }

  /** Stops an open-ended run once every authority that runs made its commits after the faults. */
  private checkDone(): void {
    for (const node of this.nodes) {
      if (node.crashed || (this.byzantine.has(node.index) && node.behaviour !== "crash")) continue;
      const target = this.byzantine.has(node.index) ? 1 : STOP_COMMITS_AFTER_GST;
      if (node.commitsSettled < target) return;
    }
    this.stopped = true;
  }

  private signed(node: SimNode, block: Block): void {
    const key = toHex(blockDigest(block));
    this.createdAt.set(blockKey(block), this.nowMs);
    if (node.behaviour === "equivocate") return;
    const seen = node.signedRounds.get(block.round);
    if (seen !== undefined && seen !== key && node.wiped) {
      // Recovery from a lost disk only knows the blocks its peers report: a block nobody received can be re-signed.
      this.amnesiaEquivocations++;
    } else if (seen !== undefined && seen !== key && this.safetyViolation === null) {
      this.safetyViolation = `authority ${node.index} (${node.behaviour === "none" ? "honest" : node.behaviour}) signed two blocks at round ${block.round}`;
    }
    node.signedRounds.set(block.round, key);
  }

  private committed(node: SimNode, commit: Commit, digest: Uint8Array): void {
    const key = byteKey(digest);
    const previous = node.commits[commit.index - 1];
    if (previous !== undefined && previous !== key && this.safetyViolation === null) {
      this.safetyViolation = `authority ${node.index} committed two different commits at index ${commit.index}`;
    }
    node.commits[commit.index - 1] = key;
    if (this.nowMs >= this.settledFromMs && this.nowMs >= node.startedAtMs) {
      node.commitsSettled++;
      if (!this.fixedDuration && node.commitsSettled === STOP_COMMITS_AFTER_GST) this.checkDone();
    }
    if (this.byzantine.has(node.index) || this.byzantine.has(commit.leader.author)) return;
    const created = this.createdAt.get(refKey(commit.leader));
    if (created === undefined) return;
    const latency = this.nowMs - created;
    this.leaderLatencies.push(latency);
    if (this.options.recordSamples === true)
      this.samples.push({ commitIndex: commit.index, atMs: this.nowMs, latencyMs: latency });
  }

  // ---- network ----

  private send(
    from: number,
    to: number,
    message: Omit<Event, "seq" | "atMs" | "to" | "from">,
    extraDelayMs = 0,
  ): void {
    if (this.nowMs < this.gstMs) {
      if (this.side !== null && this.side[from] !== this.side[to]) return;
      if (this.loss > 0 && this.rng.chance(this.loss)) return;
    }
    const atMs = this.nowMs + this.latency.sample(from, to, this.rng) + extraDelayMs;
    this.queue.push({
      atMs,
      seq: 0,
      kind: message.kind,
      to,
      from,
      block: message.block,
      blocks: message.blocks,
      refs: message.refs,
      rounds: message.rounds,
      id: message.id,
      incarnation: message.incarnation,
      wipe: message.wipe,
      paid: message.paid,
      planted: message.planted,
    });
  }

  private broadcast(node: SimNode, block: Block): void {
    const peers = this.nodes.length;
    switch (node.behaviour) {
      case "equivocate": {
        const variant = equivocatingVariant(block, simSigner(simKey(node.index)), this.variantCounter++);
        node.extraBlocks.set(blockKey(variant), variant);
        for (let to = 0; to < peers; to++) {
          if (to !== node.index)
            this.send(node.index, to, { kind: Kind.Deliver, block: to % 2 === 0 ? block : variant });
        }
        return;
      }
      case "invalid": {
        for (let to = 0; to < peers; to++) {
          if (to === node.index) continue;
          if (this.rng.chance(0.5)) {
            const kind = pickCorruption(this.rng);
            const bad = corrupt(block, kind, simSigner(simKey(node.index)), this.nowMs);
            const planted =
              kind === "TIMESTAMP_BEFORE_ANCESTOR" && block.round === 1 ? "BAD_SIGNATURE" : kind;
            this.send(node.index, to, { kind: Kind.Deliver, block: bad, planted });
          } else this.send(node.index, to, { kind: Kind.Deliver, block });
        }
        return;
      }
      case "late": {
        const leader = node.core?.leaderOf(block.round);
        const delay =
          leader?.author === node.index ? this.coreOptions.leaderTimeoutMs + 2 * this.options.deltaMs : 0;
        for (let to = 0; to < peers; to++)
          if (to !== node.index) this.send(node.index, to, { kind: Kind.Deliver, block }, delay);
        return;
      }
      default:
        for (let to = 0; to < peers; to++)
          if (to !== node.index) this.send(node.index, to, { kind: Kind.Deliver, block });
    }
  }

  private serveFetch(node: SimNode, event: Event): void {
    const core = node.core!;
    const max = node.synchronizer.options.blocksPerRequestMax;
    const { blocks, notHeld } = blocksForFetch(core, event.refs!, event.rounds, max);
    for (const ref of notHeld) {
      const block = node.extraBlocks.get(refKey(ref)) ?? node.store.readBlocksSync([ref])[0];
      if (block !== null && block !== undefined) blocks.push(block);
    }
    this.send(node.index, event.from, {
      kind: Kind.FetchResponse,
      blocks,
      id: event.id!,
      incarnation: this.nodes[event.from]!.incarnation,
    });
  }

  private verifyQuietly(block: Block): ReturnType<BlockVerifier["verify"]>[] {
    try {
      return [this.verifier.verify(block)];
    } catch (error) {
      if (!(error instanceof BlockError)) throw error;
      this.count(error.code);
      return [];
    }
  }

  private count(code: string): void {
    this.rejected[code] = (this.rejected[code] ?? 0) + 1;
  }

  // ---- checks ----

  private result(): SeedResult {
    const correct = this.nodes.filter((n) => !this.byzantine.has(n.index) || n.behaviour === "crash");
    const honest = this.nodes.filter((n) => !this.byzantine.has(n.index));
    let safety = this.safetyViolation;
    if (safety === null) {
      const longest = correct.reduce((a, b) => (b.commits.length > a.commits.length ? b : a));
      for (const node of correct) {
        const diverged = node.commits.findIndex((c, i) => c !== longest.commits[i]);
        if (diverged >= 0) {
          safety = `authorities ${node.index} and ${longest.index} differ at commit ${diverged + 1}`;
          break;
        }
      }
    }
    let liveness: string | null = null;
    for (const node of honest) {
      const after = node.commitsSettled;
      if (after < LIVENESS_COMMITS_MIN) {
        liveness = `authority ${node.index} made ${after} commits after GST and the last fault (from ${this.settledFromMs} ms to ${this.nowMs} ms), fewer than ${LIVENESS_COMMITS_MIN}`;
        break;
      }
    }
    const equivocations = honest.reduce((sum, n) => Math.max(sum, n.core?.equivocations.length ?? 0), 0);
    return {
      seed: this.seed,
      safetyViolation: safety,
      livenessFailure: liveness,
      commits: Math.min(...honest.map((n) => n.commits.length)),
      highestRound: Math.max(...this.nodes.map((n) => n.core?.dag.highestAcceptedRound ?? 0)),
      leaderLatenciesMs: this.leaderLatencies,
      txLatenciesMs: this.txLatencies,
      rejected: this.rejected,
      misjudged: this.misjudged,
      equivocationsSeen: equivocations,
      amnesiaEquivocations: this.amnesiaEquivocations,
      samples: this.samples,
      events: this.events,
      gstMs: this.gstMs,
      endMs: this.endMs,
    };
  }
}

/** Runs one seed. */
export function simulate(options: SimulationOptions, seed: number): SeedResult {
  return new Simulation(options, seed).run();
}

export { CORRUPTIONS };
