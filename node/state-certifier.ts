import type { Committee } from "../consensus/index.ts";
import {
  bytesEqual,
  COMMITTEE_SIZE_MAX,
  type Codec,
  DIGEST_BYTES,
  decodeWith,
  encodeWith,
  FieldReader,
  HyperspaceError,
  SIGNATURE_BYTES,
  toHex,
  verify,
} from "../spec/index.ts";
import {
  type AuthoritySignature,
  type CheckpointCertificate,
  isCheckpoint,
  stateRootVoteDigest,
} from "./state-sync-certificate.ts";

/**
 * Certified state roots. After executing commit i, each validator signs
 * (chain id, i, commit digest, state root) and gossips the vote. A
 * (commit, root) pair that gathers votes worth a quorum of stake (2f+1) is
 * certified for i. A node whose own commit or root for i differs from the
 * certified one has diverged: it halts loudly instead of serving a wrong
 * state. At checkpoint indices the certifier keeps the signatures too and
 * hands out the quorum as a checkpoint certificate.
 */
export interface StateRootVote {
  readonly index: number;
  readonly commitDigest: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly authority: number;
  readonly signature: Uint8Array;
}

export const StateRootVoteCodec: Codec<StateRootVote> = {
  type: "StateRootVote",
  // 1 + 9 (index) + 2 x 34 (digests) + 3 (authority) + 66 (signature) = 147 bytes at most.
  maxBytes: 160,
  toValue: (v) => [v.index, v.commitDigest, v.stateRoot, v.authority, v.signature],
  fromValue(value, type = "StateRootVote") {
    const reader = FieldReader.of(type, value, 5);
    return {
      index: reader.integer("index"),
      commitDigest: reader.bytes("commitDigest", { exact: DIGEST_BYTES }),
      stateRoot: reader.bytes("stateRoot", { exact: DIGEST_BYTES }),
      authority: reader.integer("authority", COMMITTEE_SIZE_MAX - 1),
      signature: reader.bytes("signature", { exact: SIGNATURE_BYTES }),
    };
  },
};

export const encodeStateRootVote = (v: StateRootVote) => encodeWith(StateRootVoteCodec, v);
export const decodeStateRootVote = (b: Uint8Array) => decodeWith(StateRootVoteCodec, b);

export function signStateRootVote(
  chainId: string,
  index: number,
  commitDigest: Uint8Array,
  stateRoot: Uint8Array,
  authority: number,
  signer: (digest: Uint8Array) => Uint8Array,
): StateRootVote {
  return {
    index,
    commitDigest,
    stateRoot,
    authority,
    signature: signer(stateRootVoteDigest(chainId, index, commitDigest, stateRoot)),
  };
}

export type CertifierErrorCode = "BAD_AUTHORITY" | "BAD_SIGNATURE" | "OUT_OF_WINDOW" | "DIVERGED";

export class CertifierError extends HyperspaceError<CertifierErrorCode, { index: number }> {}

/**
 * Validators vote on every tenth commit's state root. Every vote is a
 * signature, a gossip message to every peer and a verification at each of
 * them, which on a loopback devnet was about a quarter of a node's work per
 * consensus round; one vote in ten still finds a diverged node within ten
 * commits. Checkpoints (CHECKPOINT_INTERVAL_COMMITS) fall on voted commits.
 */
export const STATE_ROOT_VOTE_INTERVAL_COMMITS = 10;

export function isVotedCommit(index: number): boolean {
  return index > 0 && index % STATE_ROOT_VOTE_INTERVAL_COMMITS === 0;
}

/**
 * Votes are kept for this many commits behind the newest certified one and
 * accepted at most this far ahead of our own execution: the window bounds
 * memory whatever indices a faulty validator signs.
 */
export const VOTE_WINDOW_COMMITS = 1_000;

export interface Certified {
  readonly index: number;
  readonly commitDigest: Uint8Array;
  readonly stateRoot: Uint8Array;
  /** The quorum's signatures, at checkpoint indices only. */
  readonly certificate: CheckpointCertificate | null;
}

interface Tally {
  readonly commitDigest: Uint8Array;
  readonly root: Uint8Array;
  readonly voters: Set<number>;
  stake: number;
  /** Kept at checkpoint indices only, to build the certificate. */
  readonly signatures: AuthoritySignature[];
}

/** The key of a (commit digest, state root) pair among one index's tallies. */
const tallyKey = (commitDigest: Uint8Array, root: Uint8Array) => `${toHex(commitDigest)}:${toHex(root)}`;

export class StateCertifier {
  /** index → (commit digest, root) → tally of the authorities that voted for it */
  private readonly votes = new Map<number, Map<string, Tally>>();
  private readonly own = new Map<number, { commitDigest: Uint8Array; stateRoot: Uint8Array }>();
  private lastCertified: Certified | null = null;
  private highestOwn = 0;

  constructor(
    private readonly chainId: string,
    private readonly committee: Committee,
  ) {}

  get latest(): Certified | null {
    return this.lastCertified;
  }

  /** Records our own commit and root for `index`; throws DIVERGED if another pair is already certified there. */
  recordOwn(index: number, commitDigest: Uint8Array, stateRoot: Uint8Array): void {
    const own = { commitDigest, stateRoot };
    this.own.set(index, own);
    this.highestOwn = Math.max(this.highestOwn, index);
    const certified = this.certifiedTally(index);
    if (certified !== null) this.checkAgainst(index, certified, own);
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
        stateRootVoteDigest(this.chainId, vote.index, vote.commitDigest, vote.stateRoot),
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
    const key = tallyKey(vote.commitDigest, vote.stateRoot);
    let entry = byRoot.get(key);
    if (entry === undefined) {
      entry = {
        commitDigest: vote.commitDigest,
        root: vote.stateRoot,
        voters: new Set(),
        stake: 0,
        signatures: [],
      };
      byRoot.set(key, entry);
    }
    const before = entry.stake;
    entry.voters.add(vote.authority);
    entry.stake += authority.stake;
    if (isCheckpoint(vote.index))
      entry.signatures.push({ authority: vote.authority, signature: vote.signature });
    if (before >= this.committee.quorumThreshold || entry.stake < this.committee.quorumThreshold) return null;
    const certified: Certified = {
      index: vote.index,
      commitDigest: vote.commitDigest,
      stateRoot: vote.stateRoot,
      certificate: isCheckpoint(vote.index)
        ? {
            chainId: this.chainId,
            index: vote.index,
            commitDigest: vote.commitDigest,
            stateRoot: vote.stateRoot,
            signatures: [...entry.signatures].sort((a, b) => a.authority - b.authority),
          }
        : null,
    };
    if (this.lastCertified === null || certified.index > this.lastCertified.index)
      this.lastCertified = certified;
    const own = this.own.get(vote.index);
    if (own !== undefined) this.checkAgainst(vote.index, entry, own);
    this.prune();
    return certified;
  }

  /** The certified state root at `index`, if a quorum agreed on one. */
  certifiedAt(index: number): Uint8Array | null {
    return this.certifiedTally(index)?.root ?? null;
  }

  private certifiedTally(index: number): Tally | null {
    const byRoot = this.votes.get(index);
    if (byRoot === undefined) return null;
    for (const entry of byRoot.values()) if (entry.stake >= this.committee.quorumThreshold) return entry;
    return null;
  }

  private checkAgainst(
    index: number,
    certified: Tally,
    own: { commitDigest: Uint8Array; stateRoot: Uint8Array },
  ): void {
    if (bytesEqual(certified.commitDigest, own.commitDigest) && bytesEqual(certified.root, own.stateRoot))
      return;
    throw new CertifierError(
      "DIVERGED",
      `commit ${index} is ${toHex(own.commitDigest)} with state root ${toHex(own.stateRoot)}, ` +
        `but ${toHex(certified.commitDigest)} with ${toHex(certified.root)} is certified`,
      { index },
    );
  }

  private prune(): void {
    const floor = (this.lastCertified?.index ?? 0) - VOTE_WINDOW_COMMITS;
    for (const index of this.votes.keys()) if (index <= floor) this.votes.delete(index);
    for (const index of this.own.keys()) if (index <= floor) this.own.delete(index);
  }
}
