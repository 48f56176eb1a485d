/**
 * The validator bench: `hyperspace bench load` against a 4-validator devnet
 * on this machine, for 60 s. Prints sustained committed tx/s, p50 and p99
 * submit-to-final latency, and the ratio to the signature bound measured in
 * the same run: ed25519 verifications per second on all cores (one worker
 * thread per core) divided by the 4 validators, since every validator
 * verifies every transaction. Target: at least 0.5 of that bound, with p50
 * under 500 ms.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { runLoad } from "../node/loadgen.ts";
import { TestDevnet } from "../node/test-devnet.ts";

const VALIDATORS = 4;
const DURATION_S = Number(process.env.BENCH_DEVNET_SECONDS ?? 60);
/** Offered load; BENCH_DEVNET_TPS overrides it. */
const TARGET_TPS = Number(process.env.BENCH_DEVNET_TPS ?? 1_000);
const VERIFY_SECONDS = 2;

/** Each worker verifies one signature over and over through node:crypto for VERIFY_SECONDS. */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { generateKeyPairSync, sign, verify } = require("node:crypto");
const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const message = Buffer.alloc(32, 7);
const signature = sign(null, message, privateKey);
let count = 0;
const end = Date.now() + workerData.ms;
while (Date.now() < end) { for (let i = 0; i < 100; i++) verify(null, message, publicKey, signature); count += 100; }
parentPort.postMessage(count);
`;

async function verifyRateAllCores(): Promise<number> {
  const cores = availableParallelism();
  const counts = await Promise.all(
    Array.from(
      { length: cores },
      () =>
        new Promise<number>((resolve, reject) => {
          const worker = new Worker(WORKER, { eval: true, workerData: { ms: VERIFY_SECONDS * 1000 } });
          worker.once("message", resolve);
          worker.once("error", reject);
        }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0) / VERIFY_SECONDS;
}

export async function bench(): Promise<void> {
  const verifyRate = await verifyRateAllCores();
  const bound = verifyRate / VALIDATORS;
  const devnet = await TestDevnet.create(VALIDATORS);
  try {
    await devnet.startAll();
    const result = await runLoad({
      rpcs: devnet.validators.map((v) => v.rpc),
      tps: TARGET_TPS,
      durationS: DURATION_S,
      faucet: devnet.faucet,
      log: (line) => console.log(`  ${line}`),
    });
    console.log(
      `offered load = ${TARGET_TPS} tx/s for ${DURATION_S} s; submitted ${result.submittedTps.toFixed(0)} tx/s`,
    );
    console.log(
      `committed tx/s = ${result.committedTps.toFixed(0)} (${(result.committedTps / bound).toFixed(2)} x signature bound = ${bound.toFixed(0)} tx/s: ${verifyRate.toFixed(0)} verifies/s on ${availableParallelism()} cores / ${VALIDATORS} validators; target >= 0.50)`,
    );
    console.log(
      `submit-to-final p50 = ${result.p50Ms.toFixed(0)} ms (target < 500 ms), p99 = ${result.p99Ms.toFixed(0)} ms`,
    );
    console.log(
      `final transactions = ${result.finalTransactions} of ${result.submitted} submitted (${result.refused} refused)`,
    );
  } finally {
    await devnet.close();
  }
}
