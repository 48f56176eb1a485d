/**
 * `npm run bench [-- NAME...]` runs every bench/<name>.bench.ts (or the named
 * ones) in turn. Each prints its figures beside the bounds measured in the
 * same run; README's benchmark table records the latest figures.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

const wanted = new Set(process.argv.slice(2));
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => wanted.size === 0 || wanted.has(f.replace(/\.bench\.ts$/, "")))
  .sort();
if (files.length === 0) {
  console.error(`no bench matches ${[...wanted].join(", ")}`);
  process.exit(2);
}
for (const file of files) {
  const name = file.replace(/\.bench\.ts$/, "");
  console.log(`\n## ${name}`);
  const started = performance.now();
  const module = (await import(join(import.meta.dirname, file))) as { bench: () => Promise<void> };
  await module.bench();
  console.log(`(${name} took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
