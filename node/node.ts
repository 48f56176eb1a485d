import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LRUCache } from "lru-cache";
import { channelsModule } from "../channels/index.ts";
import {
  Authority,
  type CommittedSubDag,
  Committee,
  ed25519Signer,
  type Timers,
} from "../consensus/index.ts";
import {
  type ApplyResult,
  buildTransaction,
  type Genesis,
  Ledger,
  type LedgerModule,
  parseGenesis,
  type Receipt,
  RocksStore,
  validatorAddress,
} from "../ledger/index.ts";
import {
  INFER_TOKEN_TOPIC,
  MarketService,
  marketModule,
  marketRpcMethods,
  OfferTopic,
} from "../market/index.ts";
import {
  type CommitteePeer,
  ConsensusTransport,
  classify,
  GOSSIP_BYTES_MAX,
  loadOrCreatePeerKey,
  NetworkHost,
  Protocol,
  type Topic,
  TransactionBatchTopic,
  ValidationError,
} from "../net/index.ts";
import {
  assert,
  bytesEqual,
  commitDigest,
  createSigner,
  decodeTransaction,
  type KeyPair,
  toHex,
  transactionDigest,
} from "../spec/index.ts";
import { ChannelService } from "./channels-service.ts";
import { databaseDir, type NodeConfig } from "./config.ts";
import { RocksConsensusStore } from "./consensus-store.ts";
import { CommitFollower } from "./follower.ts";
import { libp2pInferenceTransport, serveInference } from "./inference-transport.ts";
import { createKeyFile, readKeyFile } from "./keyfile.ts";
import { readKeystore } from "./keystore.ts";
import type { Logger } from "./logger.ts";
import { Mempool, MempoolError, type MempoolErrorCode, senderAssignment } from "./mempool.ts";
import { Metrics } from "./metrics.ts";
import { createOpenAiHandler } from "./openai.ts";
import { rpcMethods } from "./rpc/methods.ts";
import { RpcServer } from "./rpc/server.ts";
import {
  CertifierError,
  decodeStateRootVote,
  encodeStateRootVote,
  isVotedCommit,
  STATE_ROOT_VOTE_INTERVAL_COMMITS,
  StateCertifier,
  type StateRootVote,
  signStateRootVote,
} from "./state-certifier.ts";
import { StateSync } from "./state-sync.ts";
import { CHECKPOINT_INTERVAL_COMMITS } from "./state-sync-certificate.ts";
import { TransactionBatcher } from "./transaction-batcher.ts";
import { NodeWallet } from "./wallet.ts";

/** Gossip topic of validators' signed state roots. */
const StateRootTopic: Topic<StateRootVote> = {
  name: "state-root",
  version: 2,
  maxBytes: 256,
  encode: encodeStateRootVote,
  decode: decodeStateRootVote,
};

/** Mempool refusals of a gossiped transaction that an honest peer can cause (it was late or redundant). */
const IGNORED_GOSSIP_ERRORS: ReadonlySet<MempoolErrorCode> = new Set([
  "DUPLICATE",
  "STALE_NONCE",
  "FULL",
  "NONCE_TOO_FAR",
  "ALREADY_PROPOSED",
  "UNDERPRICED_REPLACEMENT",
]);

/**
 * Commits waiting for execution. Consensus persists a commit before handing
 * it over, so this queue is only a pipeline between ordering and execution;
 * at this depth consensus waits for the ledger (backpressure).
 */
const EXECUTION_QUEUE_MAX = 64;

/**
 * A validator with no block accepted in this many rounds (about a second on
 * a loopback devnet) counts as down, and every validator proposes the
 * transactions of that validator's senders that it holds (those its own RPC
 * admitted, or a full node gossiped).
 */
const PROPOSER_DOWN_ROUNDS = 10;

/** Rejected transactions remembered for our own submitters: minutes of rejections at devnet rates. */
const REJECTIONS_KEPT = 10_000;

/** A node this many commits behind the newest certified root (two vote intervals) reports itself as syncing. */
const SYNCING_LAG_COMMITS = 2 * STATE_ROOT_VOTE_INTERVAL_COMMITS;

assert(
  CHECKPOINT_INTERVAL_COMMITS % STATE_ROOT_VOTE_INTERVAL_COMMITS === 0,
  "checkpoints must fall on commits validators vote on",
);

/** Modules that later layers add to the ledger (channels, market). */
export interface NodeComponents {
  readonly modules?: readonly LedgerModule[];
}

export interface CommitSummary {
  readonly index: number;
  readonly digest: string;
  readonly previousDigest: string;
  readonly stateRoot: string;
  readonly leader: string;
  readonly timestampMs: number;
  readonly transactions: string[];
}

/**
 * The composition root of a hyperspace node: it builds the store, the
 * ledger, the network, the mempool, consensus (for a validator), the RPC
 * server and metrics, starts them in that order and stops them in reverse.
 * Every commit consensus decides is executed by the ledger in order; a
 * validator then signs the resulting state root, and a root certified by a
 * quorum that disagrees with ours halts the node.
 */
export class HyperspaceNode {
  readonly metrics = new Metrics();
  private store!: RocksStore;
  ledger!: Ledger;
  genesis!: Genesis;
  committee!: Committee;
  host!: NetworkHost;
  mempool!: Mempool;
  /** A full node gossips the transactions its RPC admits to every validator. */
  private transactionGossip!: TransactionBatcher;
  /** A validator pushes them to the one validator that proposes them instead, in batches by authority. */
  private readonly forwarders = new Map<number, TransactionBatcher>();
  /** Libp2p peer ids of the committee: only these may push transactions. */
  private committeePeerIds = new Set<string>();
  private consensusStore!: RocksConsensusStore;
  private authority: Authority | null = null;
  private follower: CommitFollower | null = null;
  channels!: ChannelService;
  market!: MarketService;
  private rpc!: RpcServer;
  private certifier!: StateCertifier;
  /** Serves certified checkpoints and their state; starts a fresh full node from one (`stateSync`). */
  stateSync: StateSync | null = null;
  private keys: KeyPair | null = null;
  /** Signs this validator's state-root votes (a node:crypto key built once). */
  private voteSigner: (digest: Uint8Array) => Uint8Array = () => {
    throw new Error("not a validator");
  };
  private ownIndex: number | null = null;
  private executing: Promise<void> = Promise.resolve();
  private executionDepth = 0;
  /** Recently rejected transactions (hash → reason), so our own submitters learn of it; oldest dropped first. */
  private readonly rejections = new LRUCache<string, string>({ max: REJECTIONS_KEPT });
  private stopping = false;
  readonly authToken: string;
  private readonly log: Logger;

  private constructor(
    readonly config: NodeConfig,
    log: Logger,
    private readonly components: NodeComponents,
  ) {
    this.log = log;
    mkdirSync(config.dataDir, { recursive: true });
    this.authToken = loadOrCreateToken(join(config.dataDir, "rpc.token"));
  }

  static async start(
    config: NodeConfig,
    log: Logger,
    components: NodeComponents = {},
  ): Promise<HyperspaceNode> {
    const node = new HyperspaceNode(config, log, components);
    try {
      await node.startParts();
    } catch (error) {
      await node.stop();
      throw error;
    }
    return node;
  }

  get isValidator(): boolean {
    return this.authority !== null;
  }

  get rpcUrl(): string {
    return this.rpc.url;
  }

  /** True while the network has certified roots well past what this node has executed. */
  get isSyncing(): boolean {
    return (this.certifier.latest?.index ?? 0) > this.ledger.lastAppliedIndex + SYNCING_LAG_COMMITS;
  }

  get round(): number {
    return this.authority?.core.clockRound ?? 0;
  }

  /** Equivocation evidence this validator's DAG recorded (other authorities signing two blocks in a round). */
  get equivocations(): number {
    return this.authority?.core.equivocations.length ?? 0;
  }

  private async startParts(): Promise<void> {
    const { config } = this;
    this.genesis = parseGenesis(readFileSync(config.genesisFile, "utf8"));
    this.store = await RocksStore.open(databaseDir(config.dataDir));
    this.ledger = await Ledger.open({
      store: this.store,
      genesis: this.genesis,
      modules: [channelsModule, marketModule, ...(this.components.modules ?? [])],
      snapshotIntervalCommits: CHECKPOINT_INTERVAL_COMMITS,
      // Commits are durable in the consensus store first; replayPersistedCommits redoes any the ledger lost.
      syncCommits: false,
    });
    this.consensusStore = new RocksConsensusStore(this.store);
    this.committee = new Committee(
      this.genesis.validators.map((v) => ({ stake: Number(v.stake), publicKey: v.publicKey })),
    );
    this.certifier = new StateCertifier(this.genesis.chainId, this.committee);
    this.log.info("ledger opened", {
      chainId: this.genesis.chainId,
      commitIndex: this.ledger.lastAppliedIndex,
    });

    if (config.validator) {
      const passphrase = process.env.HYPERSPACE_PASSPHRASE ?? readPassphrase(config.passphraseFile);
      this.keys = await readKeystore(config.validatorKeyFile, passphrase);
      this.voteSigner = createSigner(this.keys.secretKey);
      const keys = this.keys;
      const index = this.genesis.validators.findIndex((v) => bytesEqual(v.publicKey, keys.publicKey));
      if (index < 0)
        throw new Error(`validator key ${config.validatorKeyFile} is not in the genesis committee`);
      this.ownIndex = index;
    }

    const peers: CommitteePeer[] = this.genesis.validators.map((v, authority) => ({
      authority,
      publicKey: v.publicKey,
      peerId: v.peerId,
      addresses: v.multiaddrs,
    }));
    this.committeePeerIds = new Set(peers.map((p) => p.peerId));
    const peerKey = await loadOrCreatePeerKey(join(config.dataDir, "peer.key"));
    this.host = await NetworkHost.create({
      privateKey: peerKey,
      chainId: this.genesis.chainId,
      listen: config.listen,
      announce: config.announce,
      bootstrap: config.bootstrap,
      metrics: this.metrics,
      log: this.log.child("net"),
    });
    this.log.info("p2p started", { peerId: this.host.peerId, addresses: this.host.multiaddrs() });

    const assigned = (sender: Uint8Array) => {
      if (this.ownIndex === null) return true;
      const proposer = senderAssignment(sender, this.committee.size);
      if (proposer === this.ownIndex) return true;
      // A validator whose blocks stopped arriving is down: whoever holds its senders' transactions proposes them.
      const core = this.authority?.core;
      return core !== undefined && core.clockRound - core.lastAcceptedRound(proposer) > PROPOSER_DOWN_ROUNDS;
    };
    this.mempool = new Mempool({
      chainId: this.genesis.chainId,
      nextNonce: (address) => this.ledger.getAccount(address).nonce,
      isAssigned: assigned,
      nowMs: Date.now,
    });
    this.transactionGossip = new TransactionBatcher((batch) => {
      // Gossip failures do not undo local admission: our own validator can still propose them.
      void this.host.publish(TransactionBatchTopic, batch).catch(() => {});
    });
    this.host.subscribe(
      TransactionBatchTopic,
      () => {},
      (batch) => this.admitBatch(batch),
    );
    if (this.ownIndex !== null)
      await this.host.handlePush(
        Protocol.TransactionPush,
        (frame, peer) => this.admitPushed(frame, peer),
        GOSSIP_BYTES_MAX,
      );
    this.host.subscribe(
      StateRootTopic,
      () => {},
      (vote) => this.acceptVote(vote),
    );

    this.stateSync = await StateSync.open({
      chainId: this.genesis.chainId,
      committee: this.committee,
      ledger: this.ledger,
      store: this.store,
      consensusStore: this.consensusStore,
      host: this.host,
      log: this.log.child("state-sync"),
    });
    await this.stateSync.serve();

    await this.replayPersistedCommits();

    const transport = new ConsensusTransport(this.host, peers, this.ownIndex);
    if (this.keys !== null && this.ownIndex !== null) {
      const consensusLog = this.log.child("consensus");
      this.authority = await Authority.start({
        committee: this.committee,
        ownIndex: this.ownIndex,
        signer: ed25519Signer(this.keys.secretKey),
        store: this.consensusStore,
        network: transport,
        clock: { nowMs: Date.now },
        timers: realTimers,
        transactions: this.mempool,
        onCommit: (subDag) => this.enqueueExecution(subDag),
        onFatal: (error) => this.fatal("consensus stopped", error),
        options: {
          core: { leaderTimeoutMs: config.leaderTimeoutMs, minRoundDelayMs: config.minRoundDelayMs },
        },
        log: {
          info: (fields, message) => consensusLog.info(message, fields),
          warn: (fields, message) => consensusLog.warn(message, fields),
        },
      });
      await transport.start(this.authority, peers);
    } else {
      for (const peer of peers) await this.host.addPeerAddresses(peer.peerId, peer.addresses);
      const fresh =
        this.ledger.lastAppliedIndex === 0 && (await this.consensusStore.readLastCommit()) === null;
      if (config.stateSync && fresh) {
        const synced = await this.stateSync.syncFromPeers(peers.map((p) => p.peerId));
        if (synced !== null) this.certifier.recordOwn(synced.index, synced.commitDigest, synced.stateRoot);
      }
      this.follower = new CommitFollower(
        this.committee,
        transport,
        this.consensusStore,
        (subDag) => this.enqueueExecution(subDag),
        this.log.child("follower"),
      );
      await this.follower.start();
    }

    const wallet = new NodeWallet(
      this.keys ?? loadOrCreateWallet(join(config.dataDir, "wallet.key.json")),
      this.ledger,
      (bytes) => this.submitTransaction(bytes),
      (hash) => this.rejections.get(hash),
    );
    this.channels = new ChannelService({
      ledger: this.ledger,
      store: this.store,
      host: this.host,
      wallet,
      challengePeriodMin: config.channelChallengePeriodMin,
      log: this.log.child("channels"),
    });
    await this.channels.start();

    const chainId = this.genesis.chainId;
    this.market = await MarketService.open({
      account: {
        chainId,
        keys: wallet.keys,
        address: wallet.address,
        nowMs: () => this.ledger.lastCommit.timestampMs,
        submit: async (kind, payload) => {
          const receipt = await wallet.submitWith((nonce) =>
            buildTransaction({ chainId, keys: wallet.keys, nonce }, kind, payload),
          );
          return receipt;
        },
      },
      peer: { peerId: this.host.peerId, sign: (message) => peerKey.sign(message) },
      ledger: this.ledger,
      store: this.store,
      channelClient: this.channels.client,
      onPayeeChannel: (channelId) => this.channels.watch(channelId),
      transport: libp2pInferenceTransport(this.host),
      budget: config.inferenceBudget,
      publishOffer: (offer) => this.host.publish(OfferTopic, offer).catch(() => 0),
      isOnline: (peerId) => this.host.peers().includes(peerId),
      onInferToken: (requestId, token) =>
        this.rpc?.publish(INFER_TOKEN_TOPIC, {
          requestId,
          index: token.index,
          text: token.text,
          peerId: token.peerId,
        }),
    });
    const market = this.market;
    this.host.subscribe(
      OfferTopic,
      () => {},
      (offer) => market.receiveOffer(offer),
    );
    await serveInference(this.host, market.handleInferenceStream);
    const openAi = createOpenAiHandler({
      keys: market.keys,
      backendFor: (podId) => market.openAiBackendFor(podId),
    });

    this.rpc = new RpcServer({
      host: config.rpcHost,
      port: config.rpcPort,
      methods: { ...rpcMethods(this), ...marketRpcMethods(market) },
      authToken: this.authToken,
      topics: ["commits", "receipts", INFER_TOKEN_TOPIC],
      ratePerSecond: config.rpcRatePerSecond,
      metrics: this.metrics,
      log: this.log.child("rpc"),
      routes: async (request, response) => {
        if (request.method === "GET" && request.url === "/metrics") {
          response.writeHead(200, { "content-type": this.metrics.registry.contentType });
          response.end(await this.metrics.registry.metrics());
          return true;
        }
        return openAi(request, response);
      },
    });
    const url = await this.rpc.listen();
    this.log.info("node started", {
      rpc: url,
      validator: this.isValidator,
      authority: this.ownIndex,
      commitIndex: this.ledger.lastAppliedIndex,
    });
  }

  /** Executes commits that consensus persisted but the ledger had not applied when the node stopped. */
  private async replayPersistedCommits(): Promise<void> {
    const last = await this.consensusStore.readLastCommit();
    if (last === null || last.index <= this.ledger.lastAppliedIndex) return;
    for (let index = this.ledger.lastAppliedIndex + 1; index <= last.index; index++) {
      const [commit] = await this.consensusStore.readCommits(index, index);
      if (commit === undefined) throw new Error(`commit ${index} missing from the consensus store`);
      const blocks = await this.consensusStore.readBlocks(commit.blocks);
      if (blocks.some((b) => b === null)) throw new Error(`blocks of commit ${index} missing from the store`);
      this.afterApply(
        commit,
        await this.applyCommit(commit, blocks as NonNullable<(typeof blocks)[number]>[]),
      );
    }
    this.log.info("replayed persisted commits", { commitIndex: this.ledger.lastAppliedIndex });
  }

  /**
   * Submits a transaction from RPC: admit to our mempool, then hand it on.
   * Only the validator its sender is assigned to proposes it, so a validator
   * pushes it to that one validator alone: each transaction then crosses the
   * network once more, inside that validator's block, and the other
   * validators never admit it. Our mempool keeps it, so if the proposer is
   * down we propose it ourselves (see the `isAssigned` fallback). A full node
   * does not know which validators are up and gossips it to all of them.
   */
  async submitTransaction(bytes: Uint8Array): Promise<string> {
    const hash = this.mempool.add(bytes);
    this.metrics.mempoolSize.set(this.mempool.size);
    if (this.ownIndex === null) {
      this.transactionGossip.add(bytes);
    } else {
      const proposer = senderAssignment(decodeTransaction(bytes).sender, this.committee.size);
      if (proposer !== this.ownIndex) this.forwarder(proposer).add(bytes);
    }
    return hash;
  }

  private forwarder(authority: number): TransactionBatcher {
    let batcher = this.forwarders.get(authority);
    if (batcher === undefined) {
      const peerId = this.genesis.validators[authority]?.peerId as string;
      batcher = new TransactionBatcher((batch) => {
        this.host.push(peerId, Protocol.TransactionPush, TransactionBatchTopic.encode(batch));
      });
      this.forwarders.set(authority, batcher);
    }
    return batcher;
  }

  /** A batch another validator pushed for us to propose. Only committee members push. */
  private admitPushed(frame: Uint8Array, peer: string): void {
    let error: unknown = null;
    try {
      if (!this.committeePeerIds.has(peer)) throw new ValidationError("REJECT", "not a validator");
      this.admitBatch(TransactionBatchTopic.decode(frame));
    } catch (caught) {
      error = caught;
    }
    if (classify("push:txs", error, this.metrics) === "REJECT") this.host.penalise(peer, "Malformed");
  }

  /**
   * Admits a batch from gossip or a push. A transaction that no honest node
   * would have admitted (malformed, badly signed, for another chain) rejects
   * the whole message, so its sender loses score; one that is merely late or
   * redundant (duplicate, stale nonce, full mempool) is skipped, and a batch
   * with nothing new is ignored.
   */
  private admitBatch(batch: readonly Uint8Array[]): void {
    let admitted = 0;
    let invalid: MempoolErrorCode | null = null;
    for (const bytes of batch) {
      try {
        this.mempool.add(bytes);
        admitted++;
      } catch (error) {
        if (!(error instanceof MempoolError)) throw error;
        if (!IGNORED_GOSSIP_ERRORS.has(error.code)) invalid ??= error.code;
      }
    }
    this.metrics.mempoolSize.set(this.mempool.size);
    if (invalid !== null) throw new ValidationError("REJECT", invalid);
    if (admitted === 0) throw new ValidationError("IGNORE", "nothing new");
  }

  private acceptVote(vote: StateRootVote): void {
    try {
      const certified = this.certifier.addVote(vote);
      if (certified !== null) this.log.debug("state root certified", { index: certified.index });
      if (certified?.certificate)
        void this.stateSync
          ?.addCertificate(certified.certificate)
          .catch((e) => this.fatal("certificate write", e));
    } catch (error) {
      if (!(error instanceof CertifierError)) throw error;
      if (error.code === "DIVERGED") this.fatal("state diverged from the certified root", error);
      throw new ValidationError(error.code === "OUT_OF_WINDOW" ? "IGNORE" : "REJECT", error.code);
    }
  }

  /**
   * Starts executing a commit at once: the ledger queues commits itself, and
   * decodes and checks the signatures of each as soon as it is handed over,
   * while the commits ahead of it still apply. What follows an application
   * (receipts, votes, notifications) runs in commit order.
   */
  private enqueueExecution(subDag: CommittedSubDag): Promise<void> | void {
    this.executionDepth++;
    const applied = this.stopping ? null : this.applyCommit(subDag.commit, subDag.blocks);
    applied?.catch(() => undefined); // awaited, and its failure handled, in commit order below
    this.executing = this.executing
      .then(async () => {
        if (applied !== null) this.afterApply(subDag.commit, await applied);
      })
      .catch((error) => this.fatal("execution failed", error))
      .finally(() => this.executionDepth--);
    if (this.executionDepth >= EXECUTION_QUEUE_MAX) return this.executing;
  }

  private applyCommit(
    commit: CommittedSubDag["commit"],
    blocks: CommittedSubDag["blocks"],
  ): Promise<ApplyResult> {
    const leader = this.genesis.validators[commit.leader.author];
    return this.ledger.applyCommit({
      index: commit.index,
      timestampMs: commit.timestampMs,
      feeRecipient: leader === undefined ? null : validatorAddress(leader),
      transactions: blocks.flatMap((b) => b.transactions),
    });
  }

  private afterApply(commit: CommittedSubDag["commit"], result: ApplyResult): void {
    if (result.alreadyApplied) return;
    for (const r of result.rejected) {
      if (r.txHash === null) continue;
      this.rejections.set(toHex(r.txHash), r.reason);
    }
    this.mempool.pruneExecuted(uniqueSenders(result.receipts));
    this.metrics.mempoolSize.set(this.mempool.size);
    this.metrics.commits.inc();
    this.metrics.commitIndex.set(commit.index);
    this.metrics.round.set(this.round);
    this.metrics.commitLatency.observe(Math.max(0, Date.now() - commit.timestampMs) / 1000);
    const succeeded = result.receipts.filter((r) => r.success).length;
    this.metrics.transactions.inc({ status: "success" }, succeeded);
    this.metrics.transactions.inc({ status: "failed" }, result.receipts.length - succeeded);
    const digest = commitDigest(commit);
    this.certifier.recordOwn(commit.index, digest, result.stateRoot);
    if (this.keys !== null && this.ownIndex !== null && isVotedCommit(commit.index)) {
      const vote = signStateRootVote(
        this.genesis.chainId,
        commit.index,
        digest,
        result.stateRoot,
        this.ownIndex,
        this.voteSigner,
      );
      this.acceptVote(vote);
      void this.host.publish(StateRootTopic, vote).catch(() => {});
    }
    if (this.rpc?.hasSubscribers("commits"))
      this.rpc.publish("commits", {
        index: commit.index,
        stateRoot: toHex(result.stateRoot),
        transactions: result.receipts.length,
        timestampMs: commit.timestampMs,
        hashes: result.receipts.map((r) => toHex(r.txHash)),
      });
    if (this.rpc?.hasSubscribers("receipts"))
      this.rpc.publishAll("receipts", result.receipts.map(receiptJson));
    this.channels?.onCommit(commit.index, result.receipts);
    this.log.debug("committed", {
      index: commit.index,
      leader: commit.leader.author,
      receipts: result.receipts.length,
    });
  }

  /** The summary of commit `index` for RPC, or null if it is not executed here. */
  async commitSummary(index: number): Promise<CommitSummary | null> {
    if (index < 1 || index > this.ledger.lastAppliedIndex) return null;
    const [commit] = await this.consensusStore.readCommits(index, index);
    const record = await this.ledger.getCommitRecord(index);
    if (commit === undefined || record === null) return null;
    const blocks = await this.consensusStore.readBlocks(commit.blocks);
    return {
      index,
      digest: toHex(commitDigest(commit)),
      previousDigest: toHex(commit.previousDigest),
      stateRoot: toHex(record.stateRoot),
      leader: `${commit.leader.round}:${commit.leader.author}:${toHex(commit.leader.digest)}`,
      timestampMs: commit.timestampMs,
      transactions: blocks.flatMap((b) => (b === null ? [] : b.transactions.flatMap(txHashOrNone))),
    };
  }

  get latestCertified() {
    return this.certifier.latest;
  }

  private fatal(what: string, error: unknown): void {
    this.log.error(what, { error: String((error as Error)?.stack ?? error) });
    if (!this.stopping) {
      process.exitCode = 70;
      void this.stop().finally(() => process.exit(70));
    }
  }

  /** Stops the parts in reverse order of starting. Safe to call more than once. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.rpc?.close().catch(() => {});
    await this.market?.close().catch(() => {});
    await this.channels?.stop().catch(() => {});
    await this.authority?.stop().catch(() => {});
    await this.follower?.stop().catch(() => {});
    await this.executing.catch(() => {});
    // Hand on what RPC admitted in the last flush interval, so no batch timer outlives the host.
    this.transactionGossip?.flush();
    for (const forwarder of this.forwarders.values()) forwarder.flush();
    await this.host?.stop().catch(() => {});
    await this.ledger?.close().catch(() => {});
    await this.store?.close().catch(() => {});
    this.log.info("node stopped");
  }
}

function uniqueSenders(receipts: readonly Receipt[]): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  for (const r of receipts) seen.set(toHex(r.sender), r.sender);
  return [...seen.values()];
}

/** The hash of an included transaction; a block may carry undecodable bytes, which have none. */
function txHashOrNone(bytes: Uint8Array): string[] {
  try {
    return [toHex(transactionDigest(decodeTransaction(bytes)))];
  } catch {
    return [];
  }
}

export function receiptJson(receipt: Receipt): Record<string, unknown> {
  return {
    hash: toHex(receipt.txHash),
    status: receipt.success ? "success" : "failed",
    commitIndex: receipt.commitIndex,
    fee: receipt.feePaid.toString(),
    ...(receipt.success ? {} : { error: `${receipt.errorCode}: ${receipt.errorMessage}` }),
  };
}

const realTimers: Timers = {
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(handle) };
  },
};

function readPassphrase(path: string | null): string | undefined {
  return path === null ? undefined : readFileSync(path, "utf8").trim();
}

/** A full node's own key for payments (a validator uses its validator key): a plain key file, mode 0600. */
function loadOrCreateWallet(path: string): KeyPair {
  return existsSync(path) ? readKeyFile(path) : createKeyFile(path);
}

/** The RPC bearer token: generated at first start, stored with mode 0600. */
function loadOrCreateToken(path: string): string {
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  const token = randomBytes(32).toString("hex");
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return token;
}
