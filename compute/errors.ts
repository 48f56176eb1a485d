import { HyperspaceError } from "../spec/index.ts";

/**
 * Expected failures of the compute layer. Each has a code from this closed
 * union and a payload saying what was wrong.
 *
 * - QUEUE_FULL: a session's request queue is at capacity; the request was refused, retry later.
 * - SESSION_CLOSED: the session was closed before or while the request waited.
 * - DEVICE_UNAVAILABLE: the requested execution provider (e.g. cuda) is not present here.
 * - BAD_MODEL: a model file that cannot be loaded or lacks the metadata we need.
 * - BAD_MANIFEST: a manifest that does not parse or has the wrong shape.
 * - HASH_MISMATCH: a model file whose sha256 differs from its manifest's.
 * - BAD_REQUEST: an argument out of range (temperature, top-k, token count, batch shape).
 * - CANCELLED: the caller aborted a generation.
 */
export type ComputeErrorCode =
  | "QUEUE_FULL"
  | "SESSION_CLOSED"
  | "DEVICE_UNAVAILABLE"
  | "BAD_MODEL"
  | "BAD_MANIFEST"
  | "HASH_MISMATCH"
  | "BAD_REQUEST"
  | "CANCELLED";

export class ComputeError extends HyperspaceError<ComputeErrorCode, Record<string, unknown>> {}
