/**
 * What an authority serves when a peer fetches blocks: the asked blocks it
 * holds and, when the peer says which rounds it already has, those blocks'
 * ancestors above them (newest rounds first, breadth-first), up to
 * `blocksMax` in all. One reply then carries a whole missing chain.
 */
import type { Block, BlockRef } from "../spec/index.ts";
import type { Core } from "./core.ts";
import type { VerifiedBlock } from "./verified_block.ts";

export function blocksForFetch(
  core: Core,
  refs: readonly BlockRef[],
  highestAcceptedRounds: readonly number[] | undefined,
  blocksMax: number,
): { blocks: Block[]; notHeld: BlockRef[] } {
  const blocks: Block[] = [];
  const notHeld: BlockRef[] = [];
  const queue: VerifiedBlock[] = [];
  const added = new Set<VerifiedBlock>();
  for (const ref of refs.slice(0, blocksMax)) {
    const block = core.dag.get(ref);
    if (block !== undefined) {
      if (!added.has(block)) {
        added.add(block);
        queue.push(block);
        blocks.push(block.block);
      }
      continue;
    }
    const waiting = core.getBlock(ref);
    if (waiting !== undefined) blocks.push(waiting);
    else notHeld.push(ref);
  }
  if (highestAcceptedRounds === undefined) return { blocks, notHeld };
  for (let i = 0; i < queue.length && blocks.length < blocksMax; i++) {
    for (const parent of queue[i]!.parents) {
      if (parent === undefined || added.has(parent)) continue;
      if (parent.round <= (highestAcceptedRounds[parent.author] ?? 0)) continue;
      added.add(parent);
      queue.push(parent);
      blocks.push(parent.block);
      if (blocks.length >= blocksMax) break;
    }
  }
  return { blocks, notHeld };
}
