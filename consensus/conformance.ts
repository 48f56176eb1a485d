/**
 * Committer conformance vectors (kind "committer"). A vector gives stakes, a
 * text DAG (test_dag.ts) and the sequence of decided leaders the universal
 * committer must return from round 1 up to the first undecided leader, as
 * "commit C13'" or "skip A4". Leaders are round-robin (round r: authority
 * r mod n), waves are 3 rounds, pipelined. Leader rounds are considered up to
 * the DAG's highest round minus 2 (the last one that can have a decision
 * round). Besides the expected sequence, the checker requires idempotence
 * (a second call answers the same) and resumption (starting from any decided
 * leader yields the rest of the sequence).
 */
import { formatSlot, type Slot } from "./block_ref.ts";
import { DagState } from "./dag_state.ts";
import { verifiedGenesis } from "./genesis.ts";
import { LeaderSchedule } from "./leader_schedule.ts";
import type { DecidedLeader } from "./leader_status.ts";
import { parseDag, type TestDag } from "./test_dag.ts";
import { UniversalCommitter } from "./universal_committer.ts";
import { VerifiedBlock } from "./verified_block.ts";

export interface CommitterVector {
  readonly kind: "committer";
  readonly name: string;
  readonly stakes: readonly number[];
  readonly waveLength: 3;
  readonly pipelined: true;
  readonly leaderSchedule: "round-robin";
  readonly dag: string;
  readonly expect: readonly string[];
}

export interface CommitterVectorResult {
  readonly ok: boolean;
  readonly detail: string;
}

function parseVector(value: unknown): CommitterVector {
  if (typeof value !== "object" || value === null) throw new Error("a vector is an object");
  const v = value as Record<string, unknown>;
  if (v.kind !== "committer") throw new Error(`kind must be "committer"`);
  if (typeof v.name !== "string") throw new Error("name must be a string");
  if (
    !Array.isArray(v.stakes) ||
    v.stakes.length === 0 ||
    !v.stakes.every((s) => Number.isSafeInteger(s) && s > 0)
  ) {
    throw new Error("stakes must be a non-empty array of positive integers");
  }
  if (v.waveLength !== 3) throw new Error("waveLength must be 3");
  if (v.pipelined !== true) throw new Error("pipelined must be true");
  if (v.leaderSchedule !== "round-robin") throw new Error(`leaderSchedule must be "round-robin"`);
  if (typeof v.dag !== "string") throw new Error("dag must be a string");
  if (!Array.isArray(v.expect) || !v.expect.every((e) => typeof e === "string")) {
    throw new Error("expect must be an array of strings");
  }
  return v as unknown as CommitterVector;
}

/** Builds the DAG state of a parsed text DAG and a round-robin pipelined committer over it. */
export function committerForDag(dag: TestDag): {
  state: DagState;
  committer: UniversalCommitter;
  schedule: LeaderSchedule;
} {
  const state = new DagState(dag.committee, verifiedGenesis(dag.committee));
  for (const block of dag.blocks) state.accept(new VerifiedBlock(block));
  const schedule = new LeaderSchedule(dag.committee, "round-robin");
  const committer = new UniversalCommitter(dag.committee, state, schedule, {
    waveLength: 3,
    pipelined: true,
  });
  return { state, committer, schedule };
}

export function formatDecision(dag: TestDag, decision: DecidedLeader): string {
  return decision.kind === "commit"
    ? `commit ${dag.nameOf(decision.block.key) ?? formatSlot(decision.slot)}`
    : `skip ${formatSlot(decision.slot)}`;
}

export function checkCommitterVector(vector: unknown): CommitterVectorResult {
  const v = parseVector(vector);
  const dag = parseDag(v.dag, { stakes: v.stakes });
  const { committer, schedule } = committerForDag(dag);
  const genesisLeader: Slot = { round: 0, author: schedule.elect(0) };
  const run = (from: Slot) => committer.tryDecide(from).map((d) => formatDecision(dag, d));

  const decided = committer.tryDecide(genesisLeader);
  const actual = decided.map((d) => formatDecision(dag, d));
  const shown = actual.length === 0 ? "(nothing decided)" : actual.join(", ");
  if (actual.length !== v.expect.length || actual.some((a, i) => a !== v.expect[i])) {
    return { ok: false, detail: `expected ${v.expect.join(", ") || "(nothing decided)"}; got ${shown}` };
  }
  const again = run(genesisLeader);
  if (again.join() !== actual.join())
    return { ok: false, detail: `not idempotent: second call gave ${again.join(", ")}` };
  for (let i = 0; i < decided.length; i++) {
    const rest = run(decided[i]!.slot);
    if (rest.join() !== actual.slice(i + 1).join()) {
      return { ok: false, detail: `resuming after ${actual[i]} gave ${rest.join(", ") || "nothing"}` };
    }
  }
  return { ok: true, detail: shown };
}
