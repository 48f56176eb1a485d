/**
 * Picking the next token from logits: greedy at temperature 0, otherwise a
 * draw from softmax(logits / temperature) restricted to the top-k logits.
 * Every random choice comes from the caller's seeded Prng, and ties break
 * towards the lower token id, so a seed fixes the choice.
 */
import { assert } from "../spec/index.ts";
import type { Prng } from "./prng.ts";

export interface SamplingSettings {
  /** 0 is greedy (argmax). */
  readonly temperature: number;
  /** Keep only the k most likely tokens; 0 keeps all. */
  readonly topK: number;
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Token ids ordered by logit, highest first, lower id first among equals; the first `k` of them. */
export function topKIds(logits: Float32Array, k: number): number[] {
  const ids = Array.from({ length: logits.length }, (_, i) => i);
  ids.sort((a, b) => logits[b]! - logits[a]! || a - b);
  return ids.slice(0, k);
}

export function sampleToken(logits: Float32Array, settings: SamplingSettings, prng: Prng): number {
  for (const value of logits) assert(!Number.isNaN(value), "model produced a NaN logit");
  if (settings.temperature === 0) return argmax(logits);
  const candidates =
    settings.topK > 0 && settings.topK < logits.length
      ? topKIds(logits, settings.topK)
      : Array.from({ length: logits.length }, (_, i) => i);
  let max = Number.NEGATIVE_INFINITY;
  for (const id of candidates) max = Math.max(max, logits[id]!);
  const weights = candidates.map((id) => Math.exp((logits[id]! - max) / settings.temperature));
  let total = 0;
  for (const weight of weights) total += weight;
  let threshold = prng.nextFloat() * total;
  for (let i = 0; i < candidates.length; i++) {
    threshold -= weights[i]!;
    if (threshold < 0) return candidates[i]!;
  }
  return candidates[candidates.length - 1]!;
}
