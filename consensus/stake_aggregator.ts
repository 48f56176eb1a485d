/**
 * Sums stake over distinct authorities. An authority counts once however many
 * blocks it contributes, so an equivocator's stake is never counted twice.
 */
import type { Committee } from "./committee.ts";

export class StakeAggregator {
  private readonly seen: Uint8Array;
  private total = 0;

  constructor(
    private readonly committee: Committee,
    private readonly threshold: number = committee.quorumThreshold,
  ) {
    this.seen = new Uint8Array(committee.size);
  }

  /** Adds the authority's stake once; returns whether the threshold is now reached. */
  add(author: number): boolean {
    if (this.seen[author] === 0) {
      this.seen[author] = 1;
      this.total += this.committee.stake(author);
    }
    return this.total >= this.threshold;
  }

  has(author: number): boolean {
    return this.seen[author] === 1;
  }

  get stake(): number {
    return this.total;
  }

  get reached(): boolean {
    return this.total >= this.threshold;
  }

  clear(): void {
    this.seen.fill(0);
    this.total = 0;
  }
}
