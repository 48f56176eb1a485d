/**
 * Multi-process devnet tests: four validator processes on loopback, each with
 * its own RocksDB, driven through their JSON-RPC. One devnet runs the
 * scenarios in order: commits, `bench load`, a ledger that lost its commits,
 * kill -9 recovery under load, lost disk, a 2|2 partition, and a fresh full
 * node.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Bucket, RocksStore, WriteBatch } from "../ledger/index.ts";
import { addressFromPublicKey, formatAddress } from "../spec/index.ts";
import { databaseDir } from "./config.ts";
import { DEVNET_FAUCET_BALANCE, DEVNET_VALIDATOR_STAKE, freePort } from "./devnet.ts";
import { createKeyFile } from "./keyfile.ts";
import { randomAddress, sleep, TestDevnet, until } from "./test-devnet.ts";

const ALL = ["v0", "v1", "v2", "v3"];
const BIN = join(import.meta.dirname, "..", "bin", "hyperspace.js");
const run = promisify(execFile);
const GENESIS_SUPPLY = DEVNET_FAUCET_BALANCE + 4n * DEVNET_VALIDATOR_STAKE;

describe("devnet ports", () => {
  it("are distinct, below the ephemeral ranges, and free to bind", async () => {
    const ports: number[] = [];
    for (let i = 0; i < 40; i++) ports.push(await freePort());
    assert.equal(new Set(ports).size, ports.length);
    for (const port of ports) assert.ok(port >= 20_000 && port < 32_768, `port ${port}`);
    // Ports taken by someone else are skipped: hold the next two in turn.
    const last = ports.at(-1) as number;
    const held = [last + 1, last + 2].map((port) => {
      const server = createServer();
      server.on("error", () => {});
      server.listen(port, "127.0.0.1");
      return server;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      const next = await freePort();
      assert.ok(next !== last + 1 && next !== last + 2, `port ${next} is held`);
    } finally {
      for (const server of held) server.close();
    }
  });
});

describe("four-validator devnet", { timeout: 600_000 }, () => {
  let devnet: TestDevnet;
  const finalHashes: string[] = [];

  before(async () => {
    devnet = await TestDevnet.create(4);
    await devnet.startAll(ALL);
  });

  after(async () => {
    await devnet?.close();
  });

  /** Commit digests and state roots of 1..upTo, as each node reports them. */
  async function chain(name: string, upTo: number): Promise<string[]> {
    const client = devnet.client(name);
    const out: string[] = [];
    for (let index = 1; index <= upTo; index += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, upTo - index + 1) }, (_, i) => client.getCommit(index + i)),
      );
      for (const commit of batch) {
        assert.ok(commit !== null, `${name} has no commit in 1..${upTo}`);
        out.push(`${commit.index}:${commit.digest}:${commit.stateRoot}`);
      }
    }
    return out;
  }

  async function assertSameHistory(names: readonly string[]): Promise<number> {
    const head = Math.min(...(await Promise.all(names.map((n) => devnet.commitIndex(n)))));
    const histories = await Promise.all(names.map((n) => chain(n, head)));
    for (const [i, history] of histories.entries()) {
      assert.equal(history.length, head, `${names[i]}: gap in its history`);
      assert.deepEqual(history, histories[0], `${names[i]} forked from ${names[0]}`);
    }
    return head;
  }

  async function assertSupplyConserved(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const supply = await devnet.client(name).call<{ supply: string; burned: string }>("hs_getSupply");
      assert.equal(
        BigInt(supply.supply) + BigInt(supply.burned),
        GENESIS_SUPPLY,
        `${name}: value not conserved`,
      );
    }
  }

  it("commits transfers, and every node reports the same state root at the same commit index", async () => {
    const recipients = Array.from({ length: 12 }, () => randomAddress());
    const hashes: string[] = [];
    for (const [i, to] of recipients.entries())
      hashes.push(await devnet.transferFromFaucet(ALL[i % 4] as string, to, 1_000n + BigInt(i)));
    for (const hash of hashes) {
      const receipt = await devnet.client("v0").waitForReceipt(hash, 30_000);
      assert.equal(receipt.status, "success");
      finalHashes.push(hash);
    }
    const head = await assertSameHistory(ALL);
    assert.ok(head > 0);
    const roots = await Promise.all(
      ALL.map(async (n) => (await devnet.client(n).getCommit(head))?.stateRoot),
    );
    assert.equal(new Set(roots).size, 1, `state roots at ${head} differ: ${roots.join(", ")}`);
    const balance = await devnet.client("v3").getAccount(formatAddress(recipients[5] as Uint8Array));
    assert.equal(balance.balance, 1_005n);
  });

  it("runs `hyperspace bench load --json` against the devnet: every submitted transfer is final", async () => {
    // The load is paid by a key of its own: the faucet's nonces stay with the devnet's helpers.
    const payerFile = join(devnet.dir, "bench-payer.key.json");
    const payer = createKeyFile(payerFile);
    const funded = await devnet.transferFromFaucet("v0", addressFromPublicKey(payer.publicKey), 10n ** 9n);
    await devnet.client("v0").waitForReceipt(funded, 30_000);
    // Given every validator's endpoint, the generator sends each sender's transfers to its proposer;
    // given one, that validator relays them to their proposers. A warm-up's transfers are not counted.
    for (const [rpcs, warmup] of [
      [devnet.validators.map((v) => v.rpc), "0"],
      [[devnet.validators[1]!.rpc], "1"],
    ] as const) {
      const { stdout } = await run(process.execPath, [
        BIN,
        "bench",
        "load",
        "--rpc",
        ...rpcs,
        "--key",
        payerFile,
        "--tps",
        "100",
        "--duration",
        "2",
        "--warmup",
        warmup,
        "--json",
      ]);
      const result = JSON.parse(stdout.trim().split("\n").at(-1) as string) as {
        submittedTps: number;
        committedTps: number;
        p50Ms: number;
        p99Ms: number;
        finalTransactions: number;
      };
      assert.deepEqual(Object.keys(result).slice(0, 5), [
        "submittedTps",
        "committedTps",
        "p50Ms",
        "p99Ms",
        "finalTransactions",
      ]);
      assert.equal(result.finalTransactions, 200, `${rpcs.length} endpoint(s)`);
      assert.ok(result.committedTps > 0 && result.submittedTps > 0);
      assert.ok(result.p50Ms > 0 && result.p50Ms <= result.p99Ms);
    }
    await assertSupplyConserved(ALL);
  });

  it("re-executes from its consensus store the commits its ledger lost, to the same state roots", async () => {
    // As after a power cut that took the ledger's unsynced writes: v2's ledger
    // and module buckets go, its consensus buckets (below the first ledger bucket) stay.
    await devnet.stop("v2");
    const store = await RocksStore.open(databaseDir(devnet.validator("v2").dataDir));
    const lost = new WriteBatch();
    for await (const { key } of store.iterate(new Uint8Array(0)))
      if ((key[0] ?? 0) >= Bucket.ledgerAccount) lost.delete(key);
    assert.ok(lost.size > 0);
    await store.write(lost);
    await store.close();
    devnet.start("v2");
    const head = await devnet.commitIndex("v0");
    await devnet.waitForIndex(["v2"], head);
    assert.ok((await assertSameHistory(["v0", "v2"])) >= head);
    await assertSupplyConserved(["v2"]);
  });

  it("recovers a validator killed with SIGKILL under load: it catches up with no gap, no fork and no lost transfer", async () => {
    let loading = true;
    const load = (async () => {
      for (let i = 0; loading; i++) {
        const via = ["v0", "v2", "v3"][i % 3] as string;
        const hash = await devnet.transferFromFaucet(via, randomAddress(), 7n);
        void devnet
          .client("v0")
          .waitForReceipt(hash, 60_000)
          .then((r) => r.status === "success" && finalHashes.push(hash))
          .catch(() => {});
        await sleep(40);
      }
    })();
    await sleep(2_000);
    devnet.kill("v1");
    await sleep(10_000);
    devnet.start("v1");
    await until("v1 to serve RPC after restart", () => devnet.client("v1").status(), 60_000);
    loading = false;
    await load;
    const target = Math.max(...(await Promise.all(["v0", "v2", "v3"].map((n) => devnet.commitIndex(n)))));
    await devnet.waitForIndex(["v1"], target, 90_000);
    await assertSameHistory(ALL);
    await sleep(1_000);
    for (const hash of finalHashes) {
      const receipt = await devnet.client("v1").getReceipt(hash);
      assert.ok(
        receipt !== null && receipt.status === "success",
        `final transfer ${hash} missing after recovery`,
      );
    }
    await assertSupplyConserved(ALL);
  });

  it("rejoins a validator whose data directory was deleted, without equivocating", async () => {
    devnet.kill("v2");
    rmSync(join(devnet.validator("v2").dataDir, "db"), { recursive: true, force: true });
    devnet.start("v2");
    await until("v2 to serve RPC", () => devnet.client("v2").status(), 60_000);
    const target = await devnet.commitIndex("v0");
    await devnet.waitForIndex(["v2"], target + 5, 120_000);
    await assertSameHistory(ALL);
    for (const name of ALL) {
      const status = await devnet.client(name).call<{ equivocations: number }>("hs_status");
      assert.equal(status.equivocations, 0, `${name} saw an equivocation`);
    }
  });

  it("stops committing in a 2|2 partition without forking, and resumes after healing", async () => {
    const ids = Object.fromEntries(
      await Promise.all(
        ALL.map(async (n) => [n, (await devnet.client(n).call<{ peerId: string }>("hs_status")).peerId]),
      ),
    ) as Record<string, string>;
    const sides = [
      ["v0", "v1"],
      ["v2", "v3"],
    ];
    const split = async (method: string) => {
      for (const [side, other] of [
        [sides[0], sides[1]],
        [sides[1], sides[0]],
      ] as string[][][]) {
        for (const name of side as string[]) {
          await devnet.client(name).call(method, [(other as string[]).map((n) => ids[n])]);
        }
      }
    };
    await split("hs_admin_denyPeers");
    await sleep(2_000);
    const during = await Promise.all(ALL.map((n) => devnet.commitIndex(n)));
    await sleep(4_000);
    const later = await Promise.all(ALL.map((n) => devnet.commitIndex(n)));
    assert.deepEqual(later, during, "no side of a 2|2 split may commit");
    await assertSameHistory(ALL);

    await split("hs_admin_allowPeers");
    const resumed = Math.max(...later) + 5;
    await devnet.waitForIndex(ALL, resumed, 60_000);
    await assertSameHistory(ALL);
  });

  it("syncs a fresh full node to the head", async () => {
    await devnet.addFullNode("full");
    await devnet.startAll(["full"]);
    const status = await devnet.client("full").status();
    assert.equal(status.validator, false);
    const head = await devnet.commitIndex("v0");
    await devnet.waitForIndex(["full"], head, 120_000);
    await assertSameHistory(["v0", "full"]);
    await assertSupplyConserved(["full"]);
  });
});
