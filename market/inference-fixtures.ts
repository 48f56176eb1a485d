/**
 * A whole in-process market for the router, provider and API tests: the
 * real ledger (channels and market modules), a pod whose members are a
 * client and some providers, each provider serving through the real
 * ProviderService with its own channel store, the client routing through a
 * real PayerChannels pool over a loopback transport. Not exported from
 * index.ts.
 */
import {
  ChannelClient,
  ChannelStore,
  type PayeeChannel,
  PayeeChannel as PayeeChannelClass,
  readChannelRecord,
} from "../channels/index.ts";
import type { LanguageModel } from "../compute/index.ts";
import { MemoryStore } from "../ledger/index.ts";
import { PROVIDER_BOND_MIN } from "./constants.ts";
import { LatencyBook } from "./latency.ts";
import type { DeviceKind } from "./model-ref.ts";
import { PayeeChannels, sdkPayeeSource } from "./payee-channels.ts";
import { PayerChannels, sdkChannelSource } from "./payer-channels.ts";
import { MarketKind } from "./payloads.ts";
import { type MarketContext, Pod } from "./pod.ts";
import {
  generatorOf,
  ProviderService,
  type ProviderServiceOptions,
  type TokenGenerator,
} from "./provider.ts";
import { InferenceRouter, type RouterOptions } from "./router.ts";
import { SpendBook } from "./spend.ts";
import { ACTORS, binding, CHAIN_ID, peerIdentity, TestChain } from "./test-fixtures.ts";
import { LoopbackTransport } from "./transport.ts";

export interface ProviderSetup {
  readonly who: number;
  readonly pricePerToken: bigint;
  readonly device?: DeviceKind;
  readonly vramMib?: number;
  /** Wraps the real model's generator (to make a provider crash or stall). */
  readonly wrap?: (generator: TokenGenerator) => TokenGenerator;
  readonly service?: Partial<ProviderServiceOptions>;
}

export interface HarnessOptions {
  readonly budget?: bigint;
  readonly router?: RouterOptions;
}

export class InferenceHarness {
  readonly services = new Map<string, ProviderService>();
  readonly payeeStores = new Map<string, ChannelStore>();
  private constructor(
    readonly chain: TestChain,
    readonly pod: Pod,
    readonly transport: LoopbackTransport,
    readonly payers: PayerChannels,
    readonly latency: LatencyBook,
    readonly spend: SpendBook,
    readonly router: InferenceRouter,
  ) {}

  static async create(
    model: LanguageModel,
    providers: readonly ProviderSetup[],
    options: HarnessOptions = {},
  ): Promise<InferenceHarness> {
    const chain = await TestChain.open();
    const transport = new LoopbackTransport(ACTORS[0]!.peerId);
    const latency = new LatencyBook();
    const channelClient = new ChannelClient({
      keys: ACTORS[0]!.keys,
      chain: chain.channelChain(),
      store: new ChannelStore(new MemoryStore()),
      fee: 10n,
    });
    const payers = await PayerChannels.open({
      source: sdkChannelSource(channelClient),
      budget: options.budget ?? 1_000_000n,
    });
    const spend = await SpendBook.open(new MemoryStore());
    const context = (who: number): MarketContext => ({
      account: chain.account(who),
      peer: peerIdentity(who),
      state: chain.market,
      routing: who === 0 ? { transport, channels: payers, latency } : null,
      spend: who === 0 ? spend : null,
    });
    const pod = await Pod.create({ name: "research-team", capabilities: ["inference"] }, context(0));
    const code = pod.createInvite({ multiUse: true });
    const lookup = (channelId: Uint8Array) => readChannelRecord(chain.ledger, channelId);
    const base = generatorOf(model);
    const harness = new InferenceHarness(
      chain,
      pod,
      transport,
      payers,
      latency,
      spend,
      new InferenceRouter(pod, options.router),
    );
    for (const setup of providers) {
      const actor = ACTORS[setup.who]!;
      await Pod.join(code, context(setup.who));
      const device = setup.device ?? "cpu";
      const receipt = await chain.run(setup.who, MarketKind.ProviderRegister, {
        peerId: actor.peerId,
        peerSignature: binding(setup.who),
        models: [base.model],
        device,
        vramMib: device === "cpu" ? 0 : (setup.vramMib ?? 8 * 1024),
        pricePerToken: setup.pricePerToken,
        bond: PROVIDER_BOND_MIN,
      });
      if (!receipt.success)
        throw new Error(`provider ${setup.who} did not register: ${receipt.errorMessage}`);
      const store = new ChannelStore(new MemoryStore());
      const payee = new ChannelClient({ keys: actor.keys, chain: chain.channelChain(), store, fee: 10n });
      const service = new ProviderService({
        self: { address: actor.address, peerId: actor.peerId },
        state: chain.market,
        generators: [setup.wrap ? setup.wrap(base) : base],
        pricePerToken: setup.pricePerToken,
        channels: new PayeeChannels({
          chainId: CHAIN_ID,
          self: actor.address,
          source: sdkPayeeSource(payee),
          lookup,
        }),
        ...setup.service,
      });
      harness.services.set(actor.peerId, service);
      harness.payeeStores.set(actor.peerId, store);
      transport.register(actor.peerId, service.handleStream);
    }
    return harness;
  }

  /** What provider `who` holds as paid, over all its channels. */
  async paidTo(who: number): Promise<bigint> {
    const store = this.payeeStores.get(ACTORS[who]!.peerId)!;
    let total = 0n;
    for (const record of await store.listPayees()) {
      const channel: PayeeChannel | null = await PayeeChannelClass.load(store, record.channelId);
      total += channel?.paid ?? 0n;
    }
    return total;
  }
}

/** A generator that yields `after` tokens and then fails as `how` says. */
export function faulty(
  generator: TokenGenerator,
  after: number,
  how: "crash" | "stall",
  onFault: () => void = () => {},
): TokenGenerator {
  return {
    model: generator.model,
    async *generate(request) {
      let produced = 0;
      for await (const token of generator.generate(request)) {
        if (produced === after) {
          onFault();
          if (how === "stall") await new Promise<never>(() => {});
          throw new Error("provider crashed");
        }
        produced++;
        yield token;
      }
    },
  };
}
