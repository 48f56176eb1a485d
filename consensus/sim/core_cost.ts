/**
 * The Core's cost in isolation: one authority takes a pre-built, fully
 * connected DAG of real ed25519-signed blocks (n authorities, a fixed number
 * of transactions per block) and verifies, accepts and commits every block.
 * It is measured beside its bound, the rate at which the same blocks can be
 * hashed and signature-checked at all. The same figure (milliseconds per
 * received block) is the simulator's CPU cost in the WAN profile.
 */
import {
  type Block,
  type BlockBody,
  blockDigest,
  generateKeyPair,
  verify,
  withSignature,
} from "../../spec/index.ts";
import { BlockVerifier } from "../block_verifier.ts";
import { Committee } from "../committee.ts";
import { Core } from "../core.ts";
import { genesisBlocks } from "../genesis.ts";
import { ed25519Signer } from "../signature.ts";
import { median } from "./stats.ts";

export interface CoreCostOptions {
  readonly validators: number;
  readonly transactionsPerBlock: number;
  readonly transactionBytes: number;
  readonly rounds: number;
}

export interface CoreCost {
  readonly blocks: number;
  readonly commits: number;
  readonly committedBlocks: number;
  /** Verify + accept + commit, per second of one core. */
  readonly blocksPerSecond: number;
  readonly committedBlocksPerSecond: number;
  readonly msPerBlock: number;
  /** The bound: digest + ed25519 verification alone, per second. */
  readonly boundBlocksPerSecond: number;
  readonly transactionsPerSecond: number;
}

/** A fully connected DAG: every block references every block of the round before (own first). */
export function buildSignedDag(options: CoreCostOptions): { committee: Committee; blocks: Block[] } {
  const keys = Array.from({ length: options.validators }, (_, i) =>
    generateKeyPair(new Uint8Array(32).fill(i + 1)),
  );
  const committee = Committee.fromStakes(
    keys.map(() => 1),
    keys.map((k) => k.publicKey),
  );
  const signers = keys.map((k) => ed25519Signer(k.secretKey));
  const transactions = Array.from({ length: options.transactionsPerBlock }, (_, i) => {
    const tx = new Uint8Array(options.transactionBytes);
    new DataView(tx.buffer).setUint32(0, i);
    return tx;
  });
  let previous: Block[] = genesisBlocks(committee);
  const blocks: Block[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const layer: Block[] = [];
    for (let author = 0; author < options.validators; author++) {
      const own = previous[author]!;
      const parents = [own, ...previous.filter((b) => b.author !== author)];
      const body: BlockBody = {
        epoch: 0,
        round,
        author,
        timestampMs: round * 100,
        ancestors: parents.map((p) => ({ round: p.round, author: p.author, digest: blockDigest(p) })),
        transactions,
      };
      const block = withSignature(body, (digest) => signers[author]!.sign(digest));
      layer.push(block);
      blocks.push(block);
    }
    previous = layer;
  }
  return { committee, blocks };
}

/** One core (an observer that never proposes) verifies, accepts and commits copies of `blocks`. */
export function timeCore(
  committee: Committee,
  blocks: readonly Block[],
): { ms: number; commits: number; committedBlocks: number } {
  const copies = blocks.map((b) => ({ ...b }));
  // Plain verification: a remembered signature would make every repetition after the first a lookup.
  const verifier = new BlockVerifier(committee, { signatureVerifier: { verify } });
  const core = new Core({
    committee,
    ownIndex: 0,
    signer: { sign: () => new Uint8Array(64) },
    clock: { nowMs: () => 1e12 },
    transactions: null,
    verifier,
    options: { leaderSchedule: "round-robin", gcDepthRounds: 50 },
    // An observer: it never proposes, so the pre-built blocks of authority 0 are not contradicted.
    awaitOwnBlockSync: true,
  });
  let commits = 0;
  let committedBlocks = 0;
  const start = performance.now();
  for (const block of copies) {
    core.addBlocks([verifier.verify(block)], block.author);
    const out = core.takeOutput();
    commits += out.commits.length;
    for (const commit of out.commits) committedBlocks += commit.blocks.length;
  }
  return { ms: performance.now() - start, commits, committedBlocks };
}

/** The bound: hashing and signature-checking copies of `blocks`, nothing else. */
export function timeBound(committee: Committee, blocks: readonly Block[]): number {
  const copies = blocks.map((b) => ({ ...b }));
  const start = performance.now();
  for (const block of copies) {
    if (!verify(block.signature, blockDigest(block), committee.authorities[block.author]!.publicKey)) {
      throw new Error("bad signature in the bench DAG");
    }
  }
  return performance.now() - start;
}

/**
 * Measures the core and its bound in `repetitions` interleaved rounds and
 * reports medians, so that load from other processes hits both alike.
 */
export function measureCoreCost(options: CoreCostOptions, repetitions = 1): CoreCost {
  const { committee, blocks } = buildSignedDag(options);
  const coreMs: number[] = [];
  const boundMs: number[] = [];
  let commits = 0;
  let committedBlocks = 0;
  for (let i = 0; i < repetitions; i++) {
    boundMs.push(timeBound(committee, blocks));
    const run = timeCore(committee, blocks);
    coreMs.push(run.ms);
    commits = run.commits;
    committedBlocks = run.committedBlocks;
  }
  const acceptMs = median(coreMs);
  return {
    blocks: blocks.length,
    commits,
    committedBlocks,
    blocksPerSecond: (blocks.length * 1000) / acceptMs,
    committedBlocksPerSecond: (committedBlocks * 1000) / acceptMs,
    msPerBlock: acceptMs / blocks.length,
    boundBlocksPerSecond: (blocks.length * 1000) / median(boundMs),
    transactionsPerSecond: (committedBlocks * options.transactionsPerBlock * 1000) / acceptMs,
  };
}
