/**
 * Execution providers. The CPU provider is the default and always present.
 * CUDA is used only when the caller asks for it ("cuda", or "auto") and a
 * session can actually be created on it; this build of onnxruntime-node ships
 * without the CUDA provider library, so here "auto" resolves to cpu.
 */
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { assert } from "../spec/index.ts";
import { ComputeError } from "./errors.ts";

export type Device = "cpu" | "cuda" | "auto";
export type ExecutionProvider = "cpu" | "cuda";

/** More intra-op threads than this buys nothing for models of this size and hurts neighbours on a shared host. */
export const SESSION_THREADS_MAX = 64;
/**
 * One thread by default: outputs are bitwise identical for a fixed thread
 * count but may differ across thread counts, so anything that must reproduce
 * (generation with a seed, the training build) pins it.
 */
export const SESSION_THREADS_DEFAULT = 1;

export interface SessionSettings {
  readonly device?: Device;
  /** intraOpNumThreads; interOpNumThreads is always 1 (ops run in sequence). */
  readonly threads?: number;
}

export interface CreatedSession {
  readonly session: ort.InferenceSession;
  readonly provider: ExecutionProvider;
  readonly threads: number;
}

export function parseDevice(text: string): Device {
  if (text === "cpu" || text === "cuda" || text === "auto") return text;
  throw new ComputeError("BAD_REQUEST", `unknown device ${JSON.stringify(text)} (cpu, cuda or auto)`, {
    device: text,
  });
}

/** Whether this onnxruntime build lists a CUDA backend at all (a session may still fail to start on it). */
export function cudaListed(): boolean {
  return ort.listSupportedBackends().some((backend) => backend.name === "cuda");
}

/**
 * Feature detection for CUDA: the backend is listed and, on Linux, its
 * provider library sits beside the native binding (onnxruntime-node ships it
 * separately; without it a session on cuda cannot start). Elsewhere, session
 * creation decides.
 */
export function cudaAvailable(): boolean {
  if (!cudaListed()) return false;
  if (process.platform !== "linux") return true;
  const bin = join(dirname(createRequire(import.meta.url).resolve("onnxruntime-node")), "..", "bin");
  if (!existsSync(bin)) return false;
  return readdirSync(bin).some((napi) =>
    existsSync(join(bin, napi, "linux", process.arch, "libonnxruntime_providers_cuda.so")),
  );
}

function ortOptions(provider: ExecutionProvider, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    // Idle pool threads sleep instead of spinning: this host's cores are shared.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
}

export async function createSession(
  model: Uint8Array,
  settings: SessionSettings = {},
): Promise<CreatedSession> {
  const device = settings.device ?? "cpu";
  const threads = settings.threads ?? SESSION_THREADS_DEFAULT;
  if (!Number.isInteger(threads) || threads < 1 || threads > SESSION_THREADS_MAX) {
    throw new ComputeError("BAD_REQUEST", `threads must be an integer in [1, ${SESSION_THREADS_MAX}]`, {
      threads,
    });
  }
  if (device !== "cpu") {
    let cudaError: unknown = "this onnxruntime install has no cuda provider library";
    if (cudaAvailable()) {
      try {
        // Fatal-only logging: a missing provider library is an expected outcome here, reported below.
        const session = await ort.InferenceSession.create(model, {
          ...ortOptions("cuda", threads),
          logSeverityLevel: 4,
        });
        return { session, provider: "cuda", threads };
      } catch (error) {
        cudaError = error;
      }
    }
    if (device === "cuda") {
      throw new ComputeError("DEVICE_UNAVAILABLE", "the cuda execution provider is not available here", {
        device,
        reason: String(cudaError instanceof Error ? cudaError.message : cudaError),
      });
    }
  }
  try {
    const session = await ort.InferenceSession.create(model, ortOptions("cpu", threads));
    return { session, provider: "cpu", threads };
  } catch (error) {
    throw new ComputeError("BAD_MODEL", `onnxruntime cannot load the model: ${(error as Error).message}`, {});
  }
}

/** Runs `session` and asserts every named output came back. */
export async function runSession(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
): Promise<ort.InferenceSession.ReturnType> {
  const result = await session.run(feeds);
  for (const name of session.outputNames)
    assert(result[name] !== undefined, `session output ${name} missing`);
  return result;
}
