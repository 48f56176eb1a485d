/**
 * The Mysticeti commit rule for one sequence of waves.
 *
 * A wave of `waveLength` rounds starts at a leader round r; round r + 1 is
 * the voting round and the wave's last round is the decision round. A block
 * votes for the leader block it finds first at the leader's slot in a
 * depth-first search of its history (so an equivocating leader gets at most
 * one vote from any block). A block is a certificate for a leader block when
 * its ancestors hold votes from 2f+1 stake.
 *
 * Direct rule: skip the slot once 2f+1 stake of voting-round blocks do not
 * reference it; commit a leader block once 2f+1 stake of decision-round
 * blocks are certificates for it. Indirect rule: find the first committed
 * leader at least a wave later (the anchor); commit the leader block that
 * has a certificate in the anchor's history, or skip the slot.
 *
 * Stake is counted once per author everywhere, so equivocators gain nothing.
 * Results that depend only on a block's history (support, certificates,
 * direct decisions) are cached; the caches are pruned below the last
 * decided round.
 */
import { assert } from "../spec/index.ts";
import { type Slot, slotIndex } from "./block_ref.ts";
import type { Committee } from "./committee.ts";
import type { DagState } from "./dag_state.ts";
import type { LeaderSchedule } from "./leader_schedule.ts";
import type { DecidedLeader, LeaderStatus } from "./leader_status.ts";
import { StakeAggregator } from "./stake_aggregator.ts";
import type { VerifiedBlock } from "./verified_block.ts";

/** Mysticeti's waves need a leader round, a voting round and a decision round. */
export const WAVE_LENGTH_MIN = 3;

export interface BaseCommitterOptions {
  readonly waveLength: number;
  /** Shifts the waves: pipelined committer i has offset i, so every round is some committer's leader round. */
  readonly roundOffset: number;
}

export class BaseCommitter {
  /** supported.get(leader slot).get(block): the leader block `block` supports at that slot, or null. */
  private readonly supported = new Map<number, Map<VerifiedBlock, VerifiedBlock | null>>();
  /** certificates.get(leader block).get(block): whether `block` is a certificate for it. */
  private readonly certificates = new Map<VerifiedBlock, Map<VerifiedBlock, boolean>>();
  /** Direct decisions are final once reached (the DAG only grows); keyed by slot index. */
  private readonly directDecisions = new Map<number, DecidedLeader>();
  /**
   * Slots found undecided, with the number of blocks then held at the rounds
   * a direct decision reads (leader, voting, decision). Blocks are only ever
   * added, so an unchanged count means an unchanged answer.
   */
  private readonly undecided = new Map<number, { stamp: number; status: LeaderStatus }>();

  constructor(
    private readonly committee: Committee,
    private readonly dag: DagState,
    private readonly schedule: LeaderSchedule,
    readonly options: BaseCommitterOptions,
  ) {
    assert(options.waveLength >= WAVE_LENGTH_MIN, "wave length below 3");
    assert(options.roundOffset >= 0 && options.roundOffset < options.waveLength, "round offset out of range");
  }

  waveNumber(round: number): number {
    return Math.floor(Math.max(0, round - this.options.roundOffset) / this.options.waveLength);
  }

  leaderRound(wave: number): number {
    return wave * this.options.waveLength + this.options.roundOffset;
  }

  decisionRound(wave: number): number {
    return this.leaderRound(wave) + this.options.waveLength - 1;
  }

  /** The leader slot of `round`, or null when `round` is not a leader round of this committer. */
  electLeader(round: number): Slot | null {
    if (this.leaderRound(this.waveNumber(round)) !== round) return null;
    return { round, author: this.schedule.elect(round) };
  }

  tryDirectDecide(slot: Slot): LeaderStatus {
    const key = slotIndex(slot.round, slot.author);
    const cached = this.directDecisions.get(key);
    if (cached !== undefined) return cached;
    const decisionRound = this.decisionRound(this.waveNumber(slot.round));
    const stamp =
      this.dag.blocksAtRound(slot.round).length +
      this.dag.blocksAtRound(slot.round + 1).length +
      this.dag.blocksAtRound(decisionRound).length;
    const known = this.undecided.get(key);
    if (known !== undefined && known.stamp === stamp) return known.status;
    let status: LeaderStatus = { kind: "undecided", slot };
    if (this.enoughBlame(slot)) status = { kind: "skip", slot, direct: true };
    else {
      let committed: VerifiedBlock | undefined;
      for (const leader of this.dag.blocksAtSlot(slot.round, slot.author)) {
        if (!this.enoughSupport(leader, decisionRound)) continue;
        assert(committed === undefined, `two certified blocks at leader slot ${slot.round}/${slot.author}`);
        committed = leader;
      }
      if (committed !== undefined) status = { kind: "commit", slot, block: committed, direct: true };
    }
    if (status.kind !== "undecided") {
      this.directDecisions.set(key, status);
      this.undecided.delete(key);
    } else this.undecided.set(key, { stamp, status });
    return status;
  }

  /** `decided` holds decisions for higher rounds in ascending round order. */
  tryIndirectDecide(slot: Slot, decided: readonly LeaderStatus[]): LeaderStatus {
    for (const anchor of decided) {
      if (anchor.slot.round < slot.round + this.options.waveLength) continue;
      if (anchor.kind === "undecided") break;
      if (anchor.kind === "commit") return this.decideFromAnchor(anchor.block, slot);
    }
    return { kind: "undecided", slot };
  }

  /** Drops cached results for slots at or below `round` (they are decided). */
  prune(round: number): void {
    const limit = slotIndex(round + 1, 0);
    for (const key of this.supported.keys()) if (key < limit) this.supported.delete(key);
    for (const key of this.directDecisions.keys()) if (key < limit) this.directDecisions.delete(key);
    for (const key of this.undecided.keys()) if (key < limit) this.undecided.delete(key);
    for (const leader of this.certificates.keys())
      if (leader.round <= round) this.certificates.delete(leader);
  }

  private decideFromAnchor(anchor: VerifiedBlock, slot: Slot): LeaderStatus {
    const decisionRound = this.decisionRound(this.waveNumber(slot.round));
    const candidates = this.dag.ancestorsAtRound(anchor, decisionRound);
    let committed: VerifiedBlock | undefined;
    for (const leader of this.dag.blocksAtSlot(slot.round, slot.author)) {
      if (!candidates.some((candidate) => this.isCertificate(candidate, leader))) continue;
      assert(committed === undefined, `two certified blocks at leader slot ${slot.round}/${slot.author}`);
      committed = leader;
    }
    return committed !== undefined
      ? { kind: "commit", slot, block: committed, direct: false }
      : { kind: "skip", slot, direct: false };
  }

  /** 2f+1 stake of voting-round blocks hold no reference to the leader's slot. */
  private enoughBlame(slot: Slot): boolean {
    const blame = new StakeAggregator(this.committee);
    const target = slotIndex(slot.round, slot.author);
    for (const block of this.dag.blocksAtRound(slot.round + 1)) {
      if (!blame.has(block.author) && !block.references(target) && blame.add(block.author)) return true;
    }
    return false;
  }

  /** 2f+1 stake of decision-round blocks are certificates for `leader`. */
  private enoughSupport(leader: VerifiedBlock, decisionRound: number): boolean {
    const blocks = this.dag.blocksAtRound(decisionRound);
    const present = new StakeAggregator(this.committee);
    for (const block of blocks) present.add(block.author);
    if (!present.reached) return false;
    const support = new StakeAggregator(this.committee);
    for (const block of blocks) {
      if (support.has(block.author)) continue;
      if (this.isCertificate(block, leader) && support.add(block.author)) return true;
    }
    return false;
  }

  private isCertificate(block: VerifiedBlock, leader: VerifiedBlock): boolean {
    let cache = this.certificates.get(leader);
    if (cache === undefined) {
      cache = new Map();
      this.certificates.set(leader, cache);
    }
    const cached = cache.get(block);
    if (cached !== undefined) return cached;
    const votes = new StakeAggregator(this.committee);
    let certificate = false;
    for (const parent of block.parents) {
      if (parent === undefined || votes.has(parent.author)) continue;
      if (this.supportedAt(leader.round, leader.author, parent) === leader && votes.add(parent.author)) {
        certificate = true;
        break;
      }
    }
    cache.set(block, certificate);
    return certificate;
  }

  /** The block at slot (round, author) that `from` votes for: the first one met depth-first, or null. */
  private supportedAt(round: number, author: number, from: VerifiedBlock): VerifiedBlock | null {
    if (from.round <= round) return null;
    const key = slotIndex(round, author);
    let cache = this.supported.get(key);
    if (cache === undefined) {
      cache = new Map();
      this.supported.set(key, cache);
    }
    const cached = cache.get(from);
    if (cached !== undefined) return cached;
    let found: VerifiedBlock | null = null;
    for (const parent of from.parents) {
      if (parent === undefined) continue;
      if (parent.round === round && parent.author === author) {
        found = parent;
        break;
      }
      if (parent.round <= round) continue;
      found = this.supportedAt(round, author, parent);
      if (found !== null) break;
    }
    cache.set(from, found);
    return found;
  }
}
