/**
 * The conformance runner. Each vector file in a directory holds one vector
 * object or an array of them; each vector names its `kind`, and the kind picks
 * the layer's checker. Layers add kinds here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkCommitterVector } from "../consensus/index.ts";
import { checkSpecVector, SPEC_VECTOR_KINDS, type VectorResult } from "../spec/index.ts";

type Checker = (vector: Record<string, never>) => VectorResult;

const CHECKERS = new Map<string, Checker>(
  SPEC_VECTOR_KINDS.map((kind) => [kind, checkSpecVector as Checker]),
);
CHECKERS.set("committer", checkCommitterVector as Checker);

export interface VectorOutcome {
  readonly file: string;
  readonly name: string;
  readonly kind: string;
  readonly ok: boolean;
  readonly detail: string;
}

export function runVectorFile(path: string, file: string): VectorOutcome[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    return [{ file, name: file, kind: "?", ok: false, detail: `unreadable: ${(error as Error).message}` }];
  }
  const vectors = Array.isArray(parsed) ? parsed : [parsed];
  return vectors.map((vector: Record<string, never>, i) => {
    const kind = String(vector?.kind ?? "?");
    const name = String(vector?.name ?? `${file}#${i}`);
    const checker = CHECKERS.get(kind);
    if (checker === undefined)
      return { file, name, kind, ok: false, detail: `unknown vector kind "${kind}"` };
    try {
      return { file, name, kind, ...checker(vector) };
    } catch (error) {
      return { file, name, kind, ok: false, detail: `malformed vector: ${(error as Error).message}` };
    }
  });
}

/** Runs every `*.json` file in `dir` (sorted by name) and returns one outcome per vector. */
export function runConformance(dir: string): VectorOutcome[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  return files.flatMap((file) => runVectorFile(join(dir, file), file));
}
