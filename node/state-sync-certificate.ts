import type { Committee } from "../consensus/index.ts";
import { type CommitRecord, CommitRecordCodec } from "../ledger/index.ts";
import {
  bytesEqual,
  CHAIN_ID_BYTES_MAX,
  COMMITTEE_SIZE_MAX,
  type Codec,
  type Commit,
  CommitCodec,
  commitDigest,
  DIGEST_BYTES,
  Domain,
  decodeWith,
  encode,
  encodeWith,
  FieldReader,
  HyperspaceError,
  hash,
  SIGNATURE_BYTES,
  toHex,
  verify,
} from "../spec/index.ts";

/**
 * Checkpoints and their certificates. Every validator signs
 * (chain id, commit index, commit digest, state root) after executing each
 * commit (state-certifier.ts). At every CHECKPOINT_INTERVAL_COMMITS-th
 * commit, the votes that make a quorum (2f+1 stake) are kept together as a
 * checkpoint certificate: proof, checkable by anyone who knows the genesis
 * committee, that the chain's commit at that index has that digest and that
 * the state after it has that root. A new node can start from such a
 * checkpoint and its state instead of replaying the chain from genesis.
 */

/**
 * Commits between checkpoints. At the ten or so commits a second of a
 * loopback devnet, a checkpoint every ten seconds or so: a node that starts
 * from the newest one replays at most a hundred commits, and validators copy
 * their state maps (ledger snapshots) no more often than that.
 */
export const CHECKPOINT_INTERVAL_COMMITS = 100;

export function isCheckpoint(index: number): boolean {
  return index > 0 && index % CHECKPOINT_INTERVAL_COMMITS === 0;
}

/** What a state-root vote signs: the commit (index and digest) and the state root after it, on this chain. */
export function stateRootVoteDigest(
  chainId: string,
  index: number,
  commitDigest: Uint8Array,
  stateRoot: Uint8Array,
): Uint8Array {
  return hash(Domain.StateRootVote, encode([chainId, index, commitDigest, stateRoot]));
}

export interface AuthoritySignature {
  readonly authority: number;
  readonly signature: Uint8Array;
}

export interface CheckpointCertificate {
  readonly chainId: string;
  readonly index: number;
  readonly commitDigest: Uint8Array;
  readonly stateRoot: Uint8Array;
  /** Votes for exactly this (index, commit digest, state root), in increasing authority order. */
  readonly signatures: readonly AuthoritySignature[];
}

const AUTHORITY_MAX = COMMITTEE_SIZE_MAX - 1;

export const CheckpointCertificateCodec: Codec<CheckpointCertificate> = {
  type: "CheckpointCertificate",
  // Fixed fields, then at most one signature (about 70 bytes encoded) per authority.
  maxBytes: 256 + CHAIN_ID_BYTES_MAX + COMMITTEE_SIZE_MAX * 80,
  toValue: (c) => [
    c.chainId,
    c.index,
    c.commitDigest,
    c.stateRoot,
    c.signatures.map((s) => [s.authority, s.signature]),
  ],
  fromValue(value, type = "CheckpointCertificate") {
    const reader = FieldReader.of(type, value, 5);
    return {
      chainId: reader.string("chainId", CHAIN_ID_BYTES_MAX),
      index: reader.integer("index"),
      commitDigest: reader.bytes("commitDigest", { exact: DIGEST_BYTES }),
      stateRoot: reader.bytes("stateRoot", { exact: DIGEST_BYTES }),
      signatures: reader.array("signatures", COMMITTEE_SIZE_MAX).map((item, i) => {
        const field = FieldReader.of(`${type}.signatures[${i}]`, item, 2);
        return {
          authority: field.integer("authority", AUTHORITY_MAX),
          signature: field.bytes("signature", { exact: SIGNATURE_BYTES }),
        };
      }),
    };
  },
};

export const encodeCheckpointCertificate = (c: CheckpointCertificate) =>
  encodeWith(CheckpointCertificateCodec, c);
export const decodeCheckpointCertificate = (b: Uint8Array) => decodeWith(CheckpointCertificateCodec, b);

export type CertificateErrorCode =
  | "WRONG_CHAIN"
  | "NOT_CHECKPOINT"
  | "UNKNOWN_AUTHORITY"
  | "DUPLICATE_AUTHORITY"
  | "BAD_SIGNATURE"
  | "INSUFFICIENT_STAKE"
  | "OFFER_MISMATCH";

export class CertificateError extends HyperspaceError<CertificateErrorCode, { index: number }> {}

/**
 * Checks a certificate against the genesis committee: this chain, a
 * checkpoint index, known and distinct authorities whose signatures all
 * verify, and together at least the quorum threshold (2f+1) of stake.
 */
export function verifyCheckpointCertificate(
  certificate: CheckpointCertificate,
  chainId: string,
  committee: Committee,
): void {
  const { index } = certificate;
  const fail = (code: CertificateErrorCode, message: string): never => {
    throw new CertificateError(code, `checkpoint ${index}: ${message}`, { index });
  };
  if (certificate.chainId !== chainId) fail("WRONG_CHAIN", `certificate of chain ${certificate.chainId}`);
  if (!isCheckpoint(index)) fail("NOT_CHECKPOINT", `${index} is not a checkpoint index`);
  const digest = stateRootVoteDigest(chainId, index, certificate.commitDigest, certificate.stateRoot);
  const seen = new Set<number>();
  let stake = 0;
  for (const { authority, signature } of certificate.signatures) {
    const member = committee.authorities[authority];
    if (member === undefined) fail("UNKNOWN_AUTHORITY", `no authority ${authority}`);
    if (seen.has(authority)) fail("DUPLICATE_AUTHORITY", `authority ${authority} signed twice`);
    seen.add(authority);
    if (!verify(signature, digest, member!.publicKey))
      fail("BAD_SIGNATURE", `authority ${authority}'s signature does not verify`);
    stake += member!.stake;
  }
  if (stake < committee.quorumThreshold)
    fail("INSUFFICIENT_STAKE", `${stake} of stake signed, ${committee.quorumThreshold} needed`);
}

/**
 * What a node serving state sync offers: the newest checkpoint whose state
 * it can serve, its certificate, the commit at that index (a follower
 * continues the chain from its digest) and the ledger's record of it.
 */
export interface CheckpointOffer {
  readonly certificate: CheckpointCertificate;
  readonly commit: Commit;
  readonly record: CommitRecord;
}

export const CheckpointOfferCodec: Codec<CheckpointOffer> = {
  type: "CheckpointOffer",
  maxBytes: CheckpointCertificateCodec.maxBytes + CommitCodec.maxBytes + CommitRecordCodec.maxBytes,
  toValue: (o) => [
    CheckpointCertificateCodec.toValue(o.certificate),
    CommitCodec.toValue(o.commit),
    CommitRecordCodec.toValue(o.record),
  ],
  fromValue(value, type = "CheckpointOffer") {
    const reader = FieldReader.of(type, value, 3);
    return {
      certificate: reader.nested("certificate", CheckpointCertificateCodec.fromValue),
      commit: reader.nested("commit", CommitCodec.fromValue),
      record: reader.nested("record", CommitRecordCodec.fromValue),
    };
  },
};

export const encodeCheckpointOffer = (o: CheckpointOffer) => encodeWith(CheckpointOfferCodec, o);
export const decodeCheckpointOffer = (b: Uint8Array) => decodeWith(CheckpointOfferCodec, b);

/**
 * Checks an offer: a valid certificate, a commit whose index and digest are
 * the certified ones, and a record with the certified root and the commit's
 * time. (The record's transaction counts are the server's word only; they
 * are informational.)
 */
export function verifyCheckpointOffer(offer: CheckpointOffer, chainId: string, committee: Committee): void {
  const { certificate, commit, record } = offer;
  verifyCheckpointCertificate(certificate, chainId, committee);
  const mismatch = (message: string): never => {
    throw new CertificateError("OFFER_MISMATCH", `checkpoint ${certificate.index}: ${message}`, {
      index: certificate.index,
    });
  };
  if (commit.index !== certificate.index) mismatch(`commit ${commit.index} offered`);
  const digest = commitDigest(commit);
  if (!bytesEqual(digest, certificate.commitDigest))
    mismatch(`commit digest ${toHex(digest)} is not the certified one`);
  if (record.index !== certificate.index || !bytesEqual(record.stateRoot, certificate.stateRoot))
    mismatch("the commit record is not the certified one");
  if (record.timestampMs !== commit.timestampMs) mismatch("the commit record's time is not the commit's");
}
