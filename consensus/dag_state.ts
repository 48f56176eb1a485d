/**
 * The DAG as one authority sees it: every accepted block above the GC round,
 * indexed by reference, slot and round, with each block's ancestors resolved
 * to objects. A block is accepted only once all its ancestors above the GC
 * round are here (block_manager.ts sees to that), so the DAG is always
 * closed under ancestry. Blocks at or below the GC round are evicted; they
 * can no longer be committed.
 *
 * A second block at a slot is accepted too (honest authorities may already
 * reference it) and recorded as equivocation evidence.
 */
import { assert, type BlockRef } from "../spec/index.ts";
import { digestsEqual, slotIndex } from "./block_ref.ts";
import type { Committee } from "./committee.ts";
import type { VerifiedBlock } from "./verified_block.ts";

/** Two blocks by one author at one round, both signed by it. */
export interface EquivocationEvidence {
  readonly round: number;
  readonly author: number;
  readonly first: BlockRef;
  readonly second: BlockRef;
}

/** Evidence is kept for operators and slashing; 1,024 records cover any realistic run, oldest dropped first. */
export const EQUIVOCATION_EVIDENCE_MAX = 1024;

const EMPTY: readonly VerifiedBlock[] = [];
/** The imported assert, bound once (it is called in the acceptance loop). */
const check: (condition: unknown, message: string) => void = assert;

export class DagState {
  private count = 0;
  private readonly bySlot = new Map<number, VerifiedBlock[]>();
  private readonly byRound = new Map<number, VerifiedBlock[]>();
  private readonly lastPerAuthority: VerifiedBlock[];
  private readonly evidence: EquivocationEvidence[] = [];
  private lowestRound = 0;
  private highestRound = 0;
  private gc = 0;

  constructor(
    readonly committee: Committee,
    genesis: readonly VerifiedBlock[],
  ) {
    assert(genesis.length === committee.size, "one genesis block per authority");
    for (const block of genesis) this.insert(block);
    this.lastPerAuthority = [...genesis];
  }

  get highestAcceptedRound(): number {
    return this.highestRound;
  }

  /** Blocks at or below this round are garbage: never committed, never fetched, evicted from memory. */
  get gcRound(): number {
    return this.gc;
  }

  get size(): number {
    return this.count;
  }

  get equivocations(): readonly EquivocationEvidence[] {
    return this.evidence;
  }

  has(ref: BlockRef): boolean {
    return this.get(ref) !== undefined;
  }

  get(ref: BlockRef): VerifiedBlock | undefined {
    const slot = this.bySlot.get(slotIndex(ref.round, ref.author));
    if (slot === undefined) return undefined;
    for (const block of slot) if (digestsEqual(block.digest, ref.digest)) return block;
    return undefined;
  }

  blocksAtSlot(round: number, author: number): readonly VerifiedBlock[] {
    return this.bySlot.get(slotIndex(round, author)) ?? EMPTY;
  }

  blocksAtRound(round: number): readonly VerifiedBlock[] {
    return this.byRound.get(round) ?? EMPTY;
  }

  /** The author's block at the highest round we hold (the first one seen, if it equivocated there). */
  lastBlockOf(author: number): VerifiedBlock {
    return this.lastPerAuthority[author]!;
  }

  /** The author's newest block below `round`, if we hold one above the GC round (or it is its last block). */
  lastBlockBelow(author: number, round: number): VerifiedBlock | undefined {
    const last = this.lastPerAuthority[author]!;
    if (last.round < round) return last;
    // Genesis (round 0) is never evicted, so it is found whatever the GC round.
    for (let r = round - 1; r > this.gc || r === 0; r--) {
      const found = this.bySlot.get(slotIndex(r, author));
      if (found !== undefined) return found[0];
    }
    return undefined;
  }

  /** Whether every ancestor of `block` is here or below the GC round. */
  ancestorsPresent(block: VerifiedBlock): boolean {
    for (const ancestor of block.ancestors) {
      if (ancestor.round > this.gc && this.get(ancestor) === undefined) return false;
    }
    return true;
  }

  /** Adds a block whose ancestors are all present (or below the GC round). Returns its resolved parents. */
  accept(block: VerifiedBlock): void {
    assert(block.round > this.gc, "accepting a block at or below the GC round");
    assert(this.get(block.ref) === undefined, "block accepted twice");
    const parents: (VerifiedBlock | undefined)[] = new Array(block.ancestors.length);
    for (let i = 0; i < block.ancestors.length; i++) {
      const ancestor = block.ancestors[i]!;
      const parent = this.get(ancestor);
      if (parent === undefined && ancestor.round > this.gc)
        check(false, "accepting a block with a missing ancestor");
      parents[i] = parent;
    }
    block.parents = parents;
    this.insert(block);
    if (block.round > this.lastPerAuthority[block.author]!.round) this.lastPerAuthority[block.author] = block;
  }

  private insert(block: VerifiedBlock): void {
    this.count++;
    const slot = this.bySlot.get(block.slot);
    if (slot === undefined) this.bySlot.set(block.slot, [block]);
    else {
      slot.push(block);
      if (this.evidence.length >= EQUIVOCATION_EVIDENCE_MAX) this.evidence.shift();
      this.evidence.push({
        round: block.round,
        author: block.author,
        first: slot[0]!.ref,
        second: block.ref,
      });
    }
    const round = this.byRound.get(block.round);
    if (round === undefined) this.byRound.set(block.round, [block]);
    else round.push(block);
    if (block.round > this.highestRound) this.highestRound = block.round;
  }

  /**
   * Raises the GC round and evicts the blocks at or below it (genesis stays:
   * it is tiny and every authority's first ancestor). Evicted blocks drop
   * their parent links, so memory held through old links is bounded too.
   */
  setGcRound(round: number): void {
    if (round <= this.gc) return;
    this.gc = round;
    for (let r = Math.max(this.lowestRound, 1); r <= round; r++) {
      const blocks = this.byRound.get(r);
      if (blocks === undefined) continue;
      for (const block of blocks) {
        this.count--;
        this.bySlot.delete(block.slot);
        block.parents = [];
      }
      this.byRound.delete(r);
    }
    this.lowestRound = round + 1;
  }

  /** The blocks at `round` in the causal history of `from` (visiting only rounds above `round`). */
  ancestorsAtRound(from: VerifiedBlock, round: number): VerifiedBlock[] {
    const found: VerifiedBlock[] = [];
    if (from.round < round) return found;
    if (from.round === round) return [from];
    const visited = new Set<VerifiedBlock>([from]);
    const stack: VerifiedBlock[] = [from];
    while (stack.length > 0) {
      const block = stack.pop()!;
      for (const parent of block.parents) {
        if (parent === undefined || parent.round < round || visited.has(parent)) continue;
        visited.add(parent);
        if (parent.round === round) found.push(parent);
        else stack.push(parent);
      }
    }
    return found;
  }
}
