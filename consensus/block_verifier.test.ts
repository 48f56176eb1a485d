import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  BLOCK_BYTES_MAX,
  BLOCK_TRANSACTIONS_MAX,
  type Block,
  type BlockBody,
  CodecError,
  decodeBlock,
  encodeBlock,
  generateKeyPair,
  type KeyPair,
  signBlock,
  TX_BYTES_MAX,
} from "../spec/index.ts";
import { BlockVerifier } from "./block_verifier.ts";
import { BlockError, type BlockErrorCode } from "./errors.ts";
import { parseDag } from "./test_dag.ts";
import { VerifiedBlock } from "./verified_block.ts";

const keys: KeyPair[] = [1, 2, 3, 4].map((i) => generateKeyPair(new Uint8Array(32).fill(i)));
const dag = parseDag("Round 0 : { 4 }, Round 1 : { * }, Round 2 : { * }", { keys });
const verifier = new BlockVerifier(dag.committee, { clock: { nowMs: () => 10_000 } });
const good = dag.block("B2")!;

function resign(changes: Partial<BlockBody>, author = good.author): Block {
  const { signature: _, ...body } = good;
  return signBlock({ ...body, ...changes, author }, keys[author]!.secretKey);
}

function rejects(block: Block, code: BlockErrorCode, encodedBytes?: number): void {
  assert.throws(
    () => verifier.verify(block, encodedBytes),
    (error: unknown) => error instanceof BlockError && error.code === code,
    code,
  );
}

describe("BlockVerifier", () => {
  it("accepts a well-formed signed block", () => {
    const verified = verifier.verify(good);
    assert.equal(verified.round, 2);
    assert.equal(verified.author, 1);
  });

  it("rejects a wrong epoch", () => rejects(resign({ epoch: 1 }), "WRONG_EPOCH"));
  it("rejects an unknown author", () => rejects({ ...good, author: 4 }, "UNKNOWN_AUTHOR"));
  it("rejects a round-0 block", () => rejects(resign({ round: 0 }), "GENESIS_ROUND"));

  it("rejects more ancestors than authorities", () => {
    rejects(resign({ ancestors: [...good.ancestors, good.ancestors[1]!] }), "TOO_MANY_ANCESTORS");
  });

  it("rejects too many transactions", () => {
    const transactions = new Array(BLOCK_TRANSACTIONS_MAX + 1).fill(new Uint8Array(1));
    rejects(resign({ transactions }), "TOO_MANY_TRANSACTIONS");
  });

  it("rejects an oversized transaction", () => {
    rejects(resign({ transactions: [new Uint8Array(TX_BYTES_MAX + 1)] }), "TRANSACTION_TOO_LARGE");
  });

  it("rejects an oversized block, by its fields or its wire size", () => {
    const tx = new Uint8Array(TX_BYTES_MAX);
    const count = Math.ceil(BLOCK_BYTES_MAX / TX_BYTES_MAX) + 1;
    rejects(resign({ transactions: new Array(count).fill(tx) }), "BLOCK_TOO_LARGE");
    rejects(good, "BLOCK_TOO_LARGE", BLOCK_BYTES_MAX + 1);
  });

  it("rejects a block with no ancestors", () => rejects(resign({ ancestors: [] }), "NO_ANCESTORS"));

  it("rejects a block whose first ancestor is not its own", () => {
    const [own, ...others] = good.ancestors;
    rejects(resign({ ancestors: [...others, own!] }), "OWN_ANCESTOR_NOT_FIRST");
  });

  it("rejects an ancestor from the same or a later round", () => {
    const c2 = dag.block("C2")!;
    const ref = { round: 2, author: 2, digest: new VerifiedBlock(c2).digest };
    const ancestors = good.ancestors.map((a) => (a.author === 2 ? ref : a));
    rejects(resign({ ancestors }), "ANCESTOR_ROUND_NOT_LOWER");
  });

  it("rejects an ancestor by an unknown authority", () => {
    const ancestors = [...good.ancestors.slice(0, 3), { ...good.ancestors[3]!, author: 9 }];
    rejects(resign({ ancestors }), "UNKNOWN_ANCESTOR_AUTHOR");
  });

  it("rejects two ancestors by one authority", () => {
    const ancestors = [...good.ancestors.slice(0, 3), { ...good.ancestors[3]!, author: 0, round: 0 }];
    rejects(resign({ ancestors }), "DUPLICATE_ANCESTOR_AUTHOR");
  });

  it("rejects a malformed ancestor digest", () => {
    const ancestors = [
      good.ancestors[0]!,
      { ...good.ancestors[1]!, digest: new Uint8Array(31) },
      ...good.ancestors.slice(2),
    ];
    rejects(resign({ ancestors }), "MALFORMED_ANCESTOR");
  });

  it("rejects ancestors holding less than a quorum from the previous round", () => {
    rejects(resign({ ancestors: good.ancestors.slice(0, 2) }), "INSUFFICIENT_PARENT_STAKE");
    // Genesis blocks are round 0, so they do not count for a round-2 block.
    const old = dag.genesis.map((g) => ({ round: 0, author: g.author, digest: new VerifiedBlock(g).digest }));
    rejects(
      resign({ ancestors: [good.ancestors[0]!, ...old.filter((r) => r.author !== 1)] }),
      "INSUFFICIENT_PARENT_STAKE",
    );
  });

  it("rejects a timestamp too far ahead of the clock", () => {
    rejects(resign({ timestampMs: 10_000 + 5_001 }), "TIMESTAMP_IN_FUTURE");
    assert.ok(verifier.verify(resign({ timestampMs: 10_000 + 5_000 })));
  });

  it("rejects a block earlier than one of its ancestors", () => {
    const early = verifier.verify(resign({ timestampMs: 500 }));
    const parents = dag.blocks.filter((b) => b.round === 1).map((b) => new VerifiedBlock(b));
    assert.throws(
      () => verifier.verifyAncestorTimestamps(early, parents),
      (e: unknown) => e instanceof BlockError && e.code === "TIMESTAMP_BEFORE_ANCESTOR",
    );
    verifier.verifyAncestorTimestamps(verifier.verify(good), parents);
  });

  it("rejects a bad signature, and a signature by another authority", () => {
    const signature = new Uint8Array(good.signature);
    signature[0]! ^= 1;
    rejects({ ...good, signature }, "BAD_SIGNATURE");
    const byOther = signBlock({ ...good, signature: undefined } as unknown as BlockBody, keys[2]!.secretKey);
    rejects(byOther, "BAD_SIGNATURE");
  });

  it("property: a mutated encoding is rejected by the codec or the verifier", () => {
    const bytes = encodeBlock(good);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, flip) => {
          const mutated = new Uint8Array(bytes);
          mutated[at]! ^= flip;
          try {
            verifier.verify(decodeBlock(mutated), mutated.length);
          } catch (error) {
            assert.ok(error instanceof CodecError || error instanceof BlockError, String(error));
            return;
          }
          assert.fail(`mutation at ${at} accepted`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
