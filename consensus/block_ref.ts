/**
 * Helpers for block references: map keys, slots and display names.
 * A slot is (round, author); several blocks share a slot only when their
 * author equivocated, and the digest tells them apart.
 */
import {
  type Block,
  type BlockBody,
  type BlockRef,
  blockDigest,
  byteKey,
  COMMITTEE_SIZE_MAX,
} from "../spec/index.ts";
import { authorityName } from "./committee.ts";

export interface Slot {
  readonly round: number;
  readonly author: number;
}

/** Authorities per round in a slot index (a module constant: read on every lookup). */
const SLOT_STRIDE = COMMITTEE_SIZE_MAX;

/** A number that identifies a slot; exact while round < 2^53 / 1024. */
export function slotIndex(round: number, author: number): number {
  return round * SLOT_STRIDE + author;
}

/** Digest equality; the same array object (as the simulator shares) is the fast path. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const keyCache = new WeakMap<BlockRef, string>();
const digestTextCache = new WeakMap<Uint8Array, string>();

/** A string that identifies a block reference exactly (round, author and the full digest). */
export function refKey(ref: BlockRef): string {
  let key = keyCache.get(ref);
  if (key === undefined) {
    const digest = ref.digest;
    let text = digestTextCache.get(digest);
    if (text === undefined) {
      text = byteKey(digest);
      digestTextCache.set(digest, text);
    }
    key = `${ref.round}/${ref.author}/${text}`;
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

const blockKeyCache = new WeakMap<BlockBody, string>();

/** `refKey` of a block's own reference, computed once per block object. */
export function blockKey(block: Block | BlockBody): string {
  let key = blockKeyCache.get(block);
  if (key === undefined) {
    key = refKey({ round: block.round, author: block.author, digest: blockDigest(block) });
    blockKeyCache.set(block, key);
  }
  return key;
}
