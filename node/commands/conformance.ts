import type { Command } from "commander";
import { runConformance } from "../conformance.ts";
import { printJson, UsageError } from "../output.ts";

export function register(program: Command): void {
  program
    .command("conformance")
    .description("run every conformance vector file in DIR; prints one line per vector, exits 1 if any fails")
    .argument("<dir>", "directory of *.json vector files")
    .option("--json", "print one JSON object with every outcome")
    .action((dir: string, options: { json?: boolean }) => {
      let outcomes: ReturnType<typeof runConformance>;
      try {
        outcomes = runConformance(dir);
      } catch (error) {
        throw new UsageError(`cannot read ${dir}: ${(error as Error).message}`);
      }
      const failed = outcomes.filter((o) => !o.ok).length;
      if (options.json) {
        printJson({ passed: outcomes.length - failed, failed, vectors: outcomes });
      } else {
        for (const o of outcomes) {
          process.stdout.write(`${o.ok ? "pass" : "FAIL"} ${o.kind} ${o.name} (${o.file}): ${o.detail}\n`);
        }
        process.stdout.write(`${outcomes.length - failed} passed, ${failed} failed\n`);
      }
      if (failed > 0 || outcomes.length === 0) process.exitCode = 1;
    });
}
