/** The real clock and timers, for a node; tests and the simulator inject their own. */
import type { Clock, Timers } from "./interface.ts";

export const systemClock: Clock = { nowMs: () => Date.now() };

export const systemTimers: Timers = {
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  },
};
