import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ChannelClient, ChannelStore } from "../channels/index.ts";
import { MemoryStore } from "../ledger/index.ts";
import { detectDevice } from "./device-detect.ts";
import { MarketError } from "./errors.ts";
import { parseInviteCode } from "./invite.ts";
import type { Offer } from "./offers.ts";
import { marketRpcMethods } from "./rpc-methods.ts";
import { MarketService } from "./service.ts";
import { ACTORS, peerIdentity, TestChain } from "./test-fixtures.ts";
import { LoopbackTransport } from "./transport.ts";

const services: MarketService[] = [];
after(async () => {
  for (const service of services) await service.close();
});

async function node(
  chain: TestChain,
  who: number,
  transport: LoopbackTransport,
  relay?: (id: string, text: string) => void,
) {
  const channelStore = new ChannelStore(new MemoryStore());
  const gossip: Offer[] = [];
  const service = await MarketService.open({
    account: chain.account(who),
    peer: peerIdentity(who),
    ledger: chain.ledger,
    store: new MemoryStore(),
    channelClient: new ChannelClient({
      keys: ACTORS[who]!.keys,
      chain: chain.channelChain(),
      store: channelStore,
      fee: 10n,
    }),
    transport,
    budget: 100_000n,
    publishOffer: (offer) => gossip.push(offer),
    ...(relay ? { onInferToken: (id: string, token: { text: string }) => relay(id, token.text) } : {}),
  });
  services.push(service);
  transport.register(ACTORS[who]!.peerId, service.handleInferenceStream);
  return { service, rpc: marketRpcMethods(service), gossip };
}

const call = (
  rpc: ReturnType<typeof marketRpcMethods>,
  method: string,
  params: Record<string, unknown> = {},
) => rpc[method]!.handler([params]) as Promise<Record<string, unknown>>;

describe("MarketService and its RPC methods", () => {
  it("runs the CLI's flow: create, invite, join, provide, list, key, infer", async () => {
    const chain = await TestChain.open();
    const transport = new LoopbackTransport(ACTORS[0]!.peerId);
    const relayed: string[] = [];
    const client = await node(chain, 0, transport, (id, text) => id === "req-1" && relayed.push(text));
    const provider = await node(chain, 1, transport);

    const created = await call(client.rpc, "hs_podCreate", {
      name: "research-team",
      capabilities: ["inference"],
    });
    const podId = created.podId as string;
    assert.match(podId, /^[0-9a-f]{64}$/);
    const invite = await call(client.rpc, "hs_podInvite", {
      pod: "research-team",
      role: "member",
      ttlMs: 2 * 86_400_000,
      multiUse: true,
    });
    const code = invite.code as string;
    assert.equal(parseInviteCode(code).multiUse, true);
    const joined = await call(provider.rpc, "hs_podJoin", { pod: code });
    assert.deepEqual([joined.podId, joined.role], [podId, "member"]);

    const started = await call(provider.rpc, "hs_providerStart", { price: "3", device: "cpu" });
    assert.equal(started.device, "cpu");
    assert.equal((started.model as { name: string }).name, "kjv-mlp");
    assert.equal(provider.gossip.length, 1, "an offer goes out at start");
    client.service.receiveOffer(provider.gossip[0]!);
    assert.equal((await call(provider.rpc, "hs_providerStatus")).running, true);

    const members = (await call(client.rpc, "hs_podMembers", { pod: podId })).members as {
      peerId: string;
      role: string;
      online: boolean;
      provider: unknown;
    }[];
    assert.deepEqual(
      members.map((m) => [m.peerId, m.role]).sort(),
      [
        [ACTORS[0]!.peerId, "admin"],
        [ACTORS[1]!.peerId, "member"],
      ].sort(),
    );
    assert.ok(members.every((m) => m.online));
    const models = (await call(client.rpc, "hs_podModels", { pod: podId })).models as {
      name: string;
      lowestPricePerToken: string;
    }[];
    assert.deepEqual(
      models.map((m) => [m.name, m.lowestPricePerToken]),
      [["kjv-mlp", "3"]],
    );

    const result = await call(client.rpc, "hs_infer", {
      pod: podId,
      prompt: "And God said, ",
      maxTokens: 24,
      temperature: 0,
      requestId: "req-1",
      latency: "low",
    });
    assert.equal(result.tokens, 24);
    assert.equal(result.cost, "72");
    assert.equal(relayed.join(""), result.text);
    const status = await call(client.rpc, "hs_podStatus", { pod: "research-team" });
    assert.equal(status.members, 2);
    assert.equal(status.membersOnline, 2);
    assert.equal(status.spend, "72");
    assert.equal(status.totalVramGb, 0);

    const key = await call(client.rpc, "hs_podKeysCreate", {
      pod: podId,
      budget: "500",
      ratePerMinute: 10,
      models: ["kjv-mlp"],
    });
    assert.match(key.key as string, /^hs-/);
    const listed = (await call(client.rpc, "hs_podKeysList", { pod: podId })).keys as {
      id: string;
      budget: string;
      remaining: string;
    }[];
    assert.deepEqual(
      listed.map((k) => [k.id, k.budget, k.remaining]),
      [[key.id, "500", "500"]],
    );
    assert.equal((await call(client.rpc, "hs_podKeysRevoke", { id: key.id })).revoked, true);
    assert.ok(client.service.openAiBackendFor(client.service.pod(podId).id) !== null);

    await assert.rejects(
      call(client.rpc, "hs_infer", { pod: podId, prompt: "x", maxTokens: 5, minVramGb: 8 }),
      (e: unknown) => e instanceof MarketError && e.code === "NO_PROVIDER",
    );
    await assert.rejects(
      call(client.rpc, "hs_podStatus", { pod: "no-such-pod" }),
      (e: unknown) => e instanceof MarketError && e.code === "POD_NOT_FOUND",
    );
    await assert.rejects(
      call(client.rpc, "hs_podKeysCreate", { pod: podId, budget: "-1" }),
      (e: unknown) => e instanceof MarketError && e.code === "BAD_REQUEST",
    );
    await assert.rejects(client.rpc.hs_podStatus!.handler(["x", "y"]), MarketError);
    assert.ok(client.rpc.hs_infer!.auth && !client.rpc.hs_podStatus!.auth);
  });

  it("refuses inference streams when the node is not a provider", async () => {
    const chain = await TestChain.open();
    const transport = new LoopbackTransport(ACTORS[0]!.peerId);
    await node(chain, 2, transport);
    const stream = await transport.open(ACTORS[2]!.peerId);
    const frames: Uint8Array[] = [];
    for await (const frame of stream.frames) frames.push(frame);
    assert.equal(frames.length, 1);
  });
});

describe("device detection", () => {
  const probes = (cuda: boolean, vramMib: number | null) => ({ cuda: () => cuda, vramMib: () => vramMib });
  it("uses cuda and nvidia-smi's memory when present, the declared memory first (on cpu too), and cpu otherwise", () => {
    assert.deepEqual(detectDevice("cpu", undefined, probes(true, 8192)), {
      device: "cpu",
      vramMib: 0,
      vramSource: "none",
    });
    assert.deepEqual(detectDevice("auto", undefined, probes(true, 24_576)), {
      device: "cuda",
      vramMib: 24_576,
      vramSource: "nvidia-smi",
    });
    assert.deepEqual(detectDevice("cuda", 16, probes(true, 24_576)), {
      device: "cuda",
      vramMib: 16_384,
      vramSource: "declared",
    });
    assert.deepEqual(detectDevice("auto", undefined, probes(false, null)), {
      device: "cpu",
      vramMib: 0,
      vramSource: "none",
    });
    assert.deepEqual(detectDevice("cpu", 8, probes(false, null)), {
      device: "cpu",
      vramMib: 8_192,
      vramSource: "declared",
    });
    assert.throws(() => detectDevice("cuda", undefined, probes(false, null)), MarketError);
    assert.throws(() => detectDevice("cuda", undefined, probes(true, null)), MarketError);
    assert.throws(() => detectDevice("cuda", -1, probes(true, 1)), MarketError);
  });
});
