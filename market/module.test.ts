import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { genesisSupply, type Receipt } from "../ledger/index.ts";
import { bytesEqual, toHex } from "../spec/index.ts";
import { PROVIDER_BOND_MIN, PROVIDER_UNBONDING_COMMITS } from "./constants.ts";
import { createInviteCode, type InviteCode, inviteId } from "./invite.ts";
import type { PodRole } from "./model-ref.ts";
import { derivePodId } from "./module.ts";
import { MarketKind } from "./payloads.ts";
import { isPodMember, requirePodMember } from "./state.ts";
import {
  ACTORS,
  binding,
  CHAIN_ID,
  COMMIT_INTERVAL_MS,
  GENESIS_TIME_MS,
  runSeed,
  TestChain,
  testGenesis,
} from "./test-fixtures.ts";

const seed = runSeed("market module.test");
const MODEL = { hash: new Uint8Array(32).fill(0xab), name: "kjv-mlp" };

function register(who: number, overrides: Record<string, unknown> = {}) {
  return {
    peerId: ACTORS[who]!.peerId,
    peerSignature: binding(who),
    models: [MODEL],
    device: "cuda" as const,
    vramMib: 24 * 1024,
    pricePerToken: 3n,
    bond: PROVIDER_BOND_MIN,
    ...overrides,
  };
}

async function conserved(chain: TestChain): Promise<void> {
  const totals = chain.ledger.totals();
  assert.equal(totals.supply + totals.burned, genesisSupply(testGenesis()));
}

describe("provider registry", () => {
  it("registers with a bound peer id and a bond, updates, unbonds and withdraws", async () => {
    const chain = await TestChain.open();
    const before = chain.balance(1);
    let receipt = await chain.run(1, MarketKind.ProviderRegister, register(1));
    assert.ok(receipt.success, receipt.errorMessage);
    const record = chain.market.provider(ACTORS[1]!.address)!;
    assert.equal(record.peerId, ACTORS[1]!.peerId);
    assert.equal(record.bond, PROVIDER_BOND_MIN);
    assert.equal(record.vramMib, 24 * 1024);
    assert.deepEqual(record.models, [MODEL]);
    assert.equal(chain.ledger.totals().escrows, PROVIDER_BOND_MIN);

    receipt = await chain.run(1, MarketKind.ProviderRegister, register(1, { bond: 5n, pricePerToken: 7n }));
    assert.ok(receipt.success);
    assert.equal(chain.market.provider(ACTORS[1]!.address)!.bond, PROVIDER_BOND_MIN + 5n);
    assert.equal(chain.market.provider(ACTORS[1]!.address)!.pricePerToken, 7n);
    assert.equal(chain.market.providers().length, 1);

    receipt = await chain.run(1, MarketKind.ProviderWithdraw, {});
    assert.equal(receipt.errorCode, "UNBONDING_RUNNING");
    receipt = await chain.run(1, MarketKind.ProviderDeregister, {});
    assert.ok(receipt.success);
    const until = chain.market.provider(ACTORS[1]!.address)!.unbondingUntilCommit;
    assert.equal(until, receipt.commitIndex + PROVIDER_UNBONDING_COMMITS);
    assert.equal(
      (await chain.run(1, MarketKind.ProviderRegister, register(1))).errorCode,
      "PROVIDER_UNBONDING",
    );
    assert.equal((await chain.run(1, MarketKind.ProviderDeregister, {})).errorCode, "PROVIDER_UNBONDING");
    await chain.advance(until - chain.commitIndex - 1);
    assert.equal((await chain.run(1, MarketKind.ProviderWithdraw, {})).errorCode, "UNBONDING_RUNNING");
    receipt = await chain.run(1, MarketKind.ProviderWithdraw, {});
    assert.ok(receipt.success, receipt.errorMessage);
    assert.equal(chain.market.provider(ACTORS[1]!.address), null);
    assert.equal(chain.ledger.totals().escrows, 0n);
    const fees = 8n * 10n;
    assert.equal(chain.balance(1), before - fees);
    await conserved(chain);
  });

  it("refuses a peer id the sender cannot sign for, a low bond, a device mismatch and no models", async () => {
    const chain = await TestChain.open();
    const cases: [Record<string, unknown>, string][] = [
      [{ peerSignature: binding(2) }, "BAD_PEER_SIGNATURE"],
      [{ peerId: ACTORS[2]!.peerId }, "BAD_PEER_SIGNATURE"],
      [{ peerId: "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N" }, "BAD_PEER_ID"],
      [{ bond: PROVIDER_BOND_MIN - 1n }, "BOND_TOO_LOW"],
      [{ device: "cuda", vramMib: 0 }, "BAD_DEVICE"],
      [{ models: [] }, "BAD_REQUEST"],
      [{ bond: 10n ** 12n }, "INSUFFICIENT_BALANCE"],
    ];
    for (const [overrides, code] of cases) {
      const receipt = await chain.run(1, MarketKind.ProviderRegister, register(1, overrides));
      assert.equal(receipt.errorCode, code, Object.keys(overrides).join(","));
    }
    assert.equal(chain.market.providers().length, 0);
    assert.equal(chain.ledger.totals().escrows, 0n);
    assert.ok(
      (await chain.run(1, MarketKind.ProviderRegister, register(1, { device: "cpu", vramMib: 0 }))).success,
    );
    await conserved(chain);
  });
});

describe("provider registry transitions", () => {
  type ProviderOp =
    | { kind: "register"; who: number; bond: bigint; price: bigint }
    | { kind: "deregister"; who: number }
    | { kind: "withdraw"; who: number }
    | { kind: "wait"; commits: number };
  // Mostly one provider, so its whole lifecycle (register, deregister, wait, withdraw) comes up often.
  const who = fc.oneof(
    { weight: 4, arbitrary: fc.constant(1) },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 3 }) },
  );
  const op: fc.Arbitrary<ProviderOp> = fc.oneof(
    fc.record({
      kind: fc.constant("register" as const),
      who,
      bond: fc.oneof(fc.constant(PROVIDER_BOND_MIN), fc.bigInt({ min: 0n, max: 2n * PROVIDER_BOND_MIN })),
      price: fc.bigInt({ min: 0n, max: 100n }),
    }),
    fc.record({ kind: fc.constant("deregister" as const), who }),
    fc.record({ kind: fc.constant("withdraw" as const), who }),
    fc.record({
      kind: fc.constant("wait" as const),
      commits: fc.constantFrom(1, PROVIDER_UNBONDING_COMMITS),
    }),
  );

  it("match a reference model, and every bond is in escrow until it is withdrawn (property)", async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 16, size: "medium" }), async (random) => {
        // Each run ends with provider 1 leaving, so the last steps of its lifecycle come up in most runs.
        const ops: ProviderOp[] = [
          ...random,
          { kind: "deregister", who: 1 },
          { kind: "wait", commits: PROVIDER_UNBONDING_COMMITS },
          { kind: "withdraw", who: 1 },
        ];
        const chain = await TestChain.open();
        const model = new Map<number, { bond: bigint; until: number; price: bigint }>();
        for (const o of ops) {
          if (o.kind === "wait") {
            // Waiting out an unbonding period commit by commit is slow; one marker transaction per commit is not needed.
            for (let i = 0; i < o.commits; i += 100) await chain.advance(Math.min(100, o.commits - i));
            continue;
          }
          const index = chain.commitIndex + 1;
          const current = model.get(o.who);
          let expected = "";
          let receipt: Receipt;
          if (o.kind === "register") {
            if (current !== undefined && current.until !== 0) expected = "PROVIDER_UNBONDING";
            else if ((current?.bond ?? 0n) + o.bond < PROVIDER_BOND_MIN) expected = "BOND_TOO_LOW";
            else model.set(o.who, { bond: (current?.bond ?? 0n) + o.bond, until: 0, price: o.price });
            receipt = await chain.run(
              o.who,
              MarketKind.ProviderRegister,
              register(o.who, { bond: o.bond, pricePerToken: o.price }),
            );
          } else if (o.kind === "deregister") {
            if (current === undefined) expected = "PROVIDER_NOT_FOUND";
            else if (current.until !== 0) expected = "PROVIDER_UNBONDING";
            else current.until = index + PROVIDER_UNBONDING_COMMITS;
            receipt = await chain.run(o.who, MarketKind.ProviderDeregister, {});
          } else {
            if (current === undefined) expected = "PROVIDER_NOT_FOUND";
            else if (current.until === 0 || index <= current.until) expected = "UNBONDING_RUNNING";
            else model.delete(o.who);
            receipt = await chain.run(o.who, MarketKind.ProviderWithdraw, {});
          }
          assert.equal(
            receipt.errorCode,
            expected,
            JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
          );
          outcomes.add(`${o.kind}:${expected || "ok"}`);
          for (const w of [1, 2, 3]) {
            const onChain = chain.market.provider(ACTORS[w]!.address);
            const expectedRecord = model.get(w);
            assert.equal(onChain?.bond, expectedRecord?.bond);
            assert.equal(onChain?.unbondingUntilCommit, expectedRecord?.until);
            assert.equal(onChain?.pricePerToken, expectedRecord?.price);
          }
          const bonds = [...model.values()].reduce((sum, p) => sum + p.bond, 0n);
          assert.equal(chain.ledger.totals().escrows, bonds);
        }
        await conserved(chain);
      }),
      { seed, numRuns: 25 },
    );
    for (const outcome of ["register:ok", "deregister:ok", "withdraw:ok", "withdraw:UNBONDING_RUNNING"]) {
      assert.ok(outcomes.has(outcome), `no ${outcome} in ${[...outcomes].join(" ")}`);
    }
  });
});

async function createPod(chain: TestChain, who = 0): Promise<Uint8Array> {
  const nonce = chain.ledger.getAccount(ACTORS[who]!.address).nonce;
  const receipt = await chain.run(who, MarketKind.PodCreate, {
    name: "research-team",
    capabilities: ["inference", "embedding", "training"],
    peerId: ACTORS[who]!.peerId,
    peerSignature: binding(who),
  });
  assert.ok(receipt.success, receipt.errorMessage);
  return derivePodId(CHAIN_ID, ACTORS[who]!.address, nonce);
}

function code(
  chain: TestChain,
  podId: Uint8Array,
  issuer: number,
  role: PodRole,
  multiUse: boolean,
  ttlMs = 60_000,
): InviteCode {
  return createInviteCode({
    chainId: CHAIN_ID,
    podId,
    role,
    ttlMs,
    multiUse,
    nowMs: chain.nextTimestampMs,
    keys: ACTORS[issuer]!.keys,
  });
}

function join(chain: TestChain, who: number, podId: Uint8Array, invite: InviteCode | null) {
  return chain.run(who, MarketKind.PodJoin, {
    podId,
    peerId: ACTORS[who]!.peerId,
    peerSignature: binding(who),
    invite,
  });
}

describe("pods", () => {
  it("create, invite by peer id, join, and check membership by peer id", async () => {
    const chain = await TestChain.open();
    const podId = await createPod(chain);
    const pod = chain.market.pod(podId)!;
    assert.equal(pod.name, "research-team");
    assert.deepEqual(pod.capabilities, ["inference", "embedding", "training"]);
    assert.equal(pod.memberCount, 1);
    assert.equal(chain.market.member(podId, ACTORS[0]!.address)!.role, "admin");
    assert.ok(isPodMember(chain.market, podId, ACTORS[0]!.peerId));
    assert.ok(!isPodMember(chain.market, podId, ACTORS[1]!.peerId));
    assert.throws(() => requirePodMember(chain.market, podId, ACTORS[1]!.peerId), /NOT_POD_MEMBER/);

    assert.equal((await join(chain, 1, podId, null)).errorCode, "NOT_INVITED");
    const expiresAtMs = chain.nextTimestampMs + 10_000;
    let receipt = await chain.run(1, MarketKind.PodInvite, {
      podId,
      peerIds: [ACTORS[2]!.peerId],
      role: "member",
      expiresAtMs,
    });
    assert.equal(receipt.errorCode, "NOT_ADMIN");
    receipt = await chain.run(0, MarketKind.PodInvite, {
      podId,
      peerIds: [ACTORS[1]!.peerId, ACTORS[2]!.peerId],
      role: "member",
      expiresAtMs,
    });
    assert.ok(receipt.success, receipt.errorMessage);
    // Actor 3 cannot join under actor 1's peer id: it cannot sign actor 1's binding.
    receipt = await chain.run(3, MarketKind.PodJoin, {
      podId,
      peerId: ACTORS[1]!.peerId,
      peerSignature: binding(1),
      invite: null,
    });
    assert.equal(receipt.errorCode, "BAD_PEER_SIGNATURE");
    assert.ok((await join(chain, 1, podId, null)).success);
    assert.equal((await join(chain, 1, podId, null)).errorCode, "NOT_INVITED");
    assert.ok(isPodMember(chain.market, podId, ACTORS[1]!.peerId));
    // Actor 2's invitation expires.
    await chain.advance(10_000 / COMMIT_INTERVAL_MS);
    assert.equal((await join(chain, 2, podId, null)).errorCode, "INVITE_EXPIRED");
    assert.deepEqual(
      chain.market
        .members(podId)
        .map((m) => m.peerId)
        .sort(),
      [ACTORS[0]!.peerId, ACTORS[1]!.peerId].sort(),
    );
    assert.deepEqual(
      chain.market.podsOf(ACTORS[1]!.address).map((p) => toHex(p.podId)),
      [toHex(podId)],
    );
  });

  it("invite codes: single use, multi use, expiry, revocation, and an issuer who is no longer admin", async () => {
    const chain = await TestChain.open();
    const podId = await createPod(chain);
    const single = code(chain, podId, 0, "member", false);
    assert.ok((await join(chain, 1, podId, single)).success);
    assert.equal((await join(chain, 2, podId, single)).errorCode, "INVITE_USED");
    assert.equal(chain.market.inviteUse(podId, inviteId(single))!.uses, 1);

    const multi = code(chain, podId, 0, "admin", true);
    assert.ok((await join(chain, 2, podId, multi)).success);
    assert.ok((await join(chain, 3, podId, multi)).success);
    assert.equal(chain.market.member(podId, ACTORS[3]!.address)!.role, "admin");
    assert.equal(chain.market.pod(podId)!.adminCount, 3);

    // A code signed by a non-admin, or for another pod, is refused.
    assert.equal(
      (await join(chain, 4, podId, code(chain, podId, 1, "member", false))).errorCode,
      "BAD_INVITE",
    );
    assert.equal(
      (await join(chain, 4, podId, code(chain, new Uint8Array(32), 0, "member", false))).errorCode,
      "BAD_INVITE",
    );
    const tampered = { ...code(chain, podId, 0, "member", false), role: "admin" as const };
    assert.equal((await join(chain, 4, podId, tampered)).errorCode, "BAD_INVITE");

    const revoked = code(chain, podId, 0, "member", true);
    assert.equal(
      (await chain.run(1, MarketKind.PodRevokeInvite, { podId, inviteId: inviteId(revoked) })).errorCode,
      "NOT_ADMIN",
    );
    assert.ok(
      (await chain.run(0, MarketKind.PodRevokeInvite, { podId, inviteId: inviteId(revoked) })).success,
    );
    assert.equal((await join(chain, 4, podId, revoked)).errorCode, "INVITE_REVOKED");

    const short = code(chain, podId, 0, "member", true, COMMIT_INTERVAL_MS);
    await chain.advance(2);
    assert.equal((await join(chain, 4, podId, short)).errorCode, "INVITE_EXPIRED");

    // Once the issuer is demoted, its codes stop working.
    const byThree = code(chain, podId, 3, "member", true);
    assert.ok(
      (await chain.run(0, MarketKind.PodSetRole, { podId, member: ACTORS[3]!.address, role: "member" }))
        .success,
    );
    assert.equal((await join(chain, 4, podId, byThree)).errorCode, "BAD_INVITE");
    assert.equal((await join(chain, 1, podId, multi)).errorCode, "ALREADY_MEMBER");
    await conserved(chain);
  });

  it("keeps an admin while members remain and deletes an emptied pod", async () => {
    const chain = await TestChain.open();
    const podId = await createPod(chain);
    const multi = code(chain, podId, 0, "member", true);
    assert.ok((await join(chain, 1, podId, multi)).success);
    assert.equal((await chain.run(0, MarketKind.PodLeave, { podId })).errorCode, "LAST_ADMIN");
    assert.equal(
      (await chain.run(0, MarketKind.PodSetRole, { podId, member: ACTORS[0]!.address, role: "member" }))
        .errorCode,
      "LAST_ADMIN",
    );
    assert.equal(
      (await chain.run(1, MarketKind.PodRemove, { podId, member: ACTORS[0]!.address })).errorCode,
      "NOT_ADMIN",
    );
    assert.ok((await chain.run(0, MarketKind.PodRemove, { podId, member: ACTORS[1]!.address })).success);
    assert.ok(!isPodMember(chain.market, podId, ACTORS[1]!.peerId));
    assert.equal((await chain.run(1, MarketKind.PodLeave, { podId })).errorCode, "NOT_MEMBER");
    assert.ok((await chain.run(0, MarketKind.PodLeave, { podId })).success);
    assert.equal(chain.market.pod(podId), null);
    assert.equal((await join(chain, 1, podId, multi)).errorCode, "POD_NOT_FOUND");
    assert.equal(chain.market.members(podId).length, 0);
  });

  it("refuses bad names and pods ids are distinct per creator transaction", async () => {
    const chain = await TestChain.open();
    const receipt = await chain.run(0, MarketKind.PodCreate, {
      name: "",
      capabilities: [],
      peerId: ACTORS[0]!.peerId,
      peerSignature: binding(0),
    });
    assert.equal(receipt.errorCode, "BAD_NAME");
    const a = await createPod(chain);
    const b = await createPod(chain);
    assert.ok(!bytesEqual(a, b));
    assert.equal(chain.market.pods().length, 2);
  });
});

// ---- membership transitions against a reference model ----

type Op =
  | { kind: "invite"; who: number; target: number; role: PodRole; ttlCommits: number }
  | { kind: "issue"; who: number; role: PodRole; multiUse: boolean; ttlCommits: number }
  | { kind: "joinPeer"; who: number }
  | { kind: "joinCode"; who: number; code: number }
  | { kind: "revoke"; who: number; code: number }
  | { kind: "leave"; who: number }
  | { kind: "remove"; who: number; target: number }
  | { kind: "setRole"; who: number; target: number; role: PodRole }
  | { kind: "wait"; commits: number };

const actor = fc.integer({ min: 0, max: 4 });
/** Admin operations come mostly from actor 0 (the creator), so they often succeed. */
const issuer = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: actor });
/** Joiners and invitees come mostly from actors 1 and 2, so invitations meet their joins. */
const joiner = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 2 }) },
  { weight: 1, arbitrary: actor },
);
const ttl = fc.integer({ min: 1, max: 30 });
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant("invite" as const),
      who: issuer,
      target: joiner,
      role: fc.constantFrom<PodRole>("member", "admin"),
      ttlCommits: ttl,
    }),
    fc.record({
      kind: fc.constant("issue" as const),
      who: issuer,
      role: fc.constantFrom<PodRole>("member", "admin"),
      multiUse: fc.boolean(),
      ttlCommits: ttl,
    }),
    fc.record({ kind: fc.constant("joinPeer" as const), who: joiner }),
    fc.record({ kind: fc.constant("joinCode" as const), who: joiner, code: fc.nat() }),
    fc.record({ kind: fc.constant("revoke" as const), who: issuer, code: fc.nat() }),
    fc.record({ kind: fc.constant("leave" as const), who: joiner }),
    fc.record({ kind: fc.constant("remove" as const), who: issuer, target: actor }),
    fc.record({
      kind: fc.constant("setRole" as const),
      who: issuer,
      target: actor,
      role: fc.constantFrom<PodRole>("member", "admin"),
    }),
    fc.record({ kind: fc.constant("wait" as const), commits: fc.integer({ min: 1, max: 10 }) }),
  ),
  { minLength: 1, maxLength: 30, size: "medium" },
);

interface ModelCode {
  code: InviteCode;
  uses: number;
  revoked: boolean;
}

/** What the chain should do, written as plainly as possible. */
class MembershipModel {
  exists = true;
  members = new Map<number, PodRole>([[0, "admin"]]);
  peerInvites = new Map<number, { role: PodRole; expiresAtMs: number }>();
  codes: ModelCode[] = [];

  admins(): number {
    return [...this.members.values()].filter((r) => r === "admin").length;
  }

  private removal(target: number): string {
    const role = this.members.get(target);
    if (role === undefined) return "NOT_MEMBER";
    if (this.members.size > 1 && role === "admin" && this.admins() === 1) return "LAST_ADMIN";
    this.members.delete(target);
    if (this.members.size === 0) this.exists = false;
    return "";
  }

  private add(who: number, role: PodRole): string {
    if (this.members.has(who)) return "ALREADY_MEMBER";
    this.members.set(who, role);
    return "";
  }

  /** The expected error code ("" for success) of `op` executed at commit time `nowMs`. */
  apply(op: Op, nowMs: number): string {
    if (!this.exists) return op.kind === "issue" || op.kind === "wait" ? "" : "POD_NOT_FOUND";
    const isAdmin = (who: number) => this.members.get(who) === "admin";
    switch (op.kind) {
      case "invite": {
        if (!isAdmin(op.who)) return "NOT_ADMIN";
        this.peerInvites.set(op.target, {
          role: op.role,
          expiresAtMs: nowMs + op.ttlCommits * COMMIT_INTERVAL_MS,
        });
        return "";
      }
      case "joinPeer": {
        const invite = this.peerInvites.get(op.who);
        if (invite === undefined) return "NOT_INVITED";
        if (nowMs > invite.expiresAtMs) return "INVITE_EXPIRED";
        const result = this.add(op.who, invite.role);
        if (result === "") this.peerInvites.delete(op.who);
        return result;
      }
      case "joinCode": {
        const entry = this.codes[op.code % this.codes.length]!;
        const issuer = ACTORS.findIndex((a) => bytesEqual(a.keys.publicKey, entry.code.issuerPublicKey));
        if (!isAdmin(issuer)) return "BAD_INVITE";
        if (nowMs > entry.code.expiresAtMs) return "INVITE_EXPIRED";
        if (entry.revoked) return "INVITE_REVOKED";
        if (!entry.code.multiUse && entry.uses > 0) return "INVITE_USED";
        const result = this.add(op.who, entry.code.role);
        if (result === "") entry.uses++;
        return result;
      }
      case "revoke": {
        if (!isAdmin(op.who)) return "NOT_ADMIN";
        this.codes[op.code % this.codes.length]!.revoked = true;
        return "";
      }
      case "leave":
        return this.removal(op.who);
      case "remove":
        if (!isAdmin(op.who)) return "NOT_ADMIN";
        return this.removal(op.target);
      case "setRole": {
        if (!isAdmin(op.who)) return "NOT_ADMIN";
        const current = this.members.get(op.target);
        if (current === undefined) return "NOT_MEMBER";
        if (current === op.role) return "";
        if (op.role === "member" && this.admins() === 1) return "LAST_ADMIN";
        this.members.set(op.target, op.role);
        return "";
      }
      default:
        return "";
    }
  }
}

describe("pod membership transitions", () => {
  it("match a reference model, and the on-chain counts and peer index stay consistent", async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(ops, async (random) => {
        // Every run starts by admitting a member each way, then goes random.
        const sequence: Op[] = [
          { kind: "invite", who: 0, target: 1, role: "member", ttlCommits: 30 },
          { kind: "joinPeer", who: 1 },
          { kind: "issue", who: 0, role: "member", multiUse: false, ttlCommits: 30 },
          { kind: "joinCode", who: 2, code: 0 },
          ...random,
        ];
        const chain = await TestChain.open();
        const podId = await createPod(chain);
        const model = new MembershipModel();
        for (const op of sequence) {
          const nowMs = chain.nextTimestampMs;
          if (op.kind === "wait") {
            await chain.advance(op.commits);
            continue;
          }
          if (op.kind === "issue") {
            // Codes are signed off chain by anyone; only an admin's are honoured.
            model.codes.push({
              code: code(chain, podId, op.who, op.role, op.multiUse, op.ttlCommits * COMMIT_INTERVAL_MS),
              uses: 0,
              revoked: false,
            });
            continue;
          }
          if ((op.kind === "joinCode" || op.kind === "revoke") && model.codes.length === 0) continue;
          const expected = model.apply(op, nowMs);
          let receipt: Receipt;
          switch (op.kind) {
            case "invite":
              receipt = await chain.run(op.who, MarketKind.PodInvite, {
                podId,
                peerIds: [ACTORS[op.target]!.peerId],
                role: op.role,
                expiresAtMs: nowMs + op.ttlCommits * COMMIT_INTERVAL_MS,
              });
              break;
            case "joinPeer":
              receipt = await join(chain, op.who, podId, null);
              break;
            case "joinCode":
              receipt = await join(chain, op.who, podId, model.codes[op.code % model.codes.length]!.code);
              break;
            case "revoke":
              receipt = await chain.run(op.who, MarketKind.PodRevokeInvite, {
                podId,
                inviteId: inviteId(model.codes[op.code % model.codes.length]!.code),
              });
              break;
            case "leave":
              receipt = await chain.run(op.who, MarketKind.PodLeave, { podId });
              break;
            case "remove":
              receipt = await chain.run(op.who, MarketKind.PodRemove, {
                podId,
                member: ACTORS[op.target]!.address,
              });
              break;
            case "setRole":
              receipt = await chain.run(op.who, MarketKind.PodSetRole, {
                podId,
                member: ACTORS[op.target]!.address,
                role: op.role,
              });
              break;
          }
          assert.equal(receipt.errorCode, expected, `${JSON.stringify(op)} at ${nowMs}`);
          const outcome = `${op.kind}:${expected || "ok"}`;
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);

          // State agrees with the model, and the records agree with each other.
          const members = chain.market.members(podId);
          const pod = chain.market.pod(podId);
          assert.equal(pod !== null, model.exists);
          assert.deepEqual(
            new Map(members.map((m) => [ACTORS.findIndex((a) => bytesEqual(a.address, m.address)), m.role])),
            model.members,
          );
          for (let who = 0; who < 5; who++) {
            assert.equal(isPodMember(chain.market, podId, ACTORS[who]!.peerId), model.members.has(who));
          }
          if (pod !== null) {
            assert.equal(pod.memberCount, members.length);
            assert.equal(pod.adminCount, members.filter((m) => m.role === "admin").length);
            assert.ok(pod.adminCount >= 1, "a pod with members keeps an admin");
          }
        }
        assert.equal(
          GENESIS_TIME_MS + chain.commitIndex * COMMIT_INTERVAL_MS,
          chain.nextTimestampMs - COMMIT_INTERVAL_MS,
        );
      }),
      { seed, numRuns: 40 },
    );
    // The generator reaches the interesting transitions, not only refusals.
    for (const outcome of ["joinPeer:ok", "joinCode:ok", "leave:ok", "setRole:ok"]) {
      assert.ok((outcomes.get(outcome) ?? 0) > 0, `no ${outcome} in ${JSON.stringify([...outcomes])}`);
    }
  });
});
