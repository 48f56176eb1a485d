/**
 * Child process of node/ledger-crash.test.ts: opens the ledger in a RocksDB
 * directory and applies crash-workload commits from where it left off,
 * printing "applied <index>" after each, until killed (or `lastIndex`).
 *
 *   node --import tsx node/ledger-crash-child.ts <dir> <lastIndex>
 */
import { Ledger, openRocksStore } from "../ledger/index.ts";
import { crashCommit, crashGenesis } from "./ledger-crash-workload.ts";

const [dir, lastText] = process.argv.slice(2);
if (dir === undefined || lastText === undefined)
  throw new Error("usage: ledger-crash-child <dir> <lastIndex>");
const lastIndex = Number(lastText);
const store = await openRocksStore(dir);
const ledger = await Ledger.open({ store, genesis: crashGenesis() });
process.stdout.write(`opened ${ledger.lastAppliedIndex}\n`);
for (let index = ledger.lastAppliedIndex + 1; index <= lastIndex; index++) {
  await ledger.applyCommit(crashCommit(index));
  process.stdout.write(`applied ${index}\n`);
}
await ledger.close();
await store.close();
