import { type ChannelClient, type ChannelRecord, readChannelRecord } from "../channels/index.ts";
import { type Device, type LanguageModel, loadModel, SHIPPED_MODEL_PATH } from "../compute/index.ts";
import type { Store } from "../ledger/index.ts";
import { AMOUNT_MAX, formatAddress, toHex } from "../spec/index.ts";
import { type ApiKeyEntry, ApiKeyStore } from "./api-keys.ts";
import { type CompletionBackend, podBackend } from "./completion-backend.ts";
import { CREDIT_WINDOW_TOKENS_DEFAULT, OFFER_INTERVAL_MS, PROVIDER_BOND_MIN } from "./constants.ts";
import { detectDevice } from "./device-detect.ts";
import { MarketError } from "./errors.ts";
import { encodeProviderFrame } from "./frames.ts";
import type { MarketAccount, PeerIdentity } from "./interface.ts";
import { LatencyBook, type LatencyProfile } from "./latency.ts";
import type { PodRole } from "./model-ref.ts";
import { type Offer, OfferBook, signOffer } from "./offers.ts";
import { PayeeChannels, sdkPayeeSource } from "./payee-channels.ts";
import { PayerChannels, sdkChannelSource } from "./payer-channels.ts";
import { encodeMarketPayload, MarketKind } from "./payloads.ts";
import { peerBindingDigest } from "./peer-id.ts";
import { type MarketContext, Pod, type PodModel, type PodStatus, resolvePod } from "./pod.ts";
import { generatorOf, ProviderService } from "./provider.ts";
import type { LatencyPreference } from "./ranking.ts";
import { InferenceRouter, type RoutedToken } from "./router.ts";
import { SpendBook } from "./spend.ts";
import { isActiveProvider, MarketState, type MarketStateSource } from "./state.ts";
import type { FrameStream, InferenceTransport } from "./transport.ts";

/**
 * The market on one node: the composition of everything in market/ that a
 * running node hosts, built from what the node owns (its account, peer
 * identity, ledger, store, channels client and transport). The node calls:
 *
 *   - `handleInferenceStream` for each inbound INFERENCE_PROTOCOL stream;
 *   - `receiveOffer` for each OfferTopic gossip message (it throws the
 *     ValidationError that decides ACCEPT/IGNORE/REJECT);
 *   - `openAiBackendFor` from the OpenAI-compatible HTTP handler;
 *   - `marketRpcMethods(service)` for the JSON-RPC methods the CLI uses;
 *   - `close` on shutdown.
 */
export interface MarketServiceOptions {
  readonly account: MarketAccount;
  readonly peer: PeerIdentity;
  /** The node's ledger (committed state; `Ledger` fits). */
  readonly ledger: MarketStateSource;
  /** The node's store (API keys and spend, in Bucket.marketLocal). */
  readonly store: Store;
  /** The node's channels SDK client: the pool opens and pays channels through it, and the provider keeps its payee records in it. */
  readonly channelClient: ChannelClient;
  /** Called once per channel the provider starts serving on: the node's watcher should follow it. */
  readonly onPayeeChannel?: (channelId: Uint8Array) => void;
  readonly transport: InferenceTransport;
  /** Most value locked in channel deposits for inference at once. */
  readonly budget: bigint;
  /** Gossips an offer on OfferTopic. */
  readonly publishOffer?: (offer: Offer) => unknown;
  /** Whether a peer is connected now. */
  readonly isOnline?: (peerId: string) => boolean;
  /** Relays each token of an `infer` request that named a request id (the node: WebSocket topic INFER_TOKEN_TOPIC). */
  readonly onInferToken?: (requestId: string, token: RoutedToken) => void;
  readonly clock?: () => number;
}

/** The WebSocket topic the node relays `hs_infer` tokens on: { requestId, index, text, peerId }. */
export const INFER_TOKEN_TOPIC = "market.infer";

export interface ProviderStartOptions {
  readonly modelPath?: string;
  readonly pricePerToken: bigint;
  readonly device?: Device;
  readonly vramGb?: number;
  readonly threads?: number;
  /** Pace each request to at most this many tokens per second (none when absent). */
  readonly maxTokensPerSecond?: number;
  /** Tokens served beyond what is paid (default CREDIT_WINDOW_TOKENS_DEFAULT): the exposure to one request. */
  readonly creditWindowTokens?: number;
  /** Bond to add (default: what reaches PROVIDER_BOND_MIN). */
  readonly bond?: bigint;
}

interface RunningProvider {
  readonly model: LanguageModel;
  readonly service: ProviderService;
  readonly timer: ReturnType<typeof setInterval>;
  readonly info: Record<string, unknown>;
}

export class MarketService {
  readonly state: MarketState;
  readonly offers: OfferBook;
  readonly latency: LatencyBook;
  private readonly routers = new Map<string, InferenceRouter>();
  private provider: RunningProvider | null = null;
  private offerSequence = 0;
  private readonly clock: () => number;

  private constructor(
    private readonly options: MarketServiceOptions,
    readonly keys: ApiKeyStore,
    readonly spend: SpendBook,
    readonly payers: PayerChannels,
  ) {
    this.clock = options.clock ?? Date.now;
    this.state = new MarketState(options.ledger);
    this.offers = new OfferBook(this.state, this.clock);
    this.latency = new LatencyBook(this.clock);
  }

  static async open(options: MarketServiceOptions): Promise<MarketService> {
    const keys = await ApiKeyStore.open(options.store, options.clock);
    const spend = await SpendBook.open(options.store);
    const payers = await PayerChannels.open({
      source: sdkChannelSource(options.channelClient),
      budget: options.budget,
    });
    return new MarketService(options, keys, spend, payers);
  }

  get account(): MarketAccount {
    return this.options.account;
  }

  /** The chain's record of a channel (for the provider's payee checks). */
  readonly channelLookup = (channelId: Uint8Array): ChannelRecord | null =>
    readChannelRecord(this.options.ledger, channelId);

  get context(): MarketContext {
    return {
      account: this.options.account,
      peer: this.options.peer,
      state: this.state,
      offers: this.offers,
      routing: {
        transport: this.options.transport,
        channels: this.payers,
        latency: this.latency,
        onSpend: (podId, amount) => this.spend.add(podId, amount),
      },
      spend: this.spend,
      ...(this.options.isOnline ? { isOnline: this.options.isOnline } : {}),
    };
  }

  /** A pod by hex id or (among this node's pods) by name. */
  pod(text: string): Pod {
    return Pod.open(resolvePod(this.state, text, this.options.account.address).podId, this.context);
  }

  router(pod: Pod): InferenceRouter {
    const key = toHex(pod.id);
    let router = this.routers.get(key);
    if (router === undefined) {
      router = new InferenceRouter(pod);
      this.routers.set(key, router);
    }
    return router;
  }

  openAiBackendFor(podId: Uint8Array): CompletionBackend | null {
    if (this.state.member(podId, this.options.account.address) === null) return null;
    const pod = Pod.open(podId, this.context);
    return podBackend(pod, this.router(pod));
  }

  /** The node's handler for inbound INFERENCE_PROTOCOL streams. */
  readonly handleInferenceStream = async (peerId: string, stream: FrameStream): Promise<void> => {
    if (this.provider === null) {
      stream.send(
        encodeProviderFrame({
          type: "refused",
          code: "MODEL_NOT_SERVED",
          message: "this node is not a provider",
        }),
      );
      stream.close();
      return;
    }
    await this.provider.service.handleStream(peerId, stream);
  };

  /** The node's OfferTopic handler: throws ValidationError to IGNORE or REJECT. */
  receiveOffer(offer: Offer): void {
    this.offers.receive(offer);
  }

  /** Loads a model, registers (or updates) this node as a provider on chain, serves and gossips offers. */
  async startProvider(options: ProviderStartOptions): Promise<Record<string, unknown>> {
    const detected = detectDevice(
      options.device === undefined || options.device === "auto" ? "auto" : options.device,
      options.vramGb,
    );
    const model = await loadModel(options.modelPath ?? SHIPPED_MODEL_PATH, {
      device: detected.device,
      ...(options.threads === undefined ? {} : { threads: options.threads }),
    });
    try {
      const generator = generatorOf(model);
      const { account, peer } = this.options;
      const existing = this.state.provider(account.address);
      const held = existing !== null && isActiveProvider(existing) ? existing.bond : 0n;
      const bond = options.bond ?? (held >= PROVIDER_BOND_MIN ? 0n : PROVIDER_BOND_MIN - held);
      const outcome = await account.submit(
        MarketKind.ProviderRegister,
        encodeMarketPayload(MarketKind.ProviderRegister, {
          peerId: peer.peerId,
          peerSignature: await peer.sign(peerBindingDigest(account.chainId, account.address, peer.peerId)),
          models: [generator.model],
          device: detected.device,
          vramMib: detected.vramMib,
          pricePerToken: options.pricePerToken,
          bond,
        }),
      );
      if (!outcome.success) {
        throw new MarketError(
          "TRANSACTION_FAILED",
          `provider registration failed: ${outcome.errorCode}: ${outcome.errorMessage}`,
          {
            errorCode: outcome.errorCode,
          },
        );
      }
      await this.stopProvider();
      const service = new ProviderService({
        self: { address: account.address, peerId: peer.peerId },
        state: this.state,
        generators: [generator],
        pricePerToken: options.pricePerToken,
        ...(options.maxTokensPerSecond === undefined
          ? {}
          : { tokensPerSecondMax: options.maxTokensPerSecond }),
        ...(options.creditWindowTokens === undefined
          ? {}
          : { creditWindowTokens: options.creditWindowTokens }),
        channels: new PayeeChannels({
          chainId: account.chainId,
          self: account.address,
          source: sdkPayeeSource(this.options.channelClient),
          lookup: this.channelLookup,
          ...(this.options.onPayeeChannel ? { onAccept: this.options.onPayeeChannel } : {}),
        }),
      });
      const timer = setInterval(() => this.publishOffer(), OFFER_INTERVAL_MS);
      timer.unref?.();
      const info = {
        address: formatAddress(account.address),
        peerId: peer.peerId,
        model: {
          name: generator.model.name,
          sha256: toHex(generator.model.hash),
          provider: model.info.provider,
        },
        device: detected.device,
        vramGb: detected.vramMib / 1024,
        vramSource: detected.vramSource,
        pricePerToken: options.pricePerToken.toString(),
        maxTokensPerSecond: options.maxTokensPerSecond ?? null,
        creditWindowTokens: options.creditWindowTokens ?? CREDIT_WINDOW_TOKENS_DEFAULT,
        bond: (this.state.provider(account.address)?.bond ?? 0n).toString(),
        txHash: toHex(outcome.txHash),
      };
      this.provider = { model, service, timer, info };
      this.publishOffer();
      return info;
    } catch (error) {
      await model.close();
      throw error;
    }
  }

  /** Signs and gossips this provider's live offer. */
  publishOffer(): void {
    const running = this.provider;
    if (running === null || this.options.publishOffer === undefined) return;
    const { account, peer } = this.options;
    const load = running.service.load;
    // Sequences follow the clock, so they keep increasing across restarts.
    this.offerSequence = Math.max(this.offerSequence + 1, this.clock());
    const registered = this.state.provider(account.address);
    const offer = signOffer(
      {
        provider: account.address,
        publicKey: account.keys.publicKey,
        peerId: peer.peerId,
        loadPermille: load.loadPermille,
        queueLength: load.queueLength,
        activeRequests: load.activeRequests,
        pricePerToken: registered?.pricePerToken ?? AMOUNT_MAX,
        timestampMs: this.clock(),
        sequence: this.offerSequence,
      },
      account.keys,
    );
    void Promise.resolve(this.options.publishOffer(offer)).catch(() => {});
  }

  providerStatus(): Record<string, unknown> {
    const running = this.provider;
    if (running === null) return { running: false };
    return { running: true, ...running.info, load: running.service.load };
  }

  async stopProvider(): Promise<void> {
    const running = this.provider;
    this.provider = null;
    if (running === null) return;
    clearInterval(running.timer);
    await running.model.close();
  }

  async close(): Promise<void> {
    await this.stopProvider();
    await Promise.all([this.keys.flush(), this.spend.flush()]);
  }

  // ---- what the RPC methods do (JSON in, JSON out) ----

  async podCreate(
    name: string,
    capabilities: readonly string[] | undefined,
  ): Promise<Record<string, unknown>> {
    const pod = await Pod.create({ name, ...(capabilities ? { capabilities } : {}) }, this.context);
    return { podId: toHex(pod.id), name: pod.name, capabilities: pod.capabilities };
  }

  async podInvite(
    podText: string,
    peers: readonly string[],
    options: { role?: PodRole; ttlMs?: number; multiUse?: boolean },
  ): Promise<Record<string, unknown>> {
    const pod = this.pod(podText);
    const role = options.role ?? "member";
    const ttlMs = options.ttlMs;
    if (peers.length > 0) {
      await pod.invite(peers, { role, ...(ttlMs === undefined ? {} : { ttlMs }) });
      return { podId: toHex(pod.id), invited: peers, role, code: null };
    }
    const code = pod.createInvite({
      role,
      multiUse: options.multiUse ?? false,
      ...(ttlMs === undefined ? {} : { ttlMs }),
    });
    return { podId: toHex(pod.id), invited: [], role, multiUse: options.multiUse ?? false, code };
  }

  async podJoin(podOrInvite: string): Promise<Record<string, unknown>> {
    const pod = await Pod.join(podOrInvite, this.context);
    const me = this.state.member(pod.id, this.options.account.address);
    return { podId: toHex(pod.id), name: pod.name, role: me?.role ?? null };
  }

  podMembers(podText: string): Record<string, unknown> {
    const pod = this.pod(podText);
    return {
      podId: toHex(pod.id),
      members: pod.members().map((m) => ({
        address: formatAddress(m.address),
        peerId: m.peerId,
        role: m.role,
        online: m.online,
        joinedAtCommit: m.joinedAtCommit,
        latency: latencyJson(this.latency.get(m.peerId)),
        provider:
          m.provider === null
            ? null
            : {
                models: m.provider.models.map((x) => ({ name: x.name, sha256: toHex(x.hash) })),
                device: m.provider.device,
                vramGb: m.provider.vramMib / 1024,
                pricePerToken: m.provider.pricePerToken.toString(),
                loadPermille: m.provider.loadPermille,
                queueLength: m.provider.queueLength,
              },
      })),
    };
  }

  podStatus(podText: string): Record<string, unknown> {
    return statusJson(this.pod(podText).status());
  }

  podModels(podText: string): Record<string, unknown> {
    const pod = this.pod(podText);
    return { podId: toHex(pod.id), models: modelsJson(pod.models()) };
  }

  async keysCreate(
    podText: string,
    limits: { budget: bigint; ratePerMinute?: number; models?: readonly string[]; name?: string },
  ): Promise<Record<string, unknown>> {
    const pod = this.pod(podText);
    const { key, entry } = await this.keys.create({ podId: pod.id, ...limits });
    return { key, ...this.keyJson(entry) };
  }

  keysList(podText: string | undefined): Record<string, unknown> {
    const podId = podText === undefined ? null : this.pod(podText).id;
    return {
      keys: this.keys
        .list()
        .filter((k) => podId === null || toHex(k.podId) === toHex(podId))
        .map((k) => this.keyJson(k)),
    };
  }

  private keyJson(entry: ApiKeyEntry): Record<string, unknown> {
    return {
      id: entry.id,
      name: entry.name,
      podId: toHex(entry.podId),
      budget: entry.budget.toString(),
      remaining: this.keys.remaining(entry.id).toString(),
      ratePerMinute: entry.ratePerMinute,
      models: entry.models,
      revoked: entry.revoked,
      createdAtMs: entry.createdAtMs,
      usage: {
        requests: entry.usage.requests,
        promptTokens: entry.usage.promptTokens,
        completionTokens: entry.usage.completionTokens,
        cost: entry.usage.cost.toString(),
      },
    };
  }

  async infer(request: {
    pod: string;
    prompt: string;
    maxTokens?: number;
    model?: string;
    minVramGb?: number;
    latency?: LatencyPreference;
    maxPricePerToken?: bigint;
    temperature?: number;
    seed?: number;
    partial?: boolean;
    requestId?: string;
  }): Promise<Record<string, unknown>> {
    const pod = this.pod(request.pod);
    const relay = this.options.onInferToken;
    const requestId = request.requestId;
    const result = await this.router(pod).complete({
      prompt: request.prompt,
      ...(request.maxTokens === undefined ? {} : { maxTokens: request.maxTokens }),
      ...(request.model === undefined ? {} : { model: request.model }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.seed === undefined ? {} : { seed: request.seed }),
      ...(request.partial === undefined ? {} : { partial: request.partial }),
      constraints: {
        ...(request.minVramGb === undefined ? {} : { minVramGb: request.minVramGb }),
        ...(request.latency === undefined ? {} : { latency: request.latency }),
        ...(request.maxPricePerToken === undefined ? {} : { maxPricePerToken: request.maxPricePerToken }),
      },
      ...(relay !== undefined && requestId !== undefined
        ? { onToken: (token: RoutedToken) => relay(requestId, token) }
        : {}),
    });
    return {
      podId: toHex(pod.id),
      text: result.text,
      tokens: result.tokens,
      cost: result.cost.toString(),
      model: { name: result.model.name, sha256: toHex(result.model.hash) },
      finishReason: result.finishReason,
      timeToFirstTokenMs: result.timeToFirstTokenMs,
      providers: result.legs.map((l) => ({
        peerId: l.peerId,
        address: formatAddress(l.address),
        tokens: l.tokens,
        pricePerToken: l.pricePerToken.toString(),
        cost: l.cost.toString(),
        outcome: l.outcome,
        error: l.error,
        roundTripMs: l.roundTripMs,
        timeToFirstTokenMs: l.timeToFirstTokenMs,
      })),
    };
  }
}

/** This node's latency profile of a peer (null when it never sent the peer a request). */
function latencyJson(profile: LatencyProfile | null): Record<string, number> | null {
  if (profile === null) return null;
  return {
    roundTripMs: profile.roundTripMs,
    timeToFirstTokenMs: profile.timeToFirstTokenMs,
    samples: profile.samples,
    failures: profile.failures,
  };
}

function modelsJson(models: readonly PodModel[]) {
  return models.map((m) => ({
    name: m.model.name,
    sha256: toHex(m.model.hash),
    providers: m.providers,
    online: m.online,
    lowestPricePerToken: m.lowestPricePerToken.toString(),
  }));
}

function statusJson(status: PodStatus): Record<string, unknown> {
  return { ...status, models: modelsJson(status.models), spend: status.spend.toString() };
}
