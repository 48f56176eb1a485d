/**
 * Who leads each round. The base schedule is either round-robin (leader of
 * round r is authority r mod n; for tests and vectors) or stake-weighted: a
 * deterministic pseudo-random draw per round in which each authority's
 * chance is proportional to its stake. A swap table (leader_scoring.ts)
 * then replaces the lowest-scoring authorities with the highest-scoring ones.
 */
import { assert } from "../spec/index.ts";
import type { Committee } from "./committee.ts";

export type LeaderScheduleKind = "round-robin" | "stake-weighted";

/** Replaces bad leaders with good ones; the identity when `bad` is empty. */
export class LeaderSwapTable {
  static readonly EMPTY = new LeaderSwapTable([], [], []);

  private readonly badSet: ReadonlySet<number>;

  constructor(
    /** Authorities that may lead in place of a bad one, best first. */
    readonly good: readonly number[],
    /** Authorities that never lead while this table holds. */
    readonly bad: readonly number[],
    /** The reputation scores the table was built from, per authority (empty for the initial table). */
    readonly scores: readonly number[],
  ) {
    assert(bad.length === 0 || good.length > 0, "a swap table with bad leaders needs good ones");
    this.badSet = new Set(bad);
  }

  swap(leader: number, round: number): number {
    if (!this.badSet.has(leader)) return leader;
    return this.good[round % this.good.length]!;
  }
}

/** A 32-bit integer mix (murmur3's finaliser): spreads consecutive rounds over the whole range. */
function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class LeaderSchedule {
  private readonly cumulativeStake: Float64Array;
  private table: LeaderSwapTable = LeaderSwapTable.EMPTY;

  constructor(
    private readonly committee: Committee,
    readonly kind: LeaderScheduleKind = "stake-weighted",
  ) {
    this.cumulativeStake = new Float64Array(committee.size);
    let sum = 0;
    for (let i = 0; i < committee.size; i++) {
      sum += committee.stake(i);
      this.cumulativeStake[i] = sum;
    }
  }

  get swapTable(): LeaderSwapTable {
    return this.table;
  }

  setSwapTable(table: LeaderSwapTable): void {
    this.table = table;
  }

  /** The base leader of a round, before any swap. */
  baseLeader(round: number): number {
    const n = this.committee.size;
    if (this.kind === "round-robin") return round % n;
    // 53 bits of pseudo-randomness from the round, reduced modulo the total stake.
    const high = mix32(round ^ 0x9e3779b9) >>> 11; // 21 bits
    const low = mix32(Math.floor(round / 0x100000000) ^ mix32(round)); // 32 bits
    const draw = (high * 0x100000000 + low) % this.committee.totalStake;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulativeStake[mid]! > draw) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  elect(round: number): number {
    return this.table.swap(this.baseLeader(round), round);
  }
}
