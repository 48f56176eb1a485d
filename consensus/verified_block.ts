/**
 * A block that passed the verifier (or that we authored), with its digest and
 * reference computed once. Each authority wraps blocks in its own instances:
 * `parents` and `committed` are that authority's DAG state and are written
 * only by DagState and the linearizer.
 */
import type { Block, BlockRef } from "../spec/index.ts";
import { blockDigest } from "../spec/index.ts";
import { blockKey, slotIndex } from "./block_ref.ts";

export class VerifiedBlock {
  readonly block: Block;
  readonly digest: Uint8Array;
  readonly ref: BlockRef;
  readonly key: string;
  readonly slot: number;
  /** Resolved ancestors in `block.ancestors` order; undefined where the ancestor is below the GC round. */
  parents: (VerifiedBlock | undefined)[] = [];
  /** Whether a commit of this authority's sequence already holds this block. */
  committed = false;
  private referencedSlots: Set<number> | null = null;

  constructor(block: Block, digest: Uint8Array = blockDigest(block)) {
    this.block = block;
    this.digest = digest;
    this.ref = { round: block.round, author: block.author, digest };
    this.key = blockKey(block);
    this.slot = slotIndex(block.round, block.author);
  }

  get round(): number {
    return this.block.round;
  }

  get author(): number {
    return this.block.author;
  }

  get timestampMs(): number {
    return this.block.timestampMs;
  }

  get ancestors(): readonly BlockRef[] {
    return this.block.ancestors;
  }

  get transactions(): readonly Uint8Array[] {
    return this.block.transactions;
  }

  /** Whether one of the ancestors is at this slot (`slotIndex(round, author)`). */
  references(slot: number): boolean {
    if (this.referencedSlots === null) {
      this.referencedSlots = new Set();
      for (const ancestor of this.block.ancestors)
        this.referencedSlots.add(slotIndex(ancestor.round, ancestor.author));
    }
    return this.referencedSlots.has(slot);
  }
}
