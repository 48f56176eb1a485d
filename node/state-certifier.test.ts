import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Committee } from "../consensus/index.ts";
import { createSigner, generateKeyPair } from "../spec/index.ts";
import { codecProperties, runSeed } from "../spec/testing.ts";
import { CertifierError, StateCertifier, StateRootVoteCodec, signStateRootVote } from "./state-certifier.ts";
import { CHECKPOINT_INTERVAL_COMMITS, verifyCheckpointCertificate } from "./state-sync-certificate.ts";

const seed = runSeed("state-certifier.test");

const CHAIN = "certifier-test";
const keys = Array.from({ length: 4 }, () => generateKeyPair());

function committee(stakes: number[]): Committee {
  return new Committee(stakes.map((stake, i) => ({ stake, publicKey: (keys[i] ?? keys[0])!.publicKey })));
}

const root = (fill: number) => new Uint8Array(32).fill(fill);
const digest = (index: number) => new Uint8Array(32).fill(index % 256);
const vote = (index: number, fill: number, authority: number, commitDigest = digest(index)) =>
  signStateRootVote(
    CHAIN,
    index,
    commitDigest,
    root(fill),
    authority,
    createSigner(keys[authority]!.secretKey),
  );

describe("StateCertifier", () => {
  it("certifies a root exactly when its voters' stake reaches the quorum, counting each authority once", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.record({ authority: fc.nat(3), fill: fc.nat(1) }), { maxLength: 12 }),
        (stakes, votes) => {
          const c = committee(stakes);
          const certifier = new StateCertifier(CHAIN, c);
          const counted = new Map<number, number>();
          for (const v of votes) {
            const result = certifier.addVote(vote(1, v.fill, v.authority));
            if (!counted.has(v.authority)) counted.set(v.authority, v.fill);
            const stakeFor = (fill: number) =>
              [...counted].filter(([, f]) => f === fill).reduce((sum, [a]) => sum + (stakes[a] ?? 0), 0);
            const expected = [0, 1].find((fill) => stakeFor(fill) >= c.quorumThreshold);
            const certified = certifier.certifiedAt(1);
            assert.equal(certified === null ? undefined : certified[0], expected);
            if (result !== null) assert.equal(result.stateRoot[0], expected);
          }
        },
      ),
    );
  });

  it("halts with DIVERGED when our root differs from a certified one, in either order", () => {
    const early = new StateCertifier(CHAIN, committee([1, 1, 1, 1]));
    early.recordOwn(5, digest(5), root(9));
    early.addVote(vote(5, 1, 0));
    early.addVote(vote(5, 1, 1));
    assert.throws(
      () => early.addVote(vote(5, 1, 2)),
      (e: unknown) => e instanceof CertifierError && e.code === "DIVERGED",
    );

    const late = new StateCertifier(CHAIN, committee([1, 1, 1, 1]));
    for (const a of [0, 1, 2]) late.addVote(vote(5, 1, a));
    assert.throws(
      () => late.recordOwn(5, digest(5), root(9)),
      (e: unknown) => e instanceof CertifierError && e.code === "DIVERGED",
    );
    late.recordOwn(6, digest(6), root(9));

    // Same root, another commit at that index: a fork of the chain, as fatal as a wrong state.
    const forked = new StateCertifier(CHAIN, committee([1, 1, 1, 1]));
    for (const a of [0, 1, 2]) forked.addVote(vote(7, 1, a));
    assert.throws(
      () => forked.recordOwn(7, digest(99), root(1)),
      (e: unknown) => e instanceof CertifierError && e.code === "DIVERGED",
    );
    forked.recordOwn(8, digest(8), root(1));
  });

  it("hands out a verifiable certificate of the quorum at checkpoint indices only", () => {
    const c = committee([1, 1, 1, 1]);
    const certifier = new StateCertifier(CHAIN, c);
    for (const index of [CHECKPOINT_INTERVAL_COMMITS - 1, CHECKPOINT_INTERVAL_COMMITS]) {
      certifier.addVote(vote(index, 2, 3));
      certifier.addVote(vote(index, 1, 2));
      assert.equal(certifier.addVote(vote(index, 1, 0)), null);
      const certified = certifier.addVote(vote(index, 1, 1));
      assert.ok(certified !== null);
      if (index !== CHECKPOINT_INTERVAL_COMMITS) {
        assert.equal(certified.certificate, null);
        continue;
      }
      const certificate = certified.certificate;
      assert.ok(certificate !== null);
      assert.deepEqual(
        certificate.signatures.map((s) => s.authority),
        [0, 1, 2],
        "the quorum's voters for the certified pair, in authority order",
      );
      verifyCheckpointCertificate(certificate, CHAIN, c);
    }
  });

  it("refuses forged, misattributed and out-of-window votes", () => {
    const certifier = new StateCertifier(CHAIN, committee([1, 1, 1, 1]));
    const forged = { ...vote(1, 1, 0), authority: 1 };
    assert.throws(
      () => certifier.addVote(forged),
      (e: unknown) => e instanceof CertifierError && e.code === "BAD_SIGNATURE",
    );
    assert.throws(() => certifier.addVote({ ...vote(1, 1, 0), authority: 9 }), CertifierError);
    assert.throws(
      () => certifier.addVote(vote(5_000, 1, 0)),
      (e: unknown) => e instanceof CertifierError && e.code === "OUT_OF_WINDOW",
    );
    const other = signStateRootVote(
      "other-chain",
      1,
      digest(1),
      root(1),
      0,
      createSigner(keys[0]!.secretKey),
    );
    assert.throws(
      () => certifier.addVote(other),
      (e: unknown) => e instanceof CertifierError && e.code === "BAD_SIGNATURE",
    );
  });
});

codecProperties(
  StateRootVoteCodec,
  fc.record({
    index: fc.nat(),
    commitDigest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    stateRoot: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    authority: fc.nat(1023),
    signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  }),
  seed,
);
