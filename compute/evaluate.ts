/**
 * Held-out evaluation in bits per character (the corpus is ASCII, so a
 * character is a byte): the model's cross-entropy on the validation split,
 * and the unigram baseline it must beat.
 */
import { assert } from "../spec/index.ts";
import { batchAt } from "./corpus.ts";

/** Logits for `rows` contexts, rows * vocabSize floats. */
export type LogitsFunction = (context: Int32Array, rows: number) => Promise<Float32Array>;

/** Contexts per evaluation run: 1,024 rows of 256 logits is 1 MiB of output per run. */
export const EVAL_ROWS_PER_RUN = 1024;

/** -log2 softmax(logits)[target], computed in float64. */
export function tokenBits(logits: Float32Array, offset: number, vocabSize: number, target: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocabSize; i++) max = Math.max(max, logits[offset + i]!);
  let sum = 0;
  for (let i = 0; i < vocabSize; i++) sum += Math.exp(logits[offset + i]! - max);
  const logProb = logits[offset + target]! - max - Math.log(sum);
  return -logProb * Math.LOG2E;
}

/** Mean bits per character the model spends on the bytes at `positions` of `tokens`. */
export async function modelBitsPerChar(
  logits: LogitsFunction,
  tokens: Uint8Array,
  positions: ArrayLike<number>,
  contextLength: number,
  vocabSize: number,
  rowsPerRun = EVAL_ROWS_PER_RUN,
): Promise<number> {
  assert(positions.length > 0, "nothing to evaluate");
  let totalBits = 0;
  for (let start = 0; start < positions.length; start += rowsPerRun) {
    const chunk = Array.from(
      { length: Math.min(rowsPerRun, positions.length - start) },
      (_, i) => positions[start + i]!,
    );
    const batch = batchAt(tokens, chunk, contextLength);
    const output = await logits(batch.context, chunk.length);
    assert(output.length === chunk.length * vocabSize, "logits of the wrong size");
    for (let row = 0; row < chunk.length; row++)
      totalBits += tokenBits(output, row * vocabSize, vocabSize, batch.target[row]!);
  }
  return totalBits / positions.length;
}

/** Bits per character of a unigram model fitted to `trainPositions` (add-one smoothing) on `evalPositions`. */
export function unigramBitsPerChar(
  tokens: Uint8Array,
  trainPositions: ArrayLike<number>,
  evalPositions: ArrayLike<number>,
  vocabSize: number,
): number {
  assert(evalPositions.length > 0, "nothing to evaluate");
  const counts = new Float64Array(vocabSize).fill(1);
  for (let i = 0; i < trainPositions.length; i++) counts[tokens[trainPositions[i]!]!]!++;
  const total = trainPositions.length + vocabSize;
  let bits = 0;
  for (let i = 0; i < evalPositions.length; i++)
    bits -= Math.log2(counts[tokens[evalPositions[i]!]!]! / total);
  return bits / evalPositions.length;
}
