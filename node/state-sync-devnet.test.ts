/**
 * Multi-process devnet test of state sync: four validators run past a
 * certified checkpoint, then a fresh full node with `stateSync` starts from
 * that checkpoint's state (downloaded from the validators and checked
 * against the certified root) instead of replaying from genesis, follows
 * the chain to the head with the validators' state roots, and resumes from
 * its own disk after a restart.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { formatAddress } from "../spec/index.ts";
import { DEVNET_FAUCET_BALANCE, DEVNET_VALIDATOR_STAKE } from "./devnet.ts";
import { CHECKPOINT_INTERVAL_COMMITS } from "./state-sync-certificate.ts";
import { randomAddress, TestDevnet, until } from "./test-devnet.ts";

const VALIDATORS = ["v0", "v1", "v2", "v3"];
const GENESIS_SUPPLY = DEVNET_FAUCET_BALANCE + 4n * DEVNET_VALIDATOR_STAKE;

interface Status {
  commitIndex: number;
  stateRoot: string;
  validator: boolean;
  snapshotIndex: number;
  checkpointIndex: number;
}

describe("state sync from a certified checkpoint", { timeout: 300_000 }, () => {
  let devnet: TestDevnet;
  const funded = new Map<string, bigint>();

  before(async () => {
    devnet = await TestDevnet.create(4);
    await devnet.startAll(VALIDATORS);
  });

  after(async () => {
    await devnet?.close();
  });

  const status = (name: string) => devnet.client(name).call<Status>("hs_status");

  async function fund(count: number, via: string): Promise<void> {
    const hashes: string[] = [];
    for (let i = 0; i < count; i++) {
      const to = randomAddress();
      const amount = 5_000n + BigInt(funded.size);
      hashes.push(await devnet.transferFromFaucet(via, to, amount));
      funded.set(formatAddress(to), amount);
    }
    for (const hash of hashes)
      assert.equal((await devnet.client("v0").waitForReceipt(hash, 30_000)).status, "success");
  }

  /** Waits for the synced node to reach v0's head, and checks it has the same commit there. */
  async function assertAtHead(): Promise<void> {
    const head = await devnet.commitIndex("v0");
    await devnet.waitForIndex(["snap"], head, 60_000);
    const [ours, theirs] = await Promise.all([
      devnet.client("snap").getCommit(head),
      devnet.client("v0").getCommit(head),
    ]);
    assert.ok(ours !== null && theirs !== null);
    assert.equal(ours.stateRoot, theirs.stateRoot, `state roots at ${head}`);
    assert.equal(ours.digest, theirs.digest, `commit digests at ${head}`);
  }

  async function assertBalances(name: string): Promise<void> {
    for (const [address, amount] of funded)
      assert.equal((await devnet.client(name).getAccount(address)).balance, amount, `${name}: ${address}`);
  }

  it("starts a fresh full node from the newest checkpoint, with the validators' state and no earlier history", async () => {
    await fund(6, "v1");
    const certified = await until(
      "a certified checkpoint on v0",
      async () => {
        const s = await status("v0");
        return s.checkpointIndex >= CHECKPOINT_INTERVAL_COMMITS ? s.checkpointIndex : null;
      },
      120_000,
      250,
    );

    await devnet.addFullNode("snap", { stateSync: true });
    await devnet.startAll(["snap"]);
    const synced = await status("snap");
    assert.equal(synced.validator, false);
    assert.ok(
      synced.snapshotIndex >= certified && synced.snapshotIndex % CHECKPOINT_INTERVAL_COMMITS === 0,
      `started from checkpoint ${synced.snapshotIndex}, ${certified} was certified before it started`,
    );
    assert.ok(synced.commitIndex >= synced.snapshotIndex);
    assert.equal(await devnet.client("snap").getCommit(1), null, "commit 1 was never executed here");
    assert.equal(await devnet.client("snap").getCommit(synced.snapshotIndex - 1), null);
    const atCheckpoint = await devnet.client("snap").getCommit(synced.snapshotIndex);
    assert.equal(
      atCheckpoint?.stateRoot,
      (await devnet.client("v0").getCommit(synced.snapshotIndex))?.stateRoot,
    );

    // It follows new commits: a transfer made after the sync reaches it too.
    await fund(2, "v2");
    await assertAtHead();
    await assertBalances("snap");
    const supply = await devnet.client("snap").call<{ supply: string; burned: string }>("hs_getSupply");
    assert.equal(BigInt(supply.supply) + BigInt(supply.burned), GENESIS_SUPPLY);
  });

  it("resumes from its own disk after a restart, still without the history before its checkpoint", async () => {
    const before = await status("snap");
    await devnet.stop("snap");
    devnet.start("snap");
    await until("snap to serve RPC after restart", () => status("snap"), 60_000);
    const restarted = await status("snap");
    assert.equal(restarted.snapshotIndex, before.snapshotIndex);
    assert.ok(restarted.commitIndex >= before.commitIndex, "no state lost over the restart");
    await fund(1, "v3");
    await assertAtHead();
    assert.equal(await devnet.client("snap").getCommit(1), null);
    await assertBalances("snap");
  });
});
