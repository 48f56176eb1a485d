/**
 * The manifest that sits beside a model file (`name.onnx` -> `name.json`):
 * the file's sha256, its architecture and tokenizer, how it was trained and
 * how well it does on held-out text. The model file also carries its
 * architecture and tokenizer in its ONNX metadata (key MODEL_METADATA_KEY),
 * so it loads without the manifest; the manifest's hash pins the file.
 */
import { ComputeError } from "./errors.ts";
import type { MlpConfig } from "./mlp.ts";

export const MANIFEST_FORMAT = "hyperspace-model/1";
export const MODEL_METADATA_KEY = "hyperspace.model";
/** Manifests are a few KB; refuse anything far larger before parsing it. */
export const MANIFEST_BYTES_MAX = 64 * 1024;

export interface ModelArchitecture extends MlpConfig {
  readonly kind: "mlp-lm";
  readonly activation: "tanh";
  readonly parameterCount: number;
}

export interface TokenizerSpec {
  readonly kind: "utf8-bytes";
  readonly vocabSize: number;
  readonly padToken: number;
}

/** What the ONNX file says about itself. */
export interface ModelDescription {
  readonly architecture: ModelArchitecture;
  readonly tokenizer: TokenizerSpec;
  readonly io: { readonly input: string; readonly output: string };
}

export interface ModelManifest extends ModelDescription {
  readonly format: typeof MANIFEST_FORMAT;
  readonly name: string;
  /** The model file's name, beside the manifest. */
  readonly file: string;
  /** sha256 of the model file, lowercase hex. */
  readonly sha256: string;
  readonly bytes: number;
  readonly corpus: {
    readonly file: string;
    readonly sha256: string;
    readonly bytes: number;
    readonly splitBlockBytes: number;
    readonly validationEveryBlocks: number;
    readonly trainChars: number;
    readonly validationChars: number;
  };
  readonly training: Readonly<Record<string, unknown>>;
  readonly evaluation: {
    /** Cross-entropy of the model on the whole held-out split, bits per character. */
    readonly validationBitsPerChar: number;
    /** The same for a unigram model of the training split (add-one smoothing). */
    readonly unigramBitsPerChar: number;
    readonly validationChars: number;
  };
}

function bad(code: "BAD_MANIFEST" | "BAD_MODEL", message: string): ComputeError {
  return new ComputeError(code, message, {});
}

type Json = Record<string, unknown>;

function object(value: unknown, where: string, code: "BAD_MANIFEST" | "BAD_MODEL"): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw bad(code, `${where} must be an object`);
  return value as Json;
}

function integer(value: unknown, where: string, code: "BAD_MANIFEST" | "BAD_MODEL", min = 0): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw bad(code, `${where} must be an integer >= ${min}`);
  }
  return value;
}

function number(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value))
    throw bad("BAD_MANIFEST", `${where} must be a number`);
  return value;
}

function string(value: unknown, where: string, code: "BAD_MANIFEST" | "BAD_MODEL"): string {
  if (typeof value !== "string") throw bad(code, `${where} must be a string`);
  return value;
}

/** Validates the architecture/tokenizer/io part, shared by manifests and ONNX metadata. */
export function parseDescription(value: unknown, code: "BAD_MANIFEST" | "BAD_MODEL"): ModelDescription {
  const root = object(value, "model description", code);
  const a = object(root.architecture, "architecture", code);
  if (a.kind !== "mlp-lm" || a.activation !== "tanh") throw bad(code, "architecture must be a tanh mlp-lm");
  if (!Array.isArray(a.hiddenSizes)) throw bad(code, "architecture.hiddenSizes must be an array");
  const architecture: ModelArchitecture = {
    kind: "mlp-lm",
    activation: "tanh",
    vocabSize: integer(a.vocabSize, "architecture.vocabSize", code, 2),
    contextLength: integer(a.contextLength, "architecture.contextLength", code, 1),
    embeddingSize: integer(a.embeddingSize, "architecture.embeddingSize", code, 1),
    hiddenSizes: a.hiddenSizes.map((size, i) => integer(size, `architecture.hiddenSizes[${i}]`, code, 1)),
    parameterCount: integer(a.parameterCount, "architecture.parameterCount", code, 1),
  };
  const t = object(root.tokenizer, "tokenizer", code);
  if (t.kind !== "utf8-bytes") throw bad(code, "tokenizer.kind must be utf8-bytes");
  const tokenizer: TokenizerSpec = {
    kind: "utf8-bytes",
    vocabSize: integer(t.vocabSize, "tokenizer.vocabSize", code, 1),
    padToken: integer(t.padToken, "tokenizer.padToken", code),
  };
  if (tokenizer.vocabSize !== architecture.vocabSize || tokenizer.padToken >= tokenizer.vocabSize) {
    throw bad(code, "tokenizer and architecture disagree on the vocabulary");
  }
  const io = object(root.io, "io", code);
  return {
    architecture,
    tokenizer,
    io: { input: string(io.input, "io.input", code), output: string(io.output, "io.output", code) },
  };
}

export function parseManifest(text: string): ModelManifest {
  if (text.length > MANIFEST_BYTES_MAX)
    throw bad("BAD_MANIFEST", `manifest over ${MANIFEST_BYTES_MAX} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bad("BAD_MANIFEST", `manifest is not JSON: ${(error as Error).message}`);
  }
  const root = object(value, "manifest", "BAD_MANIFEST");
  if (root.format !== MANIFEST_FORMAT)
    throw bad("BAD_MANIFEST", `manifest format must be ${MANIFEST_FORMAT}`);
  const description = parseDescription(root, "BAD_MANIFEST");
  const sha256 = string(root.sha256, "sha256", "BAD_MANIFEST");
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw bad("BAD_MANIFEST", "sha256 must be 64 lowercase hex digits");
  const c = object(root.corpus, "corpus", "BAD_MANIFEST");
  const e = object(root.evaluation, "evaluation", "BAD_MANIFEST");
  return {
    format: MANIFEST_FORMAT,
    name: string(root.name, "name", "BAD_MANIFEST"),
    file: string(root.file, "file", "BAD_MANIFEST"),
    sha256,
    bytes: integer(root.bytes, "bytes", "BAD_MANIFEST"),
    ...description,
    corpus: {
      file: string(c.file, "corpus.file", "BAD_MANIFEST"),
      sha256: string(c.sha256, "corpus.sha256", "BAD_MANIFEST"),
      bytes: integer(c.bytes, "corpus.bytes", "BAD_MANIFEST"),
      splitBlockBytes: integer(c.splitBlockBytes, "corpus.splitBlockBytes", "BAD_MANIFEST", 1),
      validationEveryBlocks: integer(
        c.validationEveryBlocks,
        "corpus.validationEveryBlocks",
        "BAD_MANIFEST",
        1,
      ),
      trainChars: integer(c.trainChars, "corpus.trainChars", "BAD_MANIFEST"),
      validationChars: integer(c.validationChars, "corpus.validationChars", "BAD_MANIFEST"),
    },
    training: object(root.training, "training", "BAD_MANIFEST"),
    evaluation: {
      validationBitsPerChar: number(e.validationBitsPerChar, "evaluation.validationBitsPerChar"),
      unigramBitsPerChar: number(e.unigramBitsPerChar, "evaluation.unigramBitsPerChar"),
      validationChars: integer(e.validationChars, "evaluation.validationChars", "BAD_MANIFEST"),
    },
  };
}

/** Canonical text of a manifest: fixed key order (as constructed), two-space indent, trailing newline. */
export function formatManifest(manifest: ModelManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** `dir/name.onnx` -> `dir/name.json`. */
export function manifestPathFor(modelPath: string): string {
  return modelPath.endsWith(".onnx") ? `${modelPath.slice(0, -".onnx".length)}.json` : `${modelPath}.json`;
}
