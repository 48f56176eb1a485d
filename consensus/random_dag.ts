/**
 * Random DAGs for randomised tests: every authority proposes each round,
 * referencing its own previous block and a random quorum (or more) of the
 * previous round; some authorities equivocate; some blocks also link to an
 * older block. Blocks are unsigned: these DAGs go straight to DagState.
 */
import { type Block, blockDigest, SIGNATURE_BYTES } from "../spec/index.ts";
import type { Committee } from "./committee.ts";
import { genesisBlocks } from "./genesis.ts";
import type { Rng } from "./sim/rng.ts";

export interface RandomDagOptions {
  readonly rounds: number;
  /** Authorities that sometimes make two blocks in a round (at most f for a meaningful DAG). */
  readonly equivocators?: readonly number[];
  /** Chance that an authority skips a round entirely. */
  readonly skipChance?: number;
}

export function randomDag(committee: Committee, rng: Rng, options: RandomDagOptions): Block[] {
  const signature = new Uint8Array(SIGNATURE_BYTES);
  const blocks: Block[] = [];
  let previous: Block[] = genesisBlocks(committee);
  const own: Block[] = [...previous];
  const equivocators = new Set(options.equivocators ?? []);
  for (let round = 1; round <= options.rounds; round++) {
    const layer: Block[] = [];
    for (let author = 0; author < committee.size; author++) {
      if (rng.chance(options.skipChance ?? 0)) continue;
      const variants = equivocators.has(author) && rng.chance(0.5) ? 2 : 1;
      for (let variant = 0; variant < variants; variant++) {
        // A random order of the previous round's authors; take blocks until a quorum, then maybe more.
        const candidates = rng.shuffle(previous.filter((b) => b.author !== author));
        const parents: Block[] = [own[author]!];
        let stake = own[author]!.round === round - 1 ? committee.stake(author) : 0;
        const seen = new Set<number>([author]);
        for (const candidate of candidates) {
          if (seen.has(candidate.author)) continue;
          if (committee.reachedQuorum(stake) && rng.chance(0.5)) continue;
          seen.add(candidate.author);
          parents.push(candidate);
          stake += committee.stake(candidate.author);
        }
        if (!committee.reachedQuorum(stake)) continue;
        const block: Block = {
          epoch: committee.epoch,
          round,
          author,
          timestampMs: round * 1000,
          ancestors: parents.map((p) => ({ round: p.round, author: p.author, digest: blockDigest(p) })),
          transactions: [Uint8Array.of(variant, round & 0xff, author & 0xff)],
          signature,
        };
        layer.push(block);
        blocks.push(block);
      }
    }
    for (const block of layer) if (own[block.author]!.round < block.round) own[block.author] = block;
    if (layer.length > 0) previous = layer;
  }
  return blocks;
}
