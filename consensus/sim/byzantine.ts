/**
 * What the simulator's Byzantine authorities do to their own blocks.
 * - equivocate: sign a second block for the same round (other transactions)
 *   and send each half of the peers a different one;
 * - withhold: leave the previous round's leader out of our ancestors, so we
 *   never vote for it (while keeping a quorum of parents);
 * - invalid: send some peers a corrupted copy that breaks one verifier rule;
 * - late: hold our leader blocks back past the others' leader timeout;
 * - crash: stop, and perhaps come back (from disk, or with the disk lost).
 */
import type { Block, BlockBody } from "../../spec/index.ts";
import { withSignature } from "../../spec/index.ts";
import type { Slot } from "../block_ref.ts";
import type { Committee } from "../committee.ts";
import type { BlockErrorCode } from "../errors.ts";
import type { BlockSigner } from "../signature.ts";
import type { VerifiedBlock } from "../verified_block.ts";
import type { Rng } from "./rng.ts";

export const BEHAVIOURS = ["crash", "equivocate", "withhold", "invalid", "late"] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

function resign(body: BlockBody, signer: BlockSigner): Block {
  return withSignature(body, (digest) => signer.sign(digest));
}

function bodyOf(block: Block): BlockBody {
  const { signature: _, ...body } = block;
  return body;
}

/** A second block for the same round: the same ancestors, one extra transaction. */
export function equivocatingVariant(block: Block, signer: BlockSigner, marker: number): Block {
  const tag = new Uint8Array(8);
  new DataView(tag.buffer).setFloat64(0, marker);
  return resign({ ...bodyOf(block), transactions: [...block.transactions, tag] }, signer);
}

/** The ancestors without the leader of the previous round, when a quorum of parents remains. */
export function withholdPolicy(committee: Committee, own: number) {
  return (round: number, leader: Slot | null, ancestors: VerifiedBlock[]): VerifiedBlock[] => {
    if (leader === null || leader.author === own) return ancestors;
    const kept = ancestors.filter((a) => !(a.round === leader.round && a.author === leader.author));
    let stake = 0;
    for (const a of kept) if (a.round === round - 1) stake += committee.stake(a.author);
    return committee.reachedQuorum(stake) ? kept : ancestors;
  };
}

export const CORRUPTIONS = [
  "BAD_SIGNATURE",
  "WRONG_EPOCH",
  "OWN_ANCESTOR_NOT_FIRST",
  "INSUFFICIENT_PARENT_STAKE",
  "ANCESTOR_ROUND_NOT_LOWER",
  "DUPLICATE_ANCESTOR_AUTHOR",
  "TIMESTAMP_BEFORE_ANCESTOR",
  "TIMESTAMP_IN_FUTURE",
] as const satisfies readonly BlockErrorCode[];

/** A copy of `block` that breaks exactly the rule `kind`, signed by its author unless the rule is the signature. */
export function corrupt(
  block: Block,
  kind: (typeof CORRUPTIONS)[number],
  signer: BlockSigner,
  nowMs: number,
): Block {
  const body = bodyOf(block);
  const [own, ...others] = block.ancestors;
  switch (kind) {
    case "BAD_SIGNATURE": {
      const signature = new Uint8Array(block.signature);
      signature[7]! ^= 0x40;
      return { ...block, signature };
    }
    case "WRONG_EPOCH":
      return resign({ ...body, epoch: body.epoch + 1 }, signer);
    case "OWN_ANCESTOR_NOT_FIRST":
      return resign({ ...body, ancestors: [...others, own!] }, signer);
    case "INSUFFICIENT_PARENT_STAKE":
      return resign({ ...body, ancestors: [own!] }, signer);
    case "ANCESTOR_ROUND_NOT_LOWER":
      return resign(
        { ...body, ancestors: [own!, ...others.map((a, i) => (i === 0 ? { ...a, round: block.round } : a))] },
        signer,
      );
    case "DUPLICATE_ANCESTOR_AUTHOR":
      return resign({ ...body, ancestors: [own!, ...others.slice(0, -1), others[0] ?? own!] }, signer);
    case "TIMESTAMP_BEFORE_ANCESTOR":
      // Round-1 blocks only have genesis (timestamp 0) as ancestors: nothing is earlier, so flip the signature.
      if (block.round === 1) return corrupt(block, "BAD_SIGNATURE", signer, nowMs);
      return resign({ ...body, timestampMs: 0 }, signer);
    case "TIMESTAMP_IN_FUTURE":
      return resign({ ...body, timestampMs: nowMs + 3_600_000 }, signer);
  }
}

export function pickCorruption(rng: Rng): (typeof CORRUPTIONS)[number] {
  return rng.pick(CORRUPTIONS);
}
