/**
 * The keys, genesis and ledger commands, run in-process on a fresh program
 * against a temporary data dir (RocksDB on disk): the demo flow from new
 * keys to a verified proof.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { Command } from "commander";
import { register as registerGenesis } from "./genesis.ts";
import { register as registerKeys } from "./keys.ts";
import { register as registerLedger } from "./ledger.ts";

const home = mkdtempSync(join(tmpdir(), "hyperspace-cli-"));
after(() => rmSync(home, { recursive: true, force: true }));

/** Runs one command line and returns its stdout; restores process.exitCode. */
async function run(...args: string[]): Promise<{ stdout: string; exitCode: number }> {
  const program = new Command("hyperspace").exitOverride();
  registerKeys(program);
  registerGenesis(program);
  registerLedger(program);
  let stdout = "";
  const write = process.stdout.write.bind(process.stdout);
  // Commands write strings; the test runner's own protocol goes through as bytes.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== "string") return write(chunk, ...rest);
    stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.exitCode = 0;
  try {
    const needsDataDir = args[0] !== "keys" && args[1] !== "verify-proof";
    await program.parseAsync(needsDataDir ? [...args, "--data-dir", home] : args, { from: "user" });
  } finally {
    process.stdout.write = write;
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stdout, exitCode };
}

const json = async (...args: string[]) => JSON.parse((await run(...args, "--json")).stdout);

it("runs the demo flow: keys, genesis, transfers, apply, show, prove, verify, receipt", async () => {
  const alice = await json("keys", "new", "--out", join(home, "alice.json"));
  const bob = (await run("keys", "new", "--out", join(home, "bob.json"))).stdout.trim();
  await run("keys", "new", "--out", join(home, "v1.json"));
  assert.equal(statSync(join(home, "alice.json")).mode & 0o777, 0o600);
  assert.equal((await json("keys", "show", join(home, "alice.json"))).address, alice.address);
  assert.ok(!readFileSync(join(home, "alice.json"), "utf8").includes("undefined"));

  const genesis = await json(
    "genesis",
    "--chain-id",
    "cli-test",
    "--genesis-time-ms",
    "1700000000000",
    "--account",
    `${alice.address}=1000000`,
    "--validator-key",
    join(home, "v1.json"),
    "--validator-balance",
    "10",
  );
  assert.equal(genesis.supply, String(1_000_000 + 1_000 + 10));

  const made = await json(
    "ledger",
    "make-transfers",
    "--key",
    join(home, "alice.json"),
    "--to",
    bob,
    "--count",
    "3",
    "--amount",
    "250",
    "--fee",
    "10",
    "--out",
    join(home, "tx.txt"),
  );
  assert.equal(made.firstNonce, 0);
  const applied = await json("ledger", "apply", join(home, "tx.txt"), "--per-commit", "2");
  assert.deepEqual(
    applied.commits.map((c: { index: number; executed: number }) => [c.index, c.executed]),
    [
      [1, 2],
      [2, 1],
    ],
  );
  const again = await json("ledger", "apply", join(home, "tx.txt"));
  assert.deepEqual(
    again.commits[0].rejected.map((r: { reason: string }) => r.reason),
    ["DUPLICATE", "DUPLICATE", "DUPLICATE"],
  );

  const shown = await json("ledger", "show", bob);
  assert.deepEqual(shown.account, { balance: "750", nonce: 0, stake: "0" });
  assert.equal((await json("ledger", "show", alice.address)).account.balance, String(1_000_000 - 750 - 30));
  // The next batch picks up alice's nonce from the ledger.
  assert.equal(
    (await json("ledger", "make-transfers", "--key", join(home, "alice.json"), "--to", bob)).firstNonce,
    3,
  );

  const proved = await json("ledger", "prove", bob);
  assert.equal(proved.verified, true);
  assert.equal(proved.stateRoot, shown.stateRoot);
  assert.equal(
    (await run("ledger", "verify-proof", "--root", proved.stateRoot, "--proof", proved.proof)).exitCode,
    0,
  );
  const wrongRoot = `${proved.stateRoot[0] === "0" ? "1" : "0"}${proved.stateRoot.slice(1)}`;
  assert.equal(
    (await run("ledger", "verify-proof", "--root", wrongRoot, "--proof", proved.proof)).exitCode,
    1,
  );

  const receipt = await json("ledger", "receipt", made.txHashes[2]);
  assert.equal(receipt.commitIndex, 2);
  assert.equal(receipt.success, true);
  const info = await json("ledger", "info");
  assert.equal(BigInt(info.totals.supply) + BigInt(info.totals.burned), 1_001_010n);
});
