import { LRUCache } from "lru-cache";
import { PEER_ID_BYTES_MAX } from "../ledger/index.ts";
import { GOSSIP_BYTES_MAX, type Topic, ValidationError } from "../net/index.ts";
import {
  ADDRESS_BYTES,
  addressFromPublicKey,
  bytesEqual,
  type Codec,
  CodecError,
  Domain,
  decodeWith,
  type Encodable,
  encode,
  encodeWith,
  FieldReader,
  hash,
  type KeyPair,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  sign,
  toHex,
  verify,
} from "../spec/index.ts";
import {
  LOAD_PERMILLE_MAX,
  OFFER_CLOCK_SKEW_MS,
  OFFER_QUEUE_MAX,
  OFFER_TTL_MS,
  OFFERS_MAX,
} from "./constants.ts";
import { isActiveProvider, type MarketState } from "./state.ts";

/**
 * Live offers: each provider gossips, every OFFER_INTERVAL_MS, its current
 * load, queue length and price, signed with its account key. The registry
 * on chain says who may offer (and holds the static facts: models, device,
 * VRAM); the offer says how busy it is right now. Receivers keep the newest
 * offer per provider and treat one older than OFFER_TTL_MS as gone.
 */
export interface OfferBody {
  readonly provider: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly peerId: string;
  readonly loadPermille: number;
  readonly queueLength: number;
  readonly activeRequests: number;
  readonly pricePerToken: bigint;
  readonly timestampMs: number;
  /** Increases with every offer of this provider; a lower or equal one is a replay. */
  readonly sequence: number;
}

export interface Offer extends OfferBody {
  readonly signature: Uint8Array;
}

function bodyValue(o: OfferBody): Encodable[] {
  return [
    o.provider,
    o.publicKey,
    o.peerId,
    o.loadPermille,
    o.queueLength,
    o.activeRequests,
    o.pricePerToken,
    o.timestampMs,
    o.sequence,
  ];
}

export function offerDigest(body: OfferBody): Uint8Array {
  return hash(Domain.MarketOffer, encode(bodyValue(body)));
}

export function signOffer(body: OfferBody, keys: KeyPair): Offer {
  return { ...body, signature: sign(offerDigest(body), keys.secretKey) };
}

export const OfferCodec: Codec<Offer> = {
  type: "Offer",
  maxBytes: 512,
  toValue: (o) => [...bodyValue(o), o.signature],
  fromValue(value, type = "Offer") {
    const reader = FieldReader.of(type, value, 10);
    return {
      provider: reader.bytes("provider", { exact: ADDRESS_BYTES }),
      publicKey: reader.bytes("publicKey", { exact: PUBLIC_KEY_BYTES }),
      peerId: reader.string("peerId", PEER_ID_BYTES_MAX),
      loadPermille: reader.integer("loadPermille", LOAD_PERMILLE_MAX),
      queueLength: reader.integer("queueLength", OFFER_QUEUE_MAX),
      activeRequests: reader.integer("activeRequests", OFFER_QUEUE_MAX),
      pricePerToken: reader.amount("pricePerToken"),
      timestampMs: reader.integer("timestampMs"),
      sequence: reader.integer("sequence"),
      signature: reader.bytes("signature", { exact: SIGNATURE_BYTES }),
    };
  },
};

export const encodeOffer = (offer: Offer): Uint8Array => encodeWith(OfferCodec, offer);

/**
 * Strict decoding plus the checks that need nothing but the offer: the
 * address is the key's, and the key signed it. A failure is a CodecError,
 * which gossip validation turns into REJECT (the sender is penalised).
 */
export function decodeOffer(bytes: Uint8Array): Offer {
  const offer = decodeWith(OfferCodec, bytes);
  if (!bytesEqual(addressFromPublicKey(offer.publicKey), offer.provider)) {
    throw new CodecError("OUT_OF_RANGE", "Offer.provider: not the address of its key", { type: "Offer" });
  }
  if (!verify(offer.signature, offerDigest(offer), offer.publicKey)) {
    throw new CodecError("OUT_OF_RANGE", "Offer.signature: bad signature", { type: "Offer" });
  }
  return offer;
}

/** The gossip topic of live offers: /hyperspace/<chainId>/market/offer/1. */
export const OfferTopic: Topic<Offer> = {
  name: "market/offer",
  version: 1,
  maxBytes: Math.min(OfferCodec.maxBytes, GOSSIP_BYTES_MAX),
  encode: encodeOffer,
  decode: decodeOffer,
};

/** The newest offer of every provider this node heard from, bounded. */
export class OfferBook {
  /** Drop policy: past OFFERS_MAX, the offer heard from longest ago goes (reads use `peek`, so only writes count). */
  private readonly offers = new LRUCache<string, Offer>({ max: OFFERS_MAX });

  constructor(
    private readonly state: MarketState,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Takes a decoded (signature-checked) offer from gossip. Throws
   * ValidationError IGNORE for a stale, future-dated or replayed offer, or one
   * from a provider that is not active on chain, and REJECT for an offer
   * whose key or peer id is not the registered one.
   */
  receive(offer: Offer): void {
    const now = this.clock();
    if (offer.timestampMs + OFFER_TTL_MS < now) throw new ValidationError("IGNORE", "stale offer");
    if (offer.timestampMs > now + OFFER_CLOCK_SKEW_MS)
      throw new ValidationError("IGNORE", "offer from the future");
    const registered = this.state.provider(offer.provider);
    if (registered === null || !isActiveProvider(registered)) {
      throw new ValidationError("IGNORE", "not an active provider");
    }
    if (!bytesEqual(registered.publicKey, offer.publicKey) || registered.peerId !== offer.peerId) {
      throw new ValidationError("REJECT", "offer does not match the registry");
    }
    const key = toHex(offer.provider);
    const previous = this.offers.peek(key);
    if (previous !== undefined && offer.sequence <= previous.sequence) {
      throw new ValidationError("IGNORE", "replayed offer");
    }
    this.offers.set(key, offer);
  }

  /** The provider's live offer, or null when none is fresh. */
  get(provider: Uint8Array): Offer | null {
    const offer = this.offers.peek(toHex(provider));
    if (offer === undefined) return null;
    return offer.timestampMs + OFFER_TTL_MS < this.clock() ? null : offer;
  }

  /** Every fresh offer. */
  fresh(): Offer[] {
    const now = this.clock();
    return [...this.offers.values()].filter((o) => o.timestampMs + OFFER_TTL_MS >= now);
  }

  get size(): number {
    return this.offers.size;
  }
}
