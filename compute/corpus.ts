/**
 * The training corpus (compute/data/kjv-genesis-exodus.txt, public domain; see
 * compute/data/README.md) and its fixed split into training and held-out
 * validation positions.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sha256, toHex } from "../spec/index.ts";
import { ComputeError } from "./errors.ts";
import type { Prng } from "./prng.ts";
import { contextWindow } from "./tokenizer.ts";
import type { TrainBatch } from "./train-step.ts";

export const CORPUS_PATH = fileURLToPath(new URL("./data/kjv-genesis-exodus.txt", import.meta.url));
/** Repository-relative name recorded in manifests. */
export const CORPUS_NAME = "compute/data/kjv-genesis-exodus.txt";
export const CORPUS_SHA256 = "3faae4bdcd163d415b11d75992ab625db87570a8fc93632209a0cae3244b7f2a";

/**
 * The corpus is cut into blocks of this many bytes and every tenth block is
 * held out: 4 KiB (about 25 verses) keeps held-out text contiguous enough to
 * be unseen passages, and interleaving spreads it over both books instead of
 * taking only the end of Exodus, which repeats the chapters before it.
 */
export const SPLIT_BLOCK_BYTES = 4096;
export const VALIDATION_EVERY_BLOCKS = 10;

export interface CorpusSplit {
  readonly tokens: Uint8Array;
  /** Positions whose byte is a training target. */
  readonly train: Int32Array;
  /** Positions whose byte is a held-out target. */
  readonly validation: Int32Array;
}

export function loadCorpus(path: string = CORPUS_PATH): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** Loads the shipped corpus and checks it is the exact text the models were trained on. */
export function loadShippedCorpus(): Uint8Array {
  const tokens = loadCorpus();
  const digest = toHex(sha256(tokens));
  if (digest !== CORPUS_SHA256) {
    throw new ComputeError("HASH_MISMATCH", `corpus ${CORPUS_NAME} has been changed`, {
      expected: CORPUS_SHA256,
      actual: digest,
    });
  }
  return tokens;
}

export function isValidationPosition(position: number): boolean {
  return Math.floor(position / SPLIT_BLOCK_BYTES) % VALIDATION_EVERY_BLOCKS === VALIDATION_EVERY_BLOCKS - 1;
}

export function splitCorpus(tokens: Uint8Array): CorpusSplit {
  const train: number[] = [];
  const validation: number[] = [];
  for (let position = 0; position < tokens.length; position++) {
    (isValidationPosition(position) ? validation : train).push(position);
  }
  return { tokens, train: Int32Array.from(train), validation: Int32Array.from(validation) };
}

/** Builds the batch of examples whose targets are at `positions`: contexts are the preceding bytes, padded. */
export function batchAt(tokens: Uint8Array, positions: ArrayLike<number>, contextLength: number): TrainBatch {
  const context = new Int32Array(positions.length * contextLength);
  const target = new Int32Array(positions.length);
  for (let row = 0; row < positions.length; row++) {
    const position = positions[row]!;
    contextWindow(tokens, position, contextLength, context, row * contextLength);
    target[row] = tokens[position]!;
  }
  return { context, target };
}

/** A batch of training examples drawn uniformly (with replacement) by `prng`. */
export function sampleBatch(
  split: CorpusSplit,
  prng: Prng,
  batchSize: number,
  contextLength: number,
): TrainBatch {
  const positions = new Int32Array(batchSize);
  for (let i = 0; i < batchSize; i++) positions[i] = split.train[prng.nextInt(split.train.length)]!;
  return batchAt(split.tokens, positions, contextLength);
}
