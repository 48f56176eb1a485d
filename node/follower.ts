import {
  BlockVerifier,
  type CommitChainTip,
  CommitSyncer,
  type CommittedSubDag,
  type Committee,
  chainTipOf,
  GENESIS_CHAIN_TIP,
} from "../consensus/index.ts";
import type { ConsensusTransport } from "../net/index.ts";
import type { Commit } from "../spec/index.ts";
import type { RocksConsensusStore } from "./consensus-store.ts";
import type { Logger } from "./logger.ts";

/** A full node asks for new commits this often: about one commit interval of a loopback devnet. */
export const FOLLOW_INTERVAL_MS = 200;

/**
 * The full node's way of following the chain without voting: it asks
 * validators holding f+1 stake for the commits after its last one, takes a
 * commit only when f+1 stake returned the same digest (so at least one honest
 * validator vouches for it) and it extends the local chain, checks every
 * block's signature, persists commit and blocks, and hands the commit to
 * execution. Requests are bounded by the commit syncer (size, count, time).
 */
export class CommitFollower {
  private readonly syncer: CommitSyncer;
  private readonly verifier: BlockVerifier;
  private tip: CommitChainTip = GENESIS_CHAIN_TIP;
  private timer: NodeJS.Timeout | null = null;
  private work: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    committee: Committee,
    private readonly transport: ConsensusTransport,
    private readonly store: RocksConsensusStore,
    private readonly onCommit: (subDag: CommittedSubDag) => Promise<void> | void,
    private readonly log: Logger,
  ) {
    this.syncer = new CommitSyncer(committee, -1, {});
    this.verifier = new BlockVerifier(committee, { clock: { nowMs: Date.now } });
    // A follower is always "behind": it learns of new commits only by asking.
    for (let author = 0; author < committee.size; author++)
      this.syncer.observeRound(author, Number.MAX_SAFE_INTEGER);
  }

  /**
   * Follows from the newest stored commit: genesis on a fresh node, the
   * checkpoint's commit on a node that started from a certified checkpoint
   * (state sync stores that commit with the state), else where it stopped.
   */
  async start(): Promise<void> {
    const last: Commit | null = await this.store.readLastCommit();
    if (last !== null) this.tip = chainTipOf(last);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.work = this.work
        .then(() => this.poll())
        .catch((error) => this.log.warn("follow failed", { error: String(error) }));
      void this.work.finally(() => this.schedule());
    }, FOLLOW_INTERVAL_MS);
  }

  private async poll(): Promise<void> {
    const requests = this.syncer.plan(this.tip.index, 0, Date.now());
    await Promise.all(
      requests.map(async (request) => {
        try {
          this.syncer.onResponse(
            request.id,
            await this.transport.fetchCommits(request.peer, request.fromIndex, request.toIndex),
          );
        } catch (error) {
          this.syncer.onFailure(request.id);
          this.log.debug("commit fetch failed", { peer: request.peer, error: String(error) });
        }
      }),
    );
    for (const certified of this.syncer.takeCertified(this.tip)) {
      if (this.stopped) return;
      // Every block must be a valid, signed block of this committee.
      for (const block of certified.blocks) this.verifier.verify(block);
      await this.store.write({ blocks: certified.blocks, commits: [certified.commit], ownLastBlock: null });
      await this.onCommit(certified);
      this.tip = chainTipOf(certified.commit, certified.digest);
    }
  }

  get lastIndex(): number {
    return this.tip.index;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.work.catch(() => {});
  }
}
