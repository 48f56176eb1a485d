/**
 * Metered inference through the market against bare onnxruntime, on the
 * shipped model, in one process, in the same run:
 * - tokens/s of one stream through the whole metered path (InferenceRouter
 *   -> loopback stream -> ProviderService generating with compute/, one
 *   session.run per token, and metering every token against its
 *   PayeeChannel; the tokens go out in `tokens` frames of up to
 *   TOKENS_PER_FRAME_MAX, the first at once and the others within
 *   TOKEN_FLUSH_INTERVAL_MS; the client pays with PayerChannel vouchers
 *   every VOUCHER_INTERVAL_TOKENS_DEFAULT tokens), against tokens/s of a
 *   bare session.run loop (run, sample, append; one run per token, same
 *   thread count) on the same model: the overhead target is under 10%;
 * - time to first token of a request on a warm channel (stream open,
 *   request, acceptance, first token) against one bare session.run plus
 *   sampling.
 * The chain under the channels is the real ledger on the in-memory store;
 * the channel and the pod exist before timing starts. Raw, metered and
 * compute-only rounds alternate, each metered round beside a raw one, and
 * the metered/raw ratio reported is the median of the per-round ratios (the
 * host is shared and its load moves between rounds); the rates are the
 * median rounds.
 */

import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { ChannelClient, ChannelStore, readChannelRecord } from "../channels/index.ts";
import {
  CONTEXT_INPUT,
  createSession,
  encodeText,
  inspectModel,
  LOGITS_OUTPUT,
  loadModel,
  Prng,
  SHIPPED_MODEL_PATH,
  sampleToken,
} from "../compute/index.ts";
import { median } from "../consensus/index.ts";
import { MemoryStore } from "../ledger/index.ts";
import {
  CREDIT_WINDOW_TOKENS_DEFAULT,
  encodeMarketPayload,
  generatorOf,
  InferenceRouter,
  LatencyBook,
  LoopbackTransport,
  MarketKind,
  PayeeChannels,
  PayerChannels,
  Pod,
  PROVIDER_BOND_MIN,
  ProviderService,
  sdkChannelSource,
  sdkPayeeSource,
  TOKEN_FLUSH_INTERVAL_MS,
  TOKENS_PER_FRAME_MAX,
  VOUCHER_INTERVAL_TOKENS_DEFAULT,
} from "../market/index.ts";
import { ACTORS, binding, CHAIN_ID, FEE, peerIdentity, TestChain } from "../market/test-fixtures.ts";

/** Tokens per round of each kind: about half a second of work here, enough for a steady rate. */
const TOKENS = 8_000;
/** Tokens per metered request (the generation bound is 4,096). */
const TOKENS_PER_REQUEST = 4_000;
/**
 * Rounds of raw, metered and compute-only generation. The host is shared, so
 * its load changes from second to second: each metered round runs right
 * beside a raw round (raw first in even rounds, metered first in odd ones),
 * and the overhead is the median of those per-round ratios.
 */
const ROUNDS = 7;
const FIRST_TOKEN_TRIALS = 40;
const PROMPT = "And the LORD said unto Moses, ";
const PRICE = 2n;

/** Tokens per wall-clock second, and this process's CPU time per token (steadier on a shared host). */
interface Rate {
  readonly tokensPerSecond: number;
  readonly cpuMicrosPerToken: number;
}

function startTimer(): { rate(tokens: number): Rate } {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return {
    rate(tokens) {
      const used = process.cpuUsage(cpu);
      return {
        tokensPerSecond: tokens / ((performance.now() - wall) / 1000),
        cpuMicrosPerToken: (used.user + used.system) / tokens,
      };
    },
  };
}

export async function bench(): Promise<void> {
  const inspected = inspectModel(SHIPPED_MODEL_PATH);
  const { contextLength } = inspected.architecture;

  // ---- bare session.run -------------------------------------------------------
  const { session } = await createSession(new Uint8Array(readFileSync(SHIPPED_MODEL_PATH)), { threads: 1 });
  const run = async (context: Int32Array): Promise<Float32Array> => {
    const result = await session.run({
      [CONTEXT_INPUT]: new ort.Tensor("int32", context, [1, contextLength]),
    });
    return result[LOGITS_OUTPUT]!.data as Float32Array;
  };
  const contextOf = (tokens: number[]): Int32Array => {
    const context = new Int32Array(contextLength).fill(10);
    const tail = tokens.slice(-contextLength);
    context.set(tail, contextLength - tail.length);
    return context;
  };
  const sampling = { temperature: 0.8, topK: 0 };
  const rawRound = async (): Promise<Rate> => {
    const prng = new Prng(1);
    const tokens = Array.from(encodeText(PROMPT));
    const timer = startTimer();
    for (let i = 0; i < TOKENS; i++) tokens.push(sampleToken(await run(contextOf(tokens)), sampling, prng));
    return timer.rate(TOKENS);
  };

  // ---- the metered path ----------------------------------------------------------
  // The real ledger with the channels and market modules, each transaction in a commit of its own.
  const chain = await TestChain.open();
  const [client, provider] = [ACTORS[0]!, ACTORS[1]!];
  const model = await loadModel(SHIPPED_MODEL_PATH, { threads: 1 });
  const generator = generatorOf(model);
  const transport = new LoopbackTransport(client.peerId);
  const channelChain = chain.channelChain();
  const channelClient = new ChannelClient({
    keys: client.keys,
    chain: channelChain,
    store: new ChannelStore(new MemoryStore()),
    fee: FEE,
  });
  const payers = await PayerChannels.open({ source: sdkChannelSource(channelClient), budget: 10n ** 9n });
  const latency = new LatencyBook();
  const state = chain.market;
  const pod = await Pod.create(
    { name: "bench", capabilities: ["inference"] },
    {
      account: chain.account(0),
      peer: peerIdentity(0),
      state,
      routing: { transport, channels: payers, latency },
    },
  );
  const providerAccount = chain.account(1);
  await Pod.join(pod.createInvite({}), { account: providerAccount, peer: peerIdentity(1), state });
  const registered = await providerAccount.submit(
    MarketKind.ProviderRegister,
    encodeMarketPayload(MarketKind.ProviderRegister, {
      peerId: provider.peerId,
      peerSignature: binding(1),
      models: [generator.model],
      device: "cpu",
      vramMib: 0,
      pricePerToken: PRICE,
      bond: PROVIDER_BOND_MIN,
    }),
  );
  if (!registered.success) throw new Error(`provider registration failed: ${registered.errorMessage}`);
  const service = new ProviderService({
    self: { address: provider.address, peerId: provider.peerId },
    state,
    generators: [generator],
    pricePerToken: PRICE,
    channels: new PayeeChannels({
      chainId: CHAIN_ID,
      self: provider.address,
      source: sdkPayeeSource(
        new ChannelClient({
          keys: provider.keys,
          chain: channelChain,
          store: new ChannelStore(new MemoryStore()),
          fee: FEE,
        }),
      ),
      lookup: (id) => readChannelRecord(chain.ledger, id),
    }),
  });
  transport.register(provider.peerId, service.handleStream);
  const router = new InferenceRouter(pod);
  const request = { prompt: PROMPT, temperature: 0.8, seed: 1 };

  const generateRound = async (): Promise<Rate> => {
    let n = 0;
    const timer = startTimer();
    for (let done = 0; done < TOKENS; done += TOKENS_PER_REQUEST) {
      for await (const _ of model.generate({
        ...request,
        maxTokens: Math.min(TOKENS_PER_REQUEST, TOKENS - done),
      }))
        n++;
    }
    return timer.rate(n);
  };

  const meteredRound = async (): Promise<Rate & { cost: bigint }> => {
    let cost = 0n;
    const timer = startTimer();
    for (let done = 0; done < TOKENS; done += TOKENS_PER_REQUEST) {
      const result = await router.complete({
        ...request,
        maxTokens: Math.min(TOKENS_PER_REQUEST, TOKENS - done),
      });
      cost += result.cost;
    }
    return { ...timer.rate(TOKENS), cost };
  };

  try {
    // Warm-up: sessions, JIT, and the channel (opened on chain here, before any timing).
    for (let i = 0; i < 50; i++) await run(contextOf([65]));
    await router.complete({ ...request, maxTokens: 200 });
    const raw: Rate[] = [];
    const generated: Rate[] = [];
    const metered: Rate[] = [];
    let cost = 0n;
    for (let round = 0; round < ROUNDS; round++) {
      const measureMetered = async () => {
        const m = await meteredRound();
        metered.push(m);
        cost = m.cost;
      };
      if (round % 2 === 0) {
        raw.push(await rawRound());
        await measureMetered();
        generated.push(await generateRound());
      } else {
        generated.push(await generateRound());
        await measureMetered();
        raw.push(await rawRound());
      }
    }
    const rawRate = median(raw.map((r) => r.tokensPerSecond));
    const meteredRate = median(metered.map((r) => r.tokensPerSecond));
    const generateRate = median(generated.map((r) => r.tokensPerSecond));
    const rawCpu = median(raw.map((r) => r.cpuMicrosPerToken));
    const meteredCpu = median(metered.map((r) => r.cpuMicrosPerToken));
    const generateCpu = median(generated.map((r) => r.cpuMicrosPerToken));
    const roundRatios = metered.map((m, i) => m.tokensPerSecond / raw[i]!.tokensPerSecond);
    const ratio = median(roundRatios);
    const generateRatio = median(generated.map((g, i) => g.tokensPerSecond / raw[i]!.tokensPerSecond));
    const overhead = 1 - ratio;

    // Time to first token: a whole metered request (stream open, accept, first token) on the warm channel.
    const firstMetered: number[] = [];
    const firstRaw: number[] = [];
    for (let i = 0; i < FIRST_TOKEN_TRIALS; i++) {
      const t0 = performance.now();
      let first = 0;
      await router.complete({
        ...request,
        maxTokens: 1,
        seed: i,
        onToken: () => (first ||= performance.now() - t0),
      });
      firstMetered.push(first);
      const t1 = performance.now();
      sampleToken(await run(contextOf(Array.from(encodeText(PROMPT)))), sampling, new Prng(i));
      firstRaw.push(performance.now() - t1);
    }
    const ttft = median(firstMetered);
    const ttftRaw = median(firstRaw);
    process.stdout.write(
      [
        `market model = ${inspected.path.split("/").slice(-3).join("/")} (sha256 ${inspected.sha256.slice(0, 16)}..., 1 thread, cpu), price ${PRICE}/token, voucher every ${VOUCHER_INTERVAL_TOKENS_DEFAULT} tokens, credit window ${CREDIT_WINDOW_TOKENS_DEFAULT} tokens, up to ${TOKENS_PER_FRAME_MAX} tokens per frame (flushed within ${TOKEN_FLUSH_INTERVAL_MS} ms)`,
        `market metered tokens/s (1 stream, median of ${ROUNDS} rounds of ${TOKENS} tokens) = ${meteredRate.toFixed(0)} (${ratio.toFixed(3)} x raw session.run bound = ${rawRate.toFixed(0)} tokens/s, the ratio the median of the rounds' metered/raw; overhead ${(overhead * 100).toFixed(1)}%, target < 10%)`,
        `market metered cost of ${TOKENS} tokens = ${cost} (= tokens x price: ${cost === BigInt(TOKENS) * PRICE})`,
        `market time to first token (warm channel) = ${ttft.toFixed(3)} ms (${(ttft / ttftRaw).toFixed(2)} x min bound = ${ttftRaw.toFixed(3)} ms, one bare session.run and sample)`,
        `market unmetered compute generate tokens/s = ${generateRate.toFixed(0)} (${generateRatio.toFixed(3)} x raw, median of the rounds' ratios; metering adds ${((1 - ratio / generateRatio) * 100).toFixed(1)}% on top of compute's own generation loop)`,
        `market metered CPU per token = ${meteredCpu.toFixed(1)} us (${(meteredCpu / rawCpu).toFixed(3)} x raw session.run bound = ${rawCpu.toFixed(1)} us; compute generate ${generateCpu.toFixed(1)} us)`,
        `market rounds tokens/s: raw ${raw.map((r) => r.tokensPerSecond.toFixed(0)).join(", ")}; generate ${generated.map((r) => r.tokensPerSecond.toFixed(0)).join(", ")}; metered ${metered.map((r) => r.tokensPerSecond.toFixed(0)).join(", ")}; metered/raw ${roundRatios.map((r) => r.toFixed(3)).join(", ")} (ratio of the medians ${(meteredRate / rawRate).toFixed(3)})`,
        "",
      ].join("\n"),
    );
  } finally {
    await session.release();
    await model.close();
  }
}
