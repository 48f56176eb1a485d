/**
 * One-way message delays of the virtual network, per link.
 * - constant: every message takes exactly δ (the setting of Mysticeti's
 *   3δ bound);
 * - jitter: δ scaled by a uniform factor in [1 - j, 1 + j];
 * - matrix: each validator sits in a region and a message takes half the
 *   measured round-trip time between the two regions, with jitter.
 */
import type { Rng } from "./rng.ts";

export interface LatencyModel {
  /** The mean one-way delay, the δ in which latencies are reported. */
  readonly meanOneWayMs: number;
  sample(from: number, to: number, rng: Rng): number;
}

export function constantLatency(deltaMs: number): LatencyModel {
  return { meanOneWayMs: deltaMs, sample: () => deltaMs };
}

export function jitterLatency(deltaMs: number, jitter: number): LatencyModel {
  return {
    meanOneWayMs: deltaMs,
    sample: (_from, _to, rng) => deltaMs * (1 + jitter * (2 * rng.float() - 1)),
  };
}

/** `roundTripMs[a][b]`: measured RTT between regions a and b; `regionOf[v]`: validator v's region. */
export function matrixLatency(
  roundTripMs: readonly (readonly number[])[],
  regionOf: readonly number[],
  jitter: number,
  sameRegionRoundTripMs: number,
): LatencyModel {
  const oneWay = (a: number, b: number) => (a === b ? sameRegionRoundTripMs : roundTripMs[a]![b]!) / 2;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < regionOf.length; i++) {
    for (let j = 0; j < regionOf.length; j++) {
      if (i === j) continue;
      sum += oneWay(regionOf[i]!, regionOf[j]!);
      count++;
    }
  }
  return {
    meanOneWayMs: count === 0 ? 0 : sum / count,
    sample: (from, to, rng) => oneWay(regionOf[from]!, regionOf[to]!) * (1 + jitter * (2 * rng.float() - 1)),
  };
}
