// `npm test`: finds every *.test.ts outside node_modules and runs them with
// Node's test runner through tsx (Node 20's --test takes no glob patterns).
// Extra arguments narrow the run to files whose path contains one of them.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const filters = process.argv.slice(2);

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return find(path);
    return entry.name.endsWith(".test.ts") ? [relative(root, path)] : [];
  });
}

const files = find(root)
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--import", "./node/polyfill.js", "--import", "tsx", "--test", "--test-concurrency=2", ...files],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
