import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Committee } from "../consensus/index.ts";
import { arbitraryCommit } from "../spec/arbitraries.ts";
import { commitDigest, createSigner, generateKeyPair } from "../spec/index.ts";
import { codecProperties, runSeed } from "../spec/testing.ts";
import { signStateRootVote } from "./state-certifier.ts";
import {
  CertificateError,
  type CertificateErrorCode,
  CHECKPOINT_INTERVAL_COMMITS,
  type CheckpointCertificate,
  CheckpointCertificateCodec,
  CheckpointOfferCodec,
  verifyCheckpointCertificate,
  verifyCheckpointOffer,
} from "./state-sync-certificate.ts";

const seed = runSeed("state-sync-certificate.test");
const CHAIN = "certificate-test";
const keys = Array.from({ length: 4 }, () => generateKeyPair());
const stakes = [1, 2, 3, 4]; // total 10: quorum 7
const committee = new Committee(keys.map((k, i) => ({ stake: stakes[i]!, publicKey: k.publicKey })));
const INDEX = 3 * CHECKPOINT_INTERVAL_COMMITS;
const digest = new Uint8Array(32).fill(7);
const root = new Uint8Array(32).fill(9);

function certificate(authorities: number[], overrides: Partial<CheckpointCertificate> = {}) {
  const base = { chainId: CHAIN, index: INDEX, commitDigest: digest, stateRoot: root, ...overrides };
  return {
    ...base,
    signatures: authorities.map((authority) => ({
      authority,
      signature: signStateRootVote(
        base.chainId,
        base.index,
        base.commitDigest,
        base.stateRoot,
        authority,
        createSigner(keys[authority]!.secretKey),
      ).signature,
    })),
  };
}

function rejects(code: CertificateErrorCode, run: () => void): void {
  assert.throws(run, (e: unknown) => e instanceof CertificateError && e.code === code);
}

describe("checkpoint certificate verification", () => {
  it("accepts exactly the sets of distinct authorities holding at least 2f+1 stake", () => {
    fc.assert(
      fc.property(fc.subarray([0, 1, 2, 3]), (signers) => {
        const stake = signers.reduce((sum, a) => sum + stakes[a]!, 0);
        const check = () => verifyCheckpointCertificate(certificate(signers), CHAIN, committee);
        if (stake >= committee.quorumThreshold) check();
        else rejects("INSUFFICIENT_STAKE", check);
      }),
      { seed, numRuns: 50 },
    );
  });

  it("rejects a forged signature, a duplicate authority, an unknown authority, another chain and a non-checkpoint", () => {
    const good = certificate([1, 2, 3]);
    verifyCheckpointCertificate(good, CHAIN, committee);

    const forged = structuredClone(good);
    forged.signatures[1]!.signature[3]! ^= 1;
    rejects("BAD_SIGNATURE", () => verifyCheckpointCertificate(forged, CHAIN, committee));
    // A signature over another root does not certify this one.
    const otherRoot = { ...good, stateRoot: new Uint8Array(32).fill(1) };
    rejects("BAD_SIGNATURE", () => verifyCheckpointCertificate(otherRoot, CHAIN, committee));
    // One authority's vote counted twice would reach the quorum (3 + 4 = 7) without another signer.
    const duplicate = certificate([3, 3]);
    rejects("DUPLICATE_AUTHORITY", () => verifyCheckpointCertificate(duplicate, CHAIN, committee));
    const unknown = {
      ...good,
      signatures: [...good.signatures, { authority: 9, signature: new Uint8Array(64) }],
    };
    rejects("UNKNOWN_AUTHORITY", () => verifyCheckpointCertificate(unknown, CHAIN, committee));
    rejects("WRONG_CHAIN", () => verifyCheckpointCertificate(good, "another-chain", committee));
    // Signed for another chain and relabelled as ours: the signatures do not verify.
    const relabelled = { ...certificate([1, 2, 3], { chainId: "another-chain" }), chainId: CHAIN };
    rejects("BAD_SIGNATURE", () => verifyCheckpointCertificate(relabelled, CHAIN, committee));
    rejects("NOT_CHECKPOINT", () =>
      verifyCheckpointCertificate(certificate([1, 2, 3], { index: INDEX + 1 }), CHAIN, committee),
    );
  });

  it("checks that an offer's commit and record are the certified ones", () => {
    fc.assert(
      fc.property(arbitraryCommit, (arbitrary) => {
        const commit = { ...arbitrary, index: INDEX };
        const record = {
          index: INDEX,
          stateRoot: root,
          timestampMs: commit.timestampMs,
          executed: 3,
          failed: 1,
          rejected: 0,
        };
        const offer = {
          certificate: certificate([1, 2, 3], { commitDigest: commitDigest(commit) }),
          commit,
          record,
        };
        verifyCheckpointOffer(offer, CHAIN, committee);
        const check = (bad: typeof offer) => () => verifyCheckpointOffer(bad, CHAIN, committee);
        rejects(
          "OFFER_MISMATCH",
          check({ ...offer, commit: { ...commit, timestampMs: commit.timestampMs + 1 } }),
        );
        rejects("OFFER_MISMATCH", check({ ...offer, record: { ...record, stateRoot: digest } }));
        rejects(
          "OFFER_MISMATCH",
          check({ ...offer, record: { ...record, timestampMs: record.timestampMs + 1 } }),
        );
        rejects(
          "INSUFFICIENT_STAKE",
          check({ ...offer, certificate: { ...offer.certificate, signatures: [] } }),
        );
      }),
      { seed, numRuns: 20 },
    );
  });
});

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
const arbitraryCertificate = fc.record({
  chainId: fc.string({ maxLength: 16 }),
  index: fc.nat(),
  commitDigest: bytes(32),
  stateRoot: bytes(32),
  signatures: fc.array(fc.record({ authority: fc.nat(1023), signature: bytes(64) }), { maxLength: 5 }),
});
codecProperties(CheckpointCertificateCodec, arbitraryCertificate, seed);
codecProperties(
  CheckpointOfferCodec,
  fc.record({
    certificate: arbitraryCertificate,
    commit: arbitraryCommit,
    record: fc.record({
      index: fc.nat(),
      stateRoot: bytes(32),
      timestampMs: fc.nat(),
      executed: fc.nat(),
      failed: fc.nat(),
      rejected: fc.nat(),
    }),
  }),
  seed,
);
