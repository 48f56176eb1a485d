/**
 * The threshold clock: the round an authority may propose in. Round r + 1
 * begins once blocks from 2f+1 stake at round r are in the DAG. A block from
 * a higher round moves the clock to that round at once, since accepting it
 * means its quorum of parents is in the DAG too.
 */
import type { Committee } from "./committee.ts";
import { StakeAggregator } from "./stake_aggregator.ts";

export class ThresholdClock {
  private current = 0;
  private readonly aggregator: StakeAggregator;

  constructor(committee: Committee) {
    this.aggregator = new StakeAggregator(committee);
  }

  /** The round in which the next block may be proposed. */
  get round(): number {
    return this.current;
  }

  /** Adds an accepted block; returns whether the clock advanced. */
  add(round: number, author: number): boolean {
    if (round < this.current) return false;
    if (round > this.current) {
      this.aggregator.clear();
      this.current = round;
      if (this.aggregator.add(author)) this.current = round + 1;
      return true;
    }
    if (!this.aggregator.add(author)) return false;
    this.aggregator.clear();
    this.current = round + 1;
    return true;
  }
}
