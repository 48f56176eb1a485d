import { type DomainTag, hash } from "../spec/index.ts";

/**
 * Domain tags of the market's digests and signatures. They follow spec's
 * scheme ("hyperspace/v1/<what>") and share no prefix with spec's tags or
 * with each other, so a digest or signature of one kind never verifies as
 * another. spec's `hash` takes its own tag union; these are the same kind of
 * value, so they are passed through it as such.
 */
export const MarketDomain = {
  PodId: "hyperspace/v1/market/pod-id",
  PeerBinding: "hyperspace/v1/market/peer-binding",
  Invite: "hyperspace/v1/market/invite",
  Offer: "hyperspace/v1/market/offer",
  ApiKey: "hyperspace/v1/market/api-key",
} as const;

export type MarketDomainTag = (typeof MarketDomain)[keyof typeof MarketDomain];

/** Domain-separated sha256 with a market tag (same construction as spec's `hash`). */
export function marketHash(domain: MarketDomainTag, ...parts: Uint8Array[]): Uint8Array {
  return hash(domain as unknown as DomainTag, ...parts);
}
