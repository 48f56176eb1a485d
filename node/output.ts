/**
 * CLI output helpers. Every command takes `--json`; with it the command prints
 * exactly one JSON value on its last line. Bigints print as decimal strings
 * and bytes as hex, as everywhere in JSON.
 */
import { toHex } from "../spec/index.ts";

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Uint8Array) return toHex(v);
    return v;
  });
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

/** Raised for bad command-line input; the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
