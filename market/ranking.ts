import { minAmount } from "./amounts.ts";
import { MIB_PER_GIB } from "./constants.ts";
import { type DeviceKind, type ModelRef, matchesModel } from "./model-ref.ts";
import type { Offer } from "./offers.ts";

/**
 * Which providers may serve a request, and in what order the router tries
 * them. Pure: the latency of each peer comes in as a function.
 */

/** A provider the router may use: the registry's facts about it and its live offer. */
export interface ProviderCandidate {
  readonly address: Uint8Array;
  readonly peerId: string;
  readonly models: readonly ModelRef[];
  readonly device: DeviceKind;
  readonly vramMib: number;
  readonly pricePerToken: bigint;
  /** The provider's fresh offer, or null when none was heard (load and queue then count as zero). */
  readonly offer: Offer | null;
}

export type LatencyPreference = "low" | "any";

export interface CompletionConstraints {
  /** Least accelerator memory, in GiB; a cpu provider has none. */
  readonly minVramGb?: number;
  /** "low": the fastest provider first; "any": price and speed weigh equally. */
  readonly latency?: LatencyPreference;
  /** The most the client pays per token. */
  readonly maxPricePerToken?: bigint;
}

export interface RankedCandidate {
  readonly candidate: ProviderCandidate;
  /** The model it would run. */
  readonly model: ModelRef;
  /** Expected latency (round trip plus first token), scaled up by load and queue. */
  readonly effectiveLatencyMs: number;
  readonly score: number;
}

/** Why a candidate is not eligible, or null when it is. */
export function ineligibility(
  candidate: ProviderCandidate,
  model: string | undefined,
  constraints: CompletionConstraints,
): string | null {
  if (model !== undefined && !candidate.models.some((m) => matchesModel(m, model))) return "model";
  if (candidate.models.length === 0) return "model";
  const minVramGb = constraints.minVramGb ?? 0;
  // Declared memory counts whatever the device (a CPU provider may declare memory for routing).
  if (minVramGb > 0 && candidate.vramMib < minVramGb * MIB_PER_GIB) return "vram";
  if (constraints.maxPricePerToken !== undefined && candidate.pricePerToken > constraints.maxPricePerToken)
    return "price";
  return null;
}

/** Latency scaled by how busy the provider says it is: each queued request ahead adds a turn. */
export function effectiveLatencyMs(candidate: ProviderCandidate, latencyMs: number): number {
  const queue = candidate.offer?.queueLength ?? 0;
  const load = (candidate.offer?.loadPermille ?? 0) / 1000;
  return latencyMs * (1 + queue) * (1 + load);
}

/**
 * The eligible candidates, best first. With latency "low" the order is by
 * effective latency, then price; with "any", by the sum of price and
 * effective latency each relative to the best eligible one, so a provider
 * twice as dear must be twice as fast to tie. Ties break by peer id, so
 * the order is a function of the inputs alone.
 */
export function rankProviders(
  candidates: readonly ProviderCandidate[],
  request: { readonly model?: string; readonly constraints?: CompletionConstraints },
  latencyMs: (peerId: string) => number,
): RankedCandidate[] {
  const constraints = request.constraints ?? {};
  const eligible = candidates.filter((c) => ineligibility(c, request.model, constraints) === null);
  if (eligible.length === 0) return [];
  const effective = eligible.map((c) => effectiveLatencyMs(c, latencyMs(c.peerId)));
  const bestLatency = Math.max(Math.min(...effective), 1e-3);
  const bestPrice = eligible.reduce((min, c) => minAmount(min, c.pricePerToken), eligible[0]!.pricePerToken);
  const ranked = eligible.map((candidate, i): RankedCandidate => {
    const model =
      request.model === undefined
        ? candidate.models[0]!
        : candidate.models.find((m) => matchesModel(m, request.model!))!;
    const latency = effective[i]!;
    const priceRatio = Number(candidate.pricePerToken + 1n) / Number(bestPrice + 1n);
    const score = constraints.latency === "low" ? latency : priceRatio + latency / bestLatency;
    return { candidate, model, effectiveLatencyMs: latency, score };
  });
  return ranked.sort(
    (a, b) =>
      a.score - b.score ||
      (a.candidate.pricePerToken < b.candidate.pricePerToken
        ? -1
        : a.candidate.pricePerToken > b.candidate.pricePerToken
          ? 1
          : 0) ||
      (a.candidate.peerId < b.candidate.peerId ? -1 : a.candidate.peerId > b.candidate.peerId ? 1 : 0),
  );
}
