/**
 * The provider, pod and infer commands end to end: two in-process market
 * nodes (the real ledger, real ProviderService with the shipped model, real
 * channels), each behind a real JSON-RPC server with the market's methods
 * and the OpenAI routes mounted, and the commands run against them as a
 * user would. (The market test fixtures are imported from their files:
 * they are test code, not API.)
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Command } from "commander";
import { ChannelClient, ChannelStore } from "../../channels/index.ts";
import { MemoryStore } from "../../ledger/index.ts";
import { INFER_TOKEN_TOPIC, MarketService, marketRpcMethods, parseInviteCode } from "../../market/index.ts";
import { ACTORS, peerIdentity, TestChain } from "../../market/test-fixtures.ts";
import { LoopbackTransport } from "../../market/transport.ts";
import { createOpenAiHandler } from "../openai.ts";
import { RpcServer } from "../rpc/server.ts";
import { register as registerInfer } from "./infer.ts";
import { parseDurationMs, register as registerPod } from "./pod.ts";
import { register as registerProvider } from "./provider.ts";

const TOKEN = "test-token";
const servers: RpcServer[] = [];
const markets: MarketService[] = [];
const urls: string[] = [];
let relayed = 0;

before(async () => {
  process.env.HYPERSPACE_RPC_TOKEN = TOKEN;
  const chain = await TestChain.open();
  const transport = new LoopbackTransport(ACTORS[0]!.peerId);
  for (const who of [0, 1]) {
    const channelStore = new ChannelStore(new MemoryStore());
    let server: RpcServer | null = null;
    const market = await MarketService.open({
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
      budget: 1_000_000n,
      publishOffer: (offer) => {
        for (const other of markets) if (other !== markets[who]) other.receiveOffer(offer);
      },
      onInferToken: (requestId, token) => {
        relayed++;
        server?.publish(INFER_TOKEN_TOPIC, {
          requestId,
          index: token.index,
          text: token.text,
          peerId: token.peerId,
        });
      },
    });
    markets.push(market);
    transport.register(ACTORS[who]!.peerId, market.handleInferenceStream);
    const openai = createOpenAiHandler({
      keys: market.keys,
      backendFor: (podId) => market.openAiBackendFor(podId),
    });
    server = new RpcServer({
      host: "127.0.0.1",
      port: 0,
      methods: marketRpcMethods(market),
      authToken: TOKEN,
      topics: [INFER_TOKEN_TOPIC],
      routes: openai,
    });
    urls.push(await server.listen());
    servers.push(server);
  }
});

after(async () => {
  for (const server of servers) await server.close();
  for (const market of markets) await market.close();
});

/** Runs one command line against node `who`; returns stdout and the exit code. */
async function run(who: number, ...args: string[]): Promise<{ stdout: string; exitCode: number }> {
  const program = new Command("hyperspace").exitOverride();
  registerProvider(program);
  registerPod(program);
  registerInfer(program);
  let stdout = "";
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== "string") return write(chunk, ...rest);
    stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === "string" ? true : writeErr(chunk, ...rest)) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await program.parseAsync([...args, "--rpc", urls[who]!], { from: "user" });
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stdout, exitCode };
}

const json = async (who: number, ...args: string[]) => JSON.parse((await run(who, ...args, "--json")).stdout);

it("create a pod, invite with a code, join, provide, and buy inference from the command line", async () => {
  const pod = await json(0, "pod", "create", "research-team", "--capabilities", "inference,embedding");
  assert.deepEqual(pod.capabilities, ["inference", "embedding"]);
  const invite = await json(0, "pod", "invite", "research-team", "--ttl", "2d", "--multi-use");
  assert.equal(parseInviteCode(invite.code).multiUse, true);
  const plain = (await run(0, "pod", "invite", pod.podId)).stdout.trim();
  assert.equal(parseInviteCode(plain).multiUse, false);

  const joined = await json(1, "pod", "join", invite.code);
  assert.equal(joined.podId, pod.podId);
  const started = await json(1, "provider", "start", "--price", "2", "--device", "cpu");
  assert.equal(started.model.name, "kjv-mlp");
  assert.equal((await json(1, "provider", "status")).running, true);

  const members = await json(0, "pod", "members", pod.podId);
  assert.equal(members.members.length, 2);
  const human = (await run(0, "pod", "members", pod.podId)).stdout;
  assert.match(human, /provider cpu, 2\/token, kjv-mlp/);
  const models = await json(0, "pod", "models", pod.podId);
  assert.deepEqual(
    models.models.map((m: { name: string }) => m.name),
    ["kjv-mlp"],
  );

  // Streaming through the WebSocket: the tokens, then the cost.
  const streamed = await run(
    0,
    "infer",
    "--pod",
    pod.podId,
    "--prompt",
    "And God said, ",
    "--max-tokens",
    "20",
    "--temperature",
    "0",
    "--latency",
    "low",
  );
  const lines = streamed.stdout.trimEnd().split("\n");
  assert.match(lines.at(-1)!, /^cost 40 for 20 tokens of kjv-mlp/);
  assert.equal(relayed, 20, "the tokens came over the WebSocket as they were produced");
  const result = await json(
    0,
    "infer",
    "--pod",
    pod.podId,
    "--prompt",
    "And God said, ",
    "--max-tokens",
    "20",
    "--temperature",
    "0",
  );
  assert.equal(result.tokens, 20);
  assert.equal(result.cost, "40");
  assert.equal(streamed.stdout.slice(0, result.text.length), result.text);

  const status = await json(0, "pod", "status", "research-team");
  assert.equal(status.membersOnline, 2);
  assert.equal(status.spend, "80");
  assert.match((await run(0, "pod", "status", pod.podId)).stdout, /spend\s+80/);

  // An API key, then an OpenAI-style request with it on the same server.
  const key = await json(
    0,
    "pod",
    "keys",
    "create",
    "--pod",
    pod.podId,
    "--budget",
    "100",
    "--rate",
    "5",
    "--models",
    "kjv-mlp",
  );
  const response = await fetch(`${urls[0]}/v1/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "kjv-mlp", prompt: "Moses", max_tokens: 10 }),
  });
  assert.equal(response.status, 200);
  const keys = await json(0, "pod", "keys", "list");
  assert.equal(keys.keys[0].usage.cost, "20");
  assert.equal(keys.keys[0].remaining, "80");
  assert.match((await run(0, "pod", "keys", "list")).stdout, /used 1 requests, 10 tokens, cost 20/);
  assert.equal((await json(0, "pod", "keys", "revoke", key.id.slice(0, 10))).revoked, true);
});

it("refuse bad input with a usage error before calling the node", async () => {
  await assert.rejects(run(0, "pod", "invite", "x", "--ttl", "soon"), /not a duration/);
  await assert.rejects(run(0, "pod", "keys", "create", "--pod", "x", "--budget", "-5"), /not a whole amount/);
  await assert.rejects(
    run(0, "infer", "--pod", "x", "--prompt", "y", "--latency", "fast"),
    /--latency must be/,
  );
  await assert.rejects(run(1, "provider", "start", "--price", "1", "--device", "tpu"), /--device must be/);
  assert.equal(parseDurationMs("2d", "t"), 172_800_000);
  assert.equal(parseDurationMs("90m", "t"), 5_400_000);
  assert.equal(parseDurationMs("1500", "t"), 1500);
});
