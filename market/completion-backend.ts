import { toHex } from "../spec/index.ts";
import { maxAmount } from "./amounts.ts";
import type { Pod } from "./pod.ts";
import type { CompletionRequest, CompletionResult, InferenceRouter } from "./router.ts";

/**
 * What the node's OpenAI-compatible endpoints need from a pod: the models
 * its providers serve (with the dearest price, which bounds what a request
 * may cost) and a way to run a completion. `podBackend` builds it from a
 * Pod and its InferenceRouter.
 */
export interface BackendModel {
  readonly name: string;
  readonly hash: string;
  /** The highest price per token among the pod's providers of this model. */
  readonly maxPricePerToken: bigint;
  readonly providers: number;
  readonly online: number;
}

export interface CompletionBackend {
  models(): BackendModel[];
  complete(request: CompletionRequest): Promise<CompletionResult>;
}

export function podBackend(pod: Pod, router: InferenceRouter): CompletionBackend {
  return {
    models() {
      const byHash = new Map<string, BackendModel>();
      for (const candidate of pod.candidates()) {
        for (const model of candidate.models) {
          const hash = toHex(model.hash);
          const previous = byHash.get(hash);
          byHash.set(hash, {
            name: model.name,
            hash,
            maxPricePerToken: maxAmount(previous?.maxPricePerToken ?? 0n, candidate.pricePerToken),
            providers: (previous?.providers ?? 0) + 1,
            online: (previous?.online ?? 0) + (candidate.offer !== null ? 1 : 0),
          });
        }
      }
      return [...byHash.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    complete: (request) => router.complete(request),
  };
}
