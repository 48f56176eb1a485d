import { LRUCache } from "lru-cache";
import { PEER_BAN_MS, PEER_SCORE_DISCONNECT_THRESHOLD, PEER_SCORE_ENTRIES_MAX } from "./constants.ts";

/** Points lost per offence. An invalid signature costs more than an oversize frame: it cost us a verify. */
export const Penalty = {
  Malformed: 20,
  Oversize: 25,
  InvalidSignature: 50,
  InvalidBlock: 50,
  Timeout: 2,
} as const;

export type Offence = keyof typeof Penalty;

interface Entry {
  score: number;
  bannedUntilMs: number;
}

/**
 * Application-level peer scores for the stream protocols (gossipsub keeps its
 * own). Pure bookkeeping with an injected clock: `penalise` returns true when
 * the peer crossed the disconnect threshold, and the host then hangs up and
 * refuses the peer until its ban expires. The score stays low after the ban,
 * so one more offence bans the peer again. Bounded to PEER_SCORE_ENTRIES_MAX
 * entries; the least recently touched is evicted.
 */
export class PeerScoreBook {
  private readonly entries = new LRUCache<string, Entry>({ max: PEER_SCORE_ENTRIES_MAX });

  constructor(private readonly nowMs: () => number = Date.now) {}

  score(peer: string): number {
    return this.entries.peek(peer)?.score ?? 0;
  }

  peers(): string[] {
    return [...this.entries.keys()];
  }

  isBanned(peer: string): boolean {
    const entry = this.entries.peek(peer);
    return entry !== undefined && entry.bannedUntilMs > this.nowMs();
  }

  penalise(peer: string, offence: Offence): boolean {
    const entry = this.touch(peer);
    entry.score -= Penalty[offence];
    if (entry.score <= PEER_SCORE_DISCONNECT_THRESHOLD) {
      entry.bannedUntilMs = this.nowMs() + PEER_BAN_MS;
      return true;
    }
    return false;
  }

  /** Good behaviour slowly restores a score, capped at zero. */
  reward(peer: string, points = 1): void {
    const entry = this.touch(peer);
    entry.score = Math.min(0, entry.score + points);
  }

  private touch(peer: string): Entry {
    let entry = this.entries.get(peer);
    if (entry === undefined) {
      entry = { score: 0, bannedUntilMs: 0 };
      this.entries.set(peer, entry);
    }
    return entry;
  }
}
