/** The outcome of the commit rule for one leader slot. */
import type { Slot } from "./block_ref.ts";
import type { VerifiedBlock } from "./verified_block.ts";

export type LeaderStatus =
  | { readonly kind: "commit"; readonly slot: Slot; readonly block: VerifiedBlock; readonly direct: boolean }
  | { readonly kind: "skip"; readonly slot: Slot; readonly direct: boolean }
  | { readonly kind: "undecided"; readonly slot: Slot };

export type DecidedLeader = Exclude<LeaderStatus, { kind: "undecided" }>;

export function isDecided(status: LeaderStatus): status is DecidedLeader {
  return status.kind !== "undecided";
}
