import { HyperspaceError } from "../spec/index.ts";

/**
 * Gossip and stream validation results. A handler throws a ValidationError
 * with IGNORE (drop, no penalty: duplicate, too old, not for us) or REJECT
 * (drop and penalise: malformed, badly signed, invalid); anything else it
 * throws counts as REJECT. `classify` is the one place that maps an outcome
 * to the action and counts it.
 */
export type ValidationAction = "ACCEPT" | "IGNORE" | "REJECT";

export class ValidationError extends HyperspaceError<"IGNORE" | "REJECT", { reason: string }> {
  constructor(action: "IGNORE" | "REJECT", reason: string) {
    super(action, reason, { reason });
  }
}

export interface ValidationMetrics {
  countValidation(kind: string, action: ValidationAction, reason: string): void;
}

export function classify(
  kind: string,
  error: unknown | null,
  metrics: ValidationMetrics | null,
): ValidationAction {
  let action: ValidationAction;
  let reason: string;
  if (error === null) {
    action = "ACCEPT";
    reason = "ok";
  } else if (error instanceof ValidationError) {
    action = error.code;
    reason = error.payload.reason;
  } else if (error instanceof HyperspaceError) {
    action = "REJECT";
    reason = error.code;
  } else {
    action = "REJECT";
    reason = "error";
  }
  metrics?.countValidation(kind, action, reason);
  return action;
}
