import { LRUCache } from "lru-cache";
import {
  FAILURE_PENALTY_MS,
  LATENCY_EWMA_ALPHA,
  LATENCY_PROFILES_MAX,
  UNMEASURED_LATENCY_MS,
} from "./constants.ts";

/**
 * Each peer's latency profile: exponentially weighted moving averages of
 * the round trip (stream open to the provider's answer) and of the time to
 * first token, from every request this node sent it. A failed stream
 * counts as a FAILURE_PENALTY_MS round trip, so a flaky peer sinks in the
 * ranking and recovers as it serves well again.
 */
export interface LatencyProfile {
  readonly roundTripMs: number;
  readonly timeToFirstTokenMs: number;
  readonly samples: number;
  readonly failures: number;
  readonly updatedAtMs: number;
}

function ewma(previous: number | null, sample: number): number {
  return previous === null ? sample : previous + LATENCY_EWMA_ALPHA * (sample - previous);
}

export class LatencyBook {
  /** Drop policy: evict the least recently updated profile (reads use `peek`, so only updates count). */
  private readonly profiles = new LRUCache<string, LatencyProfile>({ max: LATENCY_PROFILES_MAX });

  constructor(private readonly clock: () => number = Date.now) {}

  get(peerId: string): LatencyProfile | null {
    return this.profiles.peek(peerId) ?? null;
  }

  /** Records one served request's measurements (milliseconds; non-negative). */
  record(peerId: string, roundTripMs: number, timeToFirstTokenMs: number): void {
    const previous = this.get(peerId);
    this.profiles.set(peerId, {
      roundTripMs: ewma(previous?.roundTripMs ?? null, Math.max(0, roundTripMs)),
      timeToFirstTokenMs: ewma(previous?.timeToFirstTokenMs ?? null, Math.max(0, timeToFirstTokenMs)),
      samples: (previous?.samples ?? 0) + 1,
      failures: previous?.failures ?? 0,
      updatedAtMs: this.clock(),
    });
  }

  /** Records a failed stream: a penalty sample in both averages. */
  recordFailure(peerId: string): void {
    const previous = this.get(peerId);
    this.profiles.set(peerId, {
      roundTripMs: ewma(previous?.roundTripMs ?? null, FAILURE_PENALTY_MS),
      timeToFirstTokenMs: ewma(previous?.timeToFirstTokenMs ?? null, FAILURE_PENALTY_MS),
      samples: (previous?.samples ?? 0) + 1,
      failures: (previous?.failures ?? 0) + 1,
      updatedAtMs: this.clock(),
    });
  }

  /** The latency the router expects from `peerId`: round trip plus time to first token. */
  expectedMs(peerId: string): number {
    const profile = this.get(peerId);
    return profile === null ? UNMEASURED_LATENCY_MS : profile.roundTripMs + profile.timeToFirstTokenMs;
  }

  get size(): number {
    return this.profiles.size;
  }
}
