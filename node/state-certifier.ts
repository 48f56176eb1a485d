import type { Committee } from "../consensus/index.ts";
import {
  bytesEqual,
  type Codec,
  DIGEST_BYTES,
  Domain,
  decodeWith,
  encode,
  encodeWith,
  FieldReader,
  HyperspaceError,
  hash,
  SIGNATURE_BYTES,
  sign,
  toHex,
  verify,
} from "../spec/index.ts";

/**
 * Certified state roots. After executing commit i, each validator signs
 * (chain id, i, state root) and gossips the vote. A root that gathers votes
 * worth a quorum of stake (2f+1) is certified for i. A node whose own root
 * for i differs from the certified one has diverged: it halts loudly
 * instead of serving a wrong state.
 */
export interface StateRootVote {
  readonly index: number;
  readonly stateRoot: Uint8Array;
  readonly authority: number;
  readonly signature: Uint8Array;
}

export const StateRootVoteCodec: Codec<StateRootVote> = {
  type: "StateRootVote",
  maxBytes: 160,
  toValue: (v) => [v.index, v.stateRoot, v.authority, v.signature],
  fromValue(value, type = "StateRootVote") {
    const reader = FieldReader.of(type, value, 4);
    return {
      index: reader.integer("index"),
      stateRoot: reader.bytes("stateRoot", { exact: DIGEST_BYTES }),
      authority: reader.integer("authority", 1023),
      signature: reader.bytes("signature", { exact: SIGNATURE_BYTES }),
    };
  },
};

export const encodeStateRootVote = (v: StateRootVote) => encodeWith(StateRootVoteCodec, v);
export const decodeStateRootVote = (b: Uint8Array) => decodeWith(StateRootVoteCodec, b);

export function stateRootVoteDigest(chainId: string, index: number, stateRoot: Uint8Array): Uint8Array {
  return hash(Domain.StateRootVote, encode([chainId, index, stateRoot]));
}

export function signStateRootVote(
  chainId: string,
  index: number,
  stateRoot: Uint8Array,
  authority: number,
  secretKey: Uint8Array,
): StateRootVote {
  return {
    index,
    stateRoot,
    authority,
    signature: sign(stateRootVoteDigest(chainId, index, stateRoot), secretKey),
  };
}

export type CertifierErrorCode = "BAD_AUTHORITY" | "BAD_SIGNATURE" | "OUT_OF_WINDOW" | "DIVERGED";

export class CertifierError extends HyperspaceError<CertifierErrorCode, { index: number }> {}

/**
 * Votes are kept for this many commits behind the newest certified one and
 * accepted at most this far ahead of our own execution: the window bounds
 * memory whatever indices a faulty validator signs.
 */
export const VOTE_WINDOW_COMMITS = 1_000;

export interface Certified {
  readonly index: number;
  readonly stateRoot: Uint8Array;
}

export class StateCertifier {
  /** index → root hex → (authorities that voted, their stake) */
  private readonly votes = new Map<
    number,
    Map<string, { voters: Set<number>; stake: number; root: Uint8Array }>
  >();
  private readonly own = new Map<number, Uint8Array>();
  private lastCertified: Certified | null = null;
  private highestOwn = 0;

  constructor(
    private readonly chainId: string,
    private readonly committee: Committee,
  ) {}

  get latest(): Certified | null {
    return this.lastCertified;
  }

  /** Records our own root for `index`; throws DIVERGED if a different root is already certified there. */
  recordOwn(index: number, stateRoot: Uint8Array): void {
    this.own.set(index, stateRoot);
    this.highestOwn = Math.max(this.highestOwn, index);
    const certified = this.certifiedAt(index);
    if (certified !== null && !bytesEqual(certified, stateRoot)) this.diverged(index, certified, stateRoot);
    this.prune();
  }

  /** Adds a vote; returns the newly certified root, if this vote completed a quorum. Throws CertifierError for a bad vote. */
  addVote(vote: StateRootVote): Certified | null {
    const authority = this.committee.authorities[vote.authority];
    if (authority === undefined)
      throw new CertifierError("BAD_AUTHORITY", `no authority ${vote.authority}`, { index: vote.index });
    const floor = (this.lastCertified?.index ?? 0) - VOTE_WINDOW_COMMITS;
    if (vote.index <= floor || vote.index > this.highestOwn + VOTE_WINDOW_COMMITS) {
      throw new CertifierError("OUT_OF_WINDOW", `vote for ${vote.index} is outside the window`, {
        index: vote.index,
      });
    }
    if (
      !verify(
        vote.signature,
        stateRootVoteDigest(this.chainId, vote.index, vote.stateRoot),
        authority.publicKey,
      )
    ) {
      throw new CertifierError("BAD_SIGNATURE", "state root vote signature does not verify", {
        index: vote.index,
      });
    }
    let byRoot = this.votes.get(vote.index);
    if (byRoot === undefined) {
      byRoot = new Map();
      this.votes.set(vote.index, byRoot);
    }
    // Each authority counts once per index, whatever it signed.
    for (const entry of byRoot.values()) if (entry.voters.has(vote.authority)) return null;
    const key = toHex(vote.stateRoot);
    let entry = byRoot.get(key);
    if (entry === undefined) {
      entry = { voters: new Set(), stake: 0, root: vote.stateRoot };
      byRoot.set(key, entry);
    }
    const before = entry.stake;
    entry.voters.add(vote.authority);
    entry.stake += authority.stake;
    if (before >= this.committee.quorumThreshold || entry.stake < this.committee.quorumThreshold) return null;
    const certified = { index: vote.index, stateRoot: vote.stateRoot };
    if (this.lastCertified === null || certified.index > this.lastCertified.index)
      this.lastCertified = certified;
    const own = this.own.get(vote.index);
    if (own !== undefined && !bytesEqual(own, vote.stateRoot)) this.diverged(vote.index, vote.stateRoot, own);
    this.prune();
    return certified;
  }

  certifiedAt(index: number): Uint8Array | null {
    const byRoot = this.votes.get(index);
    if (byRoot === undefined) return null;
    for (const entry of byRoot.values()) if (entry.stake >= this.committee.quorumThreshold) return entry.root;
    return null;
  }

  private diverged(index: number, certified: Uint8Array, own: Uint8Array): never {
    throw new CertifierError(
      "DIVERGED",
      `state root for commit ${index} is ${toHex(own)} but ${toHex(certified)} is certified`,
      { index },
    );
  }

  private prune(): void {
    const floor = (this.lastCertified?.index ?? 0) - VOTE_WINDOW_COMMITS;
    for (const index of this.votes.keys()) if (index <= floor) this.votes.delete(index);
    for (const index of this.own.keys()) if (index <= floor) this.own.delete(index);
  }
}
