/**
 * Loading a model file for inference: check it (size, sha256 against the
 * manifest beside it, the architecture in its metadata), open one session on
 * it, and serve logits and text generation through that session's queue.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256, toHex } from "../spec/index.ts";
import type { ExecutionProvider } from "./device.ts";
import { ComputeError } from "./errors.ts";
import { type GeneratedToken, type GenerateRequest, generateTokens } from "./generate.ts";
import {
  MANIFEST_BYTES_MAX,
  MODEL_METADATA_KEY,
  type ModelDescription,
  type ModelManifest,
  manifestPathFor,
  parseDescription,
  parseManifest,
} from "./manifest.ts";
import { readModelMetadata } from "./onnx/graph.ts";
import { ModelSession, type ModelSessionOptions } from "./session.ts";

/** The model that ships with the repository. */
export const SHIPPED_MODEL_PATH = fileURLToPath(new URL("./models/kjv-mlp.onnx", import.meta.url));
/** Model files over 64 MiB are refused: the shipped one is under 2 MB and the project's bound is 10 MB. */
export const MODEL_BYTES_MAX = 64 * 1024 * 1024;

export interface InspectedModel extends ModelDescription {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  /** The manifest beside the file, checked against it; null when there is none. */
  readonly manifest: ModelManifest | null;
}

/**
 * Reads and checks a model file without starting a session. Throws BAD_MODEL
 * for an unreadable or undescribed file, BAD_MANIFEST for a malformed
 * manifest and HASH_MISMATCH when the file is not the one the manifest names.
 */
export function inspectModel(
  path: string = SHIPPED_MODEL_PATH,
): InspectedModel & { readonly model: Uint8Array } {
  let model: Uint8Array;
  try {
    const size = statSync(path).size;
    if (size > MODEL_BYTES_MAX) throw new Error(`${size} bytes is over the ${MODEL_BYTES_MAX}-byte bound`);
    model = new Uint8Array(readFileSync(path));
  } catch (error) {
    throw new ComputeError("BAD_MODEL", `cannot read model ${path}: ${(error as Error).message}`, { path });
  }
  const digest = toHex(sha256(model));

  // The manifest, when there is one, pins the bytes: check them before parsing anything inside.
  const manifestPath = manifestPathFor(path);
  let manifest: ModelManifest | null = null;
  if (existsSync(manifestPath)) {
    if (statSync(manifestPath).size > MANIFEST_BYTES_MAX) {
      throw new ComputeError("BAD_MANIFEST", `${manifestPath} is over ${MANIFEST_BYTES_MAX} bytes`, {});
    }
    manifest = parseManifest(readFileSync(manifestPath, "utf8"));
    if (manifest.sha256 !== digest || manifest.file !== basename(path)) {
      throw new ComputeError("HASH_MISMATCH", `${path} is not the model its manifest describes`, {
        expected: manifest.sha256,
        actual: digest,
        manifestFile: manifest.file,
      });
    }
  }

  let metadata: Record<string, string>;
  try {
    metadata = readModelMetadata(model);
  } catch (error) {
    throw new ComputeError("BAD_MODEL", `${path} is not an ONNX model: ${(error as Error).message}`, {
      path,
    });
  }
  const text = metadata[MODEL_METADATA_KEY];
  if (text === undefined)
    throw new ComputeError("BAD_MODEL", `${path} has no ${MODEL_METADATA_KEY} metadata`, { path });
  let described: unknown;
  try {
    described = JSON.parse(text);
  } catch {
    throw new ComputeError("BAD_MODEL", `${path}: ${MODEL_METADATA_KEY} metadata is not JSON`, { path });
  }
  const description = parseDescription(described, "BAD_MODEL");
  return { path, sha256: digest, bytes: model.length, ...description, manifest, model };
}

export interface ModelInfo extends InspectedModel {
  readonly provider: ExecutionProvider;
  readonly threads: number;
}

export class LanguageModel {
  private constructor(
    private readonly session: ModelSession,
    readonly info: ModelInfo,
  ) {}

  static async load(path: string, options: ModelSessionOptions): Promise<LanguageModel> {
    const { model, ...inspected } = inspectModel(path);
    const session = await ModelSession.create(
      model,
      {
        inputName: inspected.io.input,
        outputName: inspected.io.output,
        contextLength: inspected.architecture.contextLength,
        vocabSize: inspected.architecture.vocabSize,
      },
      options,
    );
    return new LanguageModel(session, { ...inspected, provider: session.provider, threads: session.threads });
  }

  get contextLength(): number {
    return this.info.architecture.contextLength;
  }

  get vocabSize(): number {
    return this.info.architecture.vocabSize;
  }

  /** The raw onnxruntime session (for benchmarks of bare session.run). */
  get rawSession(): ModelSession["raw"] {
    return this.session.raw;
  }

  /** Logits for `rows` contexts through the model's bounded queue (see ModelSession). */
  logits(context: Int32Array, rows = 1): Promise<Float32Array> {
    return this.session.logits(context, rows);
  }

  /**
   * Generates up to `maxTokens` tokens after `prompt`, streamed as produced.
   * Bad arguments throw BAD_REQUEST here, before anything runs.
   */
  generate(request: GenerateRequest): AsyncIterable<GeneratedToken> {
    return generateTokens((context) => this.session.logits(context, 1), this.info.architecture, request);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

/**
 * Loads a model for inference. `device` is cpu (default), cuda or auto;
 * `threads` pins intraOpNumThreads (default 1), which generation needs for
 * bitwise-reproducible output.
 */
export function loadModel(
  path: string = SHIPPED_MODEL_PATH,
  options: ModelSessionOptions = {},
): Promise<LanguageModel> {
  return LanguageModel.load(path, options);
}
