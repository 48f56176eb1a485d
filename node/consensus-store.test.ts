import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { RocksStore } from "../ledger/index.ts";
import {
  type Block,
  blockRef,
  type Commit,
  GENESIS_COMMIT_DIGEST,
  generateKeyPair,
  signBlock,
} from "../spec/index.ts";
import { RocksConsensusStore } from "./consensus-store.ts";

const dir = mkdtempSync(join(tmpdir(), "hs-cstore-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = generateKeyPair();

function block(round: number, author: number): Block {
  return signBlock(
    { epoch: 0, round, author, timestampMs: round, ancestors: [], transactions: [new Uint8Array([round])] },
    keys.secretKey,
  );
}

describe("RocksConsensusStore", () => {
  it("keeps blocks, our last proposal and commits across a reopen", async () => {
    const blocks = [block(1, 0), block(1, 1), block(2, 0), block(3, 2), block(300, 1)];
    const commits: Commit[] = [1, 2].map((index) => ({
      index,
      previousDigest: GENESIS_COMMIT_DIGEST,
      leader: blockRef(blocks[index] as Block),
      blocks: [blockRef(blocks[index] as Block)],
      timestampMs: index,
    }));
    const path = join(dir, "db");
    let rocks = await RocksStore.open(path);
    let store = new RocksConsensusStore(rocks);
    assert.equal(await store.readLastCommit(), null);
    assert.equal(await store.readOwnLastBlock(), null);
    await store.write({ blocks, commits, ownLastBlock: blocks[2] as Block });
    await rocks.close();

    rocks = await RocksStore.open(path);
    store = new RocksConsensusStore(rocks);
    assert.deepEqual(
      (await store.readBlocksFromRound(2)).map((b) => b.round).sort((a, b) => a - b),
      [2, 3, 300],
    );
    const [found, missing] = await store.readBlocks([
      blockRef(blocks[3] as Block),
      { round: 9, author: 0, digest: new Uint8Array(32) },
    ]);
    assert.deepEqual(found?.transactions, blocks[3]?.transactions);
    assert.equal(missing, null);
    assert.equal((await store.readOwnLastBlock())?.round, 2);
    assert.equal((await store.readLastCommit())?.index, 2);
    assert.deepEqual(
      (await store.readCommits(1, 5)).map((c) => c.index),
      [1, 2],
    );
    const [second] = await store.readCommits(2, 2);
    const blocksOfSecond = await store.readBlocks(second?.blocks ?? []);
    assert.equal(blocksOfSecond.length, 1);
    assert.equal(blocksOfSecond[0]?.round, 2);
    await rocks.close();
  });
});
