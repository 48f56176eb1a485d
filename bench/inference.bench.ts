/**
 * Inference throughput of the shipped model through bare onnxruntime
 * session.run calls (no queue, no metering): one stream generating token by
 * token, and the time to its first token. Each figure is printed beside its
 * bound, measured in the same run:
 * - tokens/s of one stream against the batched bound: tokens/s when each run
 *   serves SESSION_BATCH_ROWS_MAX streams at once (what batching can reach);
 * - time to first token against one bare session.run (the least it can be).
 * The metered path (router, payment channel, provider) is measured against
 * the same bare loop in bench/market.bench.ts.
 */

import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import {
  CONTEXT_INPUT,
  createSession,
  encodeText,
  inspectModel,
  LOGITS_OUTPUT,
  Prng,
  SESSION_BATCH_ROWS_MAX,
  SHIPPED_MODEL_PATH,
  sampleToken,
} from "../compute/index.ts";
import { median } from "../consensus/index.ts";

/** Tokens generated for the throughput figure: about a second of work here, enough for a steady rate. */
const GENERATED_TOKENS = 10_000;
/** First-token trials; the median is reported. */
const FIRST_TOKEN_TRIALS = 50;
/** Batched runs for the bound. */
const BATCHED_RUNS = 300;
const PROMPT = "And the LORD said unto Moses, ";

export async function bench(): Promise<void> {
  const inspected = inspectModel(SHIPPED_MODEL_PATH);
  const { contextLength, vocabSize } = inspected.architecture;
  const loadStarted = performance.now();
  const { session } = await createSession(new Uint8Array(readFileSync(SHIPPED_MODEL_PATH)), { threads: 1 });
  const loadMs = performance.now() - loadStarted;
  const sampling = { temperature: 0.8, topK: 0 };
  const run = async (context: Int32Array, rows: number): Promise<Float32Array> => {
    const result = await session.run({
      [CONTEXT_INPUT]: new ort.Tensor("int32", context, [rows, contextLength]),
    });
    return result[LOGITS_OUTPUT]!.data as Float32Array;
  };
  const contextOf = (tokens: number[]): Int32Array => {
    const context = new Int32Array(contextLength).fill(10);
    const tail = tokens.slice(-contextLength);
    context.set(tail, contextLength - tail.length);
    return context;
  };

  try {
    // Warm-up.
    for (let i = 0; i < 50; i++) await run(contextOf([65]), 1);

    // One stream: run, sample, append, repeat.
    const prng = new Prng(1);
    const tokens = Array.from(encodeText(PROMPT));
    const started = performance.now();
    for (let i = 0; i < GENERATED_TOKENS; i++)
      tokens.push(sampleToken(await run(contextOf(tokens), 1), sampling, prng));
    const streamSeconds = (performance.now() - started) / 1000;
    const tokensPerSecond = GENERATED_TOKENS / streamSeconds;

    // Batched bound: SESSION_BATCH_ROWS_MAX streams per run.
    const rows = SESSION_BATCH_ROWS_MAX;
    const batch = new Int32Array(rows * contextLength);
    for (let r = 0; r < rows; r++)
      batch.set(contextOf(tokens.slice(0, PROMPT.length + r)), r * contextLength);
    const batchedStarted = performance.now();
    for (let i = 0; i < BATCHED_RUNS; i++) {
      const logits = await run(batch, rows);
      for (let r = 0; r < rows; r++)
        sampleToken(logits.subarray(r * vocabSize, (r + 1) * vocabSize), sampling, prng);
    }
    const batchedTokensPerSecond = (BATCHED_RUNS * rows) / ((performance.now() - batchedStarted) / 1000);

    // Time to first token on a warm session: encode the prompt, one run, one sample.
    const firstToken: number[] = [];
    const bareRun: number[] = [];
    for (let i = 0; i < FIRST_TOKEN_TRIALS; i++) {
      const t0 = performance.now();
      sampleToken(await run(contextOf(Array.from(encodeText(PROMPT))), 1), sampling, new Prng(i));
      firstToken.push(performance.now() - t0);
      const context = contextOf([65 + (i % 26)]);
      const t1 = performance.now();
      await run(context, 1);
      bareRun.push(performance.now() - t1);
    }
    const firstTokenMs = median(firstToken);
    const bareRunMs = median(bareRun);

    process.stdout.write(
      [
        `inference model = ${inspected.path.split("/").slice(-3).join("/")} (${inspected.bytes} bytes, sha256 ${inspected.sha256.slice(0, 16)}..., ${inspected.architecture.parameterCount} parameters, 1 thread, cpu)`,
        `inference session load = ${loadMs.toFixed(1)} ms`,
        `inference raw session.run tokens/s (1 stream) = ${tokensPerSecond.toFixed(0)} (${(tokensPerSecond / batchedTokensPerSecond).toFixed(2)} x batched bound = ${batchedTokensPerSecond.toFixed(0)} tokens/s at ${rows} streams per run)`,
        `inference time to first token = ${firstTokenMs.toFixed(3)} ms (${(firstTokenMs / bareRunMs).toFixed(2)} x min bound = ${bareRunMs.toFixed(3)} ms, one bare session.run)`,
        "",
      ].join("\n"),
    );
  } finally {
    await session.release();
  }
}
