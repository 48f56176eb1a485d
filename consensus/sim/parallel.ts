/**
 * Sweeps on worker threads, one job per configuration, so a many-seed run
 * uses every core. Each job is deterministic on its own, so the results do
 * not depend on how jobs land on threads.
 */
import { Worker } from "node:worker_threads";
import type { SweepSummary } from "./sweep.ts";
import type { SweepJob } from "./sweep_worker.ts";

export interface SweepJobResult {
  readonly job: SweepJob;
  readonly summary: SweepSummary;
  readonly wallMs: number;
}

/**
 * Workers do not inherit the TypeScript loader: each one registers tsx (as
 * bin/hyperspace.js does) before importing the worker module.
 */
function bootstrap(): URL {
  const source =
    `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))};\n` +
    "register();\n" +
    `await import(${JSON.stringify(new URL("./sweep_worker.ts", import.meta.url).href)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

export async function runSweepsInParallel(
  jobs: readonly SweepJob[],
  threads: number,
): Promise<SweepJobResult[]> {
  const results: SweepJobResult[] = new Array(jobs.length);
  let next = 0;
  const workers = Array.from(
    { length: Math.max(1, Math.min(threads, jobs.length)) },
    () => new Worker(bootstrap()),
  );
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let current = -1;
            const feed = () => {
              if (next >= jobs.length) return resolve();
              current = next++;
              worker.postMessage(jobs[current]);
            };
            worker.on("message", (message: { summary: SweepSummary; wallMs: number }) => {
              results[current] = { job: jobs[current]!, summary: message.summary, wallMs: message.wallMs };
              feed();
            });
            worker.on("error", reject);
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
