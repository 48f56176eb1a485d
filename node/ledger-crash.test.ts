/**
 * kill -9 recovery of the ledger: a child process applies commits to a
 * RocksDB ledger and is SIGKILLed at a varied moment (while opening, or
 * between and inside commits); the test reopens the directory and checks
 * that the state is exactly that of a reference ledger that applied the
 * same prefix of commits (root, every account, receipts, last index). The
 * same directory is reused across rounds, so each round also resumes after
 * the previous crash.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { Ledger, MemoryStore, openRocksStore } from "../ledger/index.ts";
import { decodeTransaction, toHex, transactionDigest } from "../spec/index.ts";
import { crashAddresses, crashCommit, crashGenesis } from "./ledger-crash-workload.ts";

const seed = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);
console.log(`ledger-crash.test seed=${seed} (replay with CRASH_SEED=${seed})`);

/** Small deterministic generator (mulberry32) for kill delays. */
function random(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rounds of spawn-and-kill: six keeps the test near 10 s on two cores. */
const ROUNDS = 6;
/** The child never reaches this many commits before it is killed. */
const COMMITS_MAX = 1_000_000;

/** Spawns the child and SIGKILLs it `delayMs` after it prints `after` (or after spawning when null). */
function runAndKill(dir: string, after: "opened" | "applied" | null, delayMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "ledger-crash-child.ts"), dir, String(COMMITS_MAX)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    let armed = false;
    const arm = () => {
      if (armed) return;
      armed = true;
      setTimeout(() => child.kill("SIGKILL"), delayMs);
    };
    if (after === null) arm();
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (after !== null && output.includes(after)) arm();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", reject);
    // "close" fires after the child's output is fully read, unlike "exit".
    child.on("close", (code, signal) => {
      if (signal === "SIGKILL") resolve(output);
      else reject(new Error(`child exited with ${code} before the kill:\n${output}`));
    });
  });
}

it("resumes at the last fully applied commit after kill -9 at varied points", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hyperspace-crash-"));
  const next = random(seed);
  const genesis = crashGenesis();
  const reference = await Ledger.open({ store: new MemoryStore(), genesis });
  let previous = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Round 0 may land inside open (the genesis batch); later rounds land among commits.
      const after = round === 0 ? null : next() < 0.3 ? "opened" : "applied";
      const delayMs = Math.floor(next() * (round === 0 ? 1500 : 400));
      const output = await runAndKill(dir, after, delayMs);
      const printed = [...output.matchAll(/applied (\d+)/g)].map((m) => Number(m[1]));
      const lastPrinted = printed.length === 0 ? previous : Math.max(...printed);

      const store = await openRocksStore(dir);
      try {
        const recovered = await Ledger.open({ store, genesis });
        const index = recovered.lastAppliedIndex;
        // A commit is durable once its write resolved (so once printed); at most one more may have landed.
        assert.ok(
          index >= lastPrinted && index <= lastPrinted + 1,
          `index ${index}, last printed ${lastPrinted}`,
        );
        assert.ok(index >= previous, "nothing committed is lost");
        while (reference.lastAppliedIndex < index)
          await reference.applyCommit(crashCommit(reference.lastAppliedIndex + 1));
        assert.equal(toHex(recovered.stateRoot), toHex(reference.stateRoot), `root after commit ${index}`);
        for (const address of crashAddresses)
          assert.deepEqual(recovered.getAccount(address), reference.getAccount(address));
        assert.deepEqual(recovered.totals(), reference.totals());
        // Receipts went in the same batch: present for the last commit, absent for the next.
        if (index > 0) {
          const tx = decodeTransaction(crashCommit(index).transactions[0]!);
          assert.equal((await recovered.getReceipt(transactionDigest(tx)))?.commitIndex, index);
        }
        const nextTx = decodeTransaction(crashCommit(index + 1).transactions[0]!);
        assert.equal(await recovered.getReceipt(transactionDigest(nextTx)), null);
        console.log(
          `round ${round}: killed ${after ?? "after spawn"} +${delayMs} ms, resumed at commit ${index}`,
        );
        previous = index;
        await recovered.close();
      } finally {
        await store.close();
      }
    }
    assert.ok(previous > 0, "the child applied commits before the last kill");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
