import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CodecError, encode, generateKeyPair } from "../spec/index.ts";
import {
  amount,
  bytes,
  capabilities,
  device,
  index,
  inviteCode,
  modelRefs,
  peerId,
  peerIds,
  role,
  vramMib,
} from "./arbitraries.ts";
import { INVITE_CODE_PREFIX } from "./constants.ts";
import { MarketError } from "./errors.ts";
import {
  createInviteCode,
  encodeInviteCode,
  formatInviteCode,
  InviteCodeCodec,
  parseInviteCode,
  verifyInviteSignature,
} from "./invite.ts";
import {
  MARKET_PAYLOAD_CODECS,
  PodCreateCodec,
  PodInviteCodec,
  PodJoinCodec,
  PodLeaveCodec,
  PodRemoveCodec,
  PodRevokeInviteCodec,
  PodSetRoleCodec,
  ProviderDeregisterCodec,
  ProviderRegisterCodec,
  ProviderWithdrawCodec,
} from "./payloads.ts";
import { peerIdFromPublicKey, peerPublicKey } from "./peer-id.ts";
import {
  InviteUseRecordCodec,
  MemberRecordCodec,
  PeerInviteRecordCodec,
  PodRecordCodec,
  ProviderRecordCodec,
} from "./records.ts";
import { codecProperties, runSeed } from "./test-fixtures.ts";

const seed = runSeed("market codecs.test");

codecProperties(
  ProviderRegisterCodec,
  fc.record({
    peerId,
    peerSignature: bytes(64),
    models: modelRefs,
    device,
    vramMib,
    pricePerToken: amount,
    bond: amount,
  }),
  seed,
);
codecProperties(ProviderDeregisterCodec, fc.constant({}), seed);
codecProperties(ProviderWithdrawCodec, fc.constant({}), seed);
codecProperties(
  PodCreateCodec,
  fc.record({ name: fc.string({ maxLength: 16 }), capabilities, peerId, peerSignature: bytes(64) }),
  seed,
);
codecProperties(PodInviteCodec, fc.record({ podId: bytes(32), peerIds, role, expiresAtMs: index }), seed);
codecProperties(
  PodJoinCodec,
  fc.record({
    podId: bytes(32),
    peerId,
    peerSignature: bytes(64),
    invite: fc.option(inviteCode, { nil: null }),
  }),
  seed,
);
codecProperties(PodLeaveCodec, fc.record({ podId: bytes(32) }), seed);
codecProperties(PodRemoveCodec, fc.record({ podId: bytes(32), member: bytes(20) }), seed);
codecProperties(PodSetRoleCodec, fc.record({ podId: bytes(32), member: bytes(20), role }), seed);
codecProperties(PodRevokeInviteCodec, fc.record({ podId: bytes(32), inviteId: bytes(32) }), seed);
codecProperties(InviteCodeCodec, inviteCode, seed);
codecProperties(
  ProviderRecordCodec,
  fc.record({
    publicKey: bytes(32),
    peerId,
    models: modelRefs,
    device,
    vramMib,
    pricePerToken: amount,
    bond: amount,
    registeredAtCommit: index,
    unbondingUntilCommit: index,
  }),
  seed,
);
codecProperties(
  PodRecordCodec,
  fc.record({
    name: fc.string({ maxLength: 16 }),
    capabilities,
    creator: bytes(20),
    createdAtCommit: index,
    memberCount: fc.nat({ max: 256 }),
    adminCount: fc.nat({ max: 256 }),
  }),
  seed,
);
codecProperties(MemberRecordCodec, fc.record({ peerId, role, joinedAtCommit: index }), seed);
codecProperties(PeerInviteRecordCodec, fc.record({ role, expiresAtMs: index, inviter: bytes(20) }), seed);
codecProperties(InviteUseRecordCodec, fc.record({ uses: index, revoked: fc.boolean() }), seed);

describe("market payloads", () => {
  it("refuse an unknown device or role, a repeated model or capability", () => {
    const base = {
      peerId: "x",
      peerSignature: new Uint8Array(64),
      models: [{ hash: new Uint8Array(32), name: "m" }],
      device: "cpu" as const,
      vramMib: 0,
      pricePerToken: 1n,
      bond: 1n,
    };
    const value = ProviderRegisterCodec.toValue(base) as unknown[];
    const decode = (v: unknown[]) => ProviderRegisterCodec.fromValue(v);
    assert.throws(() => decode(value.with(3, "tpu")), CodecError);
    assert.throws(
      () => decode(value.with(2, [...(value[2] as unknown[]), ...(value[2] as unknown[])])),
      CodecError,
    );
    assert.throws(() => decode(value.with(2, [[new Uint8Array(32), "bad name"]])), CodecError);
    assert.throws(
      () => PodCreateCodec.fromValue(["p", ["inference", "inference"], "x", new Uint8Array(64)]),
      CodecError,
    );
    assert.throws(
      () => PodSetRoleCodec.fromValue([new Uint8Array(32), new Uint8Array(20), "owner"]),
      CodecError,
    );
    assert.equal(Object.keys(MARKET_PAYLOAD_CODECS).length, 10);
  });
});

describe("peer ids", () => {
  it("round-trip an Ed25519 key through the text form libp2p prints", () => {
    fc.assert(
      fc.property(bytes(32), (key) => {
        const id = peerIdFromPublicKey(key);
        assert.ok(id.startsWith("12D3KooW"));
        assert.deepEqual(peerPublicKey(id), key);
      }),
      { seed, numRuns: 100 },
    );
  });

  it("refuse text that is not an Ed25519 identity peer id", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const key = peerPublicKey(text);
        if (key !== null) assert.equal(peerIdFromPublicKey(key), text);
      }),
      { seed, numRuns: 300 },
    );
    // An RSA/secp256k1-style sha256 multihash peer id ("Qm...") is not accepted.
    assert.equal(peerPublicKey("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"), null);
  });
});

describe("invite codes", () => {
  const keys = generateKeyPair();
  const make = (overrides: Partial<Parameters<typeof createInviteCode>[0]> = {}) =>
    createInviteCode({
      chainId: "c",
      podId: new Uint8Array(32).fill(7),
      role: "member",
      ttlMs: 1000,
      multiUse: false,
      nowMs: 5_000,
      keys,
      ...overrides,
    });

  it("sign their terms: the text round-trips and any changed term breaks the signature", () => {
    fc.assert(
      fc.property(role, fc.boolean(), fc.integer({ min: 1, max: 10 ** 9 }), (r, multiUse, ttlMs) => {
        const code = make({ role: r, multiUse, ttlMs });
        const text = formatInviteCode(code);
        assert.ok(text.startsWith(INVITE_CODE_PREFIX));
        const parsed = parseInviteCode(text);
        assert.deepEqual(parsed, code);
        assert.equal(parsed.expiresAtMs, 5_000 + ttlMs);
        assert.ok(verifyInviteSignature(parsed));
        assert.ok(!verifyInviteSignature({ ...parsed, role: r === "admin" ? "member" : "admin" }));
        assert.ok(!verifyInviteSignature({ ...parsed, expiresAtMs: parsed.expiresAtMs + 1 }));
        assert.ok(!verifyInviteSignature({ ...parsed, multiUse: !multiUse }));
      }),
      { seed, numRuns: 30 },
    );
  });

  it("refuse malformed text with BAD_INVITE", () => {
    const text = formatInviteCode(make());
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(..."AZaz09-_".split("")), (at, ch) => {
        const i = INVITE_CODE_PREFIX.length + (at % (text.length - INVITE_CODE_PREFIX.length));
        const mutated = text.slice(0, i) + ch + text.slice(i + 1);
        if (mutated === text) return;
        try {
          const parsed = parseInviteCode(mutated);
          // A change that still decodes must have changed a signed field or the signature.
          assert.ok(!verifyInviteSignature(parsed));
        } catch (error) {
          assert.ok(error instanceof MarketError && error.code === "BAD_INVITE");
        }
      }),
      { seed, numRuns: 300 },
    );
    assert.throws(() => parseInviteCode("nope"), MarketError);
    assert.throws(() => parseInviteCode(`${INVITE_CODE_PREFIX}!!`), MarketError);
    assert.throws(
      () => parseInviteCode(INVITE_CODE_PREFIX + Buffer.from(encode([1, 2])).toString("base64url")),
      MarketError,
    );
    assert.throws(() => make({ ttlMs: 0 }), MarketError);
    assert.ok(encodeInviteCode(make()).byteLength <= InviteCodeCodec.maxBytes);
  });
});
