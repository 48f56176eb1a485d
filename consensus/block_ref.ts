/**
 * Helpers for block references: map keys, slots and display names.
 * A slot is (round, author); several blocks share a slot only when their
 * author equivocated, and the digest tells them apart.
 */
import { type Block, type BlockBody, type BlockRef, blockDigest, COMMITTEE_SIZE_MAX } from "../spec/index.ts";
import { authorityName } from "./committee.ts";

export interface Slot {
  readonly round: number;
  readonly author: number;
}

/** A number that identifies a slot; exact while round < 2^53 / 1024. */
export function slotIndex(round: number, author: number): number {
  return round * COMMITTEE_SIZE_MAX + author;
}

const keyCache = new WeakMap<BlockRef, string>();

/** A string that identifies a block reference exactly (round, author and the full digest). */
export function refKey(ref: BlockRef): string {
  let key = keyCache.get(ref);
  if (key === undefined) {
    const digest = ref.digest;
    key = `${ref.round}/${ref.author}/${Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString("latin1")}`;
    keyCache.set(ref, key);
  }
  return key;
}

export function sameSlot(a: Slot, b: Slot): boolean {
  return a.round === b.round && a.author === b.author;
}

/** "D3", or "D3#1a2b3c4d" with a digest prefix where blocks at one slot must be told apart. */
export function formatSlot(slot: Slot): string {
  return `${authorityName(slot.author)}${slot.round}`;
}

export function formatRef(ref: BlockRef): string {
  return `${formatSlot(ref)}#${Buffer.from(ref.digest.subarray(0, 4)).toString("hex")}`;
}

const digestCache = new WeakMap<BlockBody, Uint8Array>();

/**
 * The block's digest, computed once per block object. Blocks are immutable
 * values (readonly everywhere), so an object's digest never changes; the
 * cache only saves re-hashing when one object is handed to several readers,
 * as the simulator does.
 */
export function digestOf(block: Block | BlockBody): Uint8Array {
  let digest = digestCache.get(block);
  if (digest === undefined) {
    digest = blockDigest(block);
    digestCache.set(block, digest);
  }
  return digest;
}
