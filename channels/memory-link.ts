import { assert } from "../spec/index.ts";
import type { ChannelMessageHandler, ChannelTransport } from "./transport.ts";

/**
 * An in-memory network of channel transports for unit tests and the
 * simulator (never for a node): messages between named peers are lost,
 * duplicated and reordered as a seeded generator decides, and delivered
 * only when the test calls `step`, so a run replays exactly from its seed.
 */

/** A small seeded generator (mulberry32): deterministic and good enough for test schedules. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MemoryLinkOptions {
  readonly seed: number;
  /** Probability that a message is lost. */
  readonly lossRate?: number;
  /** Probability that a delivered message is delivered twice. */
  readonly duplicateRate?: number;
  /** Each message waits 0..maxDelaySteps steps (reordering when > 0). */
  readonly maxDelaySteps?: number;
}

/** Messages in flight: far above any test's traffic; beyond it new messages are dropped (counted). */
const IN_FLIGHT_MAX = 100_000;

interface InFlight {
  readonly from: string;
  readonly to: string;
  readonly bytes: Uint8Array;
  readonly dueStep: number;
}

export class MemoryLink {
  private readonly random: () => number;
  private readonly handlers = new Map<string, ChannelMessageHandler>();
  private queue: InFlight[] = [];
  private stepIndex = 0;
  sent = 0;
  lost = 0;
  delivered = 0;

  constructor(readonly options: MemoryLinkOptions) {
    this.random = seededRandom(options.seed);
  }

  /** The transport of peer `name`. */
  transport(name: string): ChannelTransport {
    return {
      send: (peer, bytes) => this.enqueue(name, peer, bytes),
      onMessage: (handler) => {
        assert(!this.handlers.has(name), `peer ${name} already has a handler`);
        this.handlers.set(name, handler);
        return () => this.handlers.delete(name);
      },
    };
  }

  private enqueue(from: string, to: string, bytes: Uint8Array): void {
    this.sent++;
    if (this.random() < (this.options.lossRate ?? 0) || this.queue.length >= IN_FLIGHT_MAX) {
      this.lost++;
      return;
    }
    const copies = this.random() < (this.options.duplicateRate ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = Math.floor(this.random() * ((this.options.maxDelaySteps ?? 0) + 1));
      this.queue.push({ from, to, bytes: new Uint8Array(bytes), dueStep: this.stepIndex + delay });
    }
  }

  get inFlight(): number {
    return this.queue.length;
  }

  /** Advances one step and delivers every message due, in a shuffled order; returns how many. */
  async step(): Promise<number> {
    const due = this.queue.filter((m) => m.dueStep <= this.stepIndex);
    this.queue = this.queue.filter((m) => m.dueStep > this.stepIndex);
    this.stepIndex++;
    for (let i = due.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [due[i], due[j]] = [due[j]!, due[i]!];
    }
    for (const message of due) {
      const handler = this.handlers.get(message.to);
      if (handler === undefined) {
        this.lost++;
        continue;
      }
      this.delivered++;
      await handler(message.from, message.bytes);
    }
    return due.length;
  }
}
