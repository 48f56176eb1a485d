/**
 * Rebuilds the shipped model from the corpus: train with fixed settings,
 * bake the parameters into the inference graph, evaluate it on the held-out
 * split through a real session, and write `name.onnx` and its manifest.
 * With the default settings the result is the same bytes every time on a
 * given onnxruntime build (seeded init and batches, training pinned to one
 * thread); the commit holds the file that run produced.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { sha256, toHex } from "../spec/index.ts";
import { ADAMW_DEFAULTS } from "./adamw.ts";
import {
  CORPUS_NAME,
  CORPUS_SHA256,
  loadShippedCorpus,
  SPLIT_BLOCK_BYTES,
  splitCorpus,
  VALIDATION_EVERY_BLOCKS,
} from "./corpus.ts";
import { createSession } from "./device.ts";
import { ComputeError } from "./errors.ts";
import { modelBitsPerChar, unigramBitsPerChar } from "./evaluate.ts";
import {
  formatManifest,
  MANIFEST_FORMAT,
  MODEL_METADATA_KEY,
  type ModelDescription,
  type ModelManifest,
} from "./manifest.ts";
import { type MlpConfig, parameterCount } from "./mlp.ts";
import { buildInferenceGraph, CONTEXT_INPUT, LOGITS_OUTPUT } from "./mlp-graph.ts";
import { BYTE_VOCAB_SIZE, PAD_TOKEN } from "./tokenizer.ts";
import { type TrainingProgress, type TrainingSettings, trainModel } from "./train.ts";

export const SHIPPED_MODEL_NAME = "kjv-mlp";
export const SHIPPED_MODEL_DIR = fileURLToPath(new URL("./models/", import.meta.url));

/** The shipped architecture: 16 bytes of context, 16-wide embeddings, one 512-wide tanh layer (267k parameters). */
export const SHIPPED_CONFIG: MlpConfig = {
  vocabSize: BYTE_VOCAB_SIZE,
  contextLength: 16,
  embeddingSize: 16,
  hiddenSizes: [512],
};

/**
 * The default training run: 20,000 steps of 256 examples (about 15 passes
 * over the training split), about 16 ms a step on one thread here, so five
 * to ten minutes on this project's 2-core machine depending on its load.
 */
export const DEFAULT_TRAINING: TrainingSettings = {
  steps: 20_000,
  batchSize: 256,
  learningRate: 0.003,
  warmupSteps: 200,
  finalLearningRateFraction: 0.05,
  gradientClipNorm: 1,
  optimizer: { ...ADAMW_DEFAULTS, weightDecay: 0.1 },
  seed: 1,
  threads: 1,
  evalEverySteps: 1000,
  evalExamples: 8192,
};

/** --steps above this is refused: 1,000,000 steps is hours of CPU, far past any useful run on this corpus. */
export const BUILD_STEPS_MAX = 1_000_000;

export interface BuildOptions {
  readonly steps?: number;
  readonly outDir?: string;
  readonly onProgress?: (progress: TrainingProgress) => void;
}

export interface BuildResult {
  readonly manifest: ModelManifest;
  readonly modelPath: string;
  readonly manifestPath: string;
  readonly trainingSeconds: number;
}

export function describeModel(config: MlpConfig): ModelDescription {
  return {
    architecture: { kind: "mlp-lm", activation: "tanh", ...config, parameterCount: parameterCount(config) },
    tokenizer: { kind: "utf8-bytes", vocabSize: BYTE_VOCAB_SIZE, padToken: PAD_TOKEN },
    io: { input: CONTEXT_INPUT, output: LOGITS_OUTPUT },
  };
}

export async function buildModel(options: BuildOptions = {}): Promise<BuildResult> {
  const steps = options.steps ?? DEFAULT_TRAINING.steps;
  if (!Number.isInteger(steps) || steps < 1 || steps > BUILD_STEPS_MAX) {
    throw new ComputeError("BAD_REQUEST", `steps must be an integer in [1, ${BUILD_STEPS_MAX}]`, { steps });
  }
  const outDir = options.outDir ?? SHIPPED_MODEL_DIR;
  const settings: TrainingSettings = { ...DEFAULT_TRAINING, steps };
  const config = SHIPPED_CONFIG;
  const split = splitCorpus(loadShippedCorpus());

  const started = performance.now();
  const { params } = await trainModel(config, split, settings, options.onProgress);
  const trainingSeconds = (performance.now() - started) / 1000;

  const description = describeModel(config);
  const model = buildInferenceGraph(config, params, { [MODEL_METADATA_KEY]: JSON.stringify(description) });
  const { session } = await createSession(model, { threads: settings.threads });
  let validationBitsPerChar: number;
  try {
    validationBitsPerChar = await modelBitsPerChar(
      async (context, rows) => {
        const result = await session.run({
          [CONTEXT_INPUT]: new ort.Tensor("int32", context, [rows, config.contextLength]),
        });
        return result[LOGITS_OUTPUT]!.data as Float32Array;
      },
      split.tokens,
      split.validation,
      config.contextLength,
      config.vocabSize,
    );
  } finally {
    await session.release();
  }

  const file = `${SHIPPED_MODEL_NAME}.onnx`;
  const manifest: ModelManifest = {
    format: MANIFEST_FORMAT,
    name: SHIPPED_MODEL_NAME,
    file,
    sha256: toHex(sha256(model)),
    bytes: model.length,
    ...description,
    corpus: {
      file: CORPUS_NAME,
      sha256: CORPUS_SHA256,
      bytes: split.tokens.length,
      splitBlockBytes: SPLIT_BLOCK_BYTES,
      validationEveryBlocks: VALIDATION_EVERY_BLOCKS,
      trainChars: split.train.length,
      validationChars: split.validation.length,
    },
    training: {
      ...settings,
      floatType: "float32",
      trainStep: "onnx graph, forward plus hand-derived backward, opset 13",
      optimizerName: "adamw",
      schedule: "linear warm-up, then linear decay to finalLearningRateFraction",
      onnxruntime: ort.env.versions.common,
    },
    evaluation: {
      validationBitsPerChar: round(validationBitsPerChar),
      unigramBitsPerChar: round(
        unigramBitsPerChar(split.tokens, split.train, split.validation, config.vocabSize),
      ),
      validationChars: split.validation.length,
    },
  };
  mkdirSync(outDir, { recursive: true });
  const modelPath = join(outDir, file);
  const manifestPath = join(outDir, `${SHIPPED_MODEL_NAME}.json`);
  writeFileSync(modelPath, model);
  writeFileSync(manifestPath, formatManifest(manifest));
  return { manifest, modelPath, manifestPath, trainingSeconds };
}

/** Six decimals: enough for any comparison, and stable text in the manifest. */
function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
