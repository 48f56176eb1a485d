/**
 * Genesis: one deterministic round-0 block per authority, with no ancestors,
 * no transactions, timestamp 0 and an all-zero signature. Every authority
 * builds the same blocks, so genesis is never sent over the network and the
 * verifier rejects any round-0 block it is handed.
 */
import { type Block, SIGNATURE_BYTES } from "../spec/index.ts";
import type { Committee } from "./committee.ts";
import { VerifiedBlock } from "./verified_block.ts";

const ZERO_SIGNATURE = new Uint8Array(SIGNATURE_BYTES);

const genesisCache = new WeakMap<Committee, readonly Block[]>();

/** The committee's genesis blocks (the same objects on every call, so their digests are computed once). */
export function genesisBlocks(committee: Committee): Block[] {
  let blocks = genesisCache.get(committee);
  if (blocks === undefined) {
    blocks = makeGenesis(committee);
    genesisCache.set(committee, blocks);
  }
  return [...blocks];
}

function makeGenesis(committee: Committee): Block[] {
  return committee.authorities.map((_, author) => ({
    epoch: committee.epoch,
    round: 0,
    author,
    timestampMs: 0,
    ancestors: [],
    transactions: [],
    signature: ZERO_SIGNATURE,
  }));
}

export function verifiedGenesis(committee: Committee): VerifiedBlock[] {
  return genesisBlocks(committee).map((block) => new VerifiedBlock(block));
}
