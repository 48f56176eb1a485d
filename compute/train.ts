/**
 * The training loop: seeded initialisation, seeded batches from the corpus's
 * training split, the ONNX training step, gradient clipping and AdamW with a
 * linear warm-up and linear decay. Every input is fixed by the settings, and
 * the step runs at a pinned thread count, so a run is reproducible bit for bit.
 */
import { assert } from "../spec/index.ts";
import { AdamW, type AdamWSettings, clipGradientNorm } from "./adamw.ts";
import { batchAt, type CorpusSplit, sampleBatch } from "./corpus.ts";
import { initParameters, type MlpConfig, type ParameterSet } from "./mlp.ts";
import { Prng } from "./prng.ts";
import { createTrainStep } from "./train-step.ts";

export interface TrainingSettings {
  readonly steps: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly warmupSteps: number;
  /** The learning rate decays linearly to this fraction of its peak at the last step. */
  readonly finalLearningRateFraction: number;
  readonly gradientClipNorm: number;
  readonly optimizer: AdamWSettings;
  /** Seeds both the initial parameters and the batch order. */
  readonly seed: number;
  /** intraOpNumThreads of the training-step session; the result depends on it. */
  readonly threads: number;
  /** Held-out loss is measured every this many steps (and at the end) on a fixed slice. */
  readonly evalEverySteps: number;
  readonly evalExamples: number;
}

export interface TrainingProgress {
  readonly step: number;
  readonly steps: number;
  /** Mean training loss over the steps since the last report, bits per character. */
  readonly trainBitsPerChar: number;
  /** Loss on the fixed held-out slice, bits per character; null between evaluations. */
  readonly validationBitsPerChar: number | null;
  readonly learningRate: number;
}

export interface TrainingResult {
  readonly params: ParameterSet;
  readonly history: readonly TrainingProgress[];
}

export const LOG2_E = Math.LOG2E;

export function learningRateAt(settings: TrainingSettings, step: number): number {
  const { learningRate, warmupSteps, steps, finalLearningRateFraction } = settings;
  if (step < warmupSteps) return (learningRate * (step + 1)) / warmupSteps;
  const progress = steps > warmupSteps ? (step - warmupSteps) / (steps - warmupSteps) : 1;
  return learningRate * (1 - (1 - finalLearningRateFraction) * progress);
}

export async function trainModel(
  config: MlpConfig,
  split: CorpusSplit,
  settings: TrainingSettings,
  onProgress: (progress: TrainingProgress) => void = () => {},
): Promise<TrainingResult> {
  assert(Number.isInteger(settings.steps) && settings.steps >= 1, "steps must be a positive integer");
  const params = initParameters(config, settings.seed);
  // A separate stream for batches, so changing the init never changes the batch order.
  const batches = new Prng(settings.seed + 1);
  const optimizer = new AdamW(params, settings.optimizer);
  const step = await createTrainStep(config, { threads: settings.threads });
  const evalPositions = split.validation.subarray(
    0,
    Math.min(settings.evalExamples, split.validation.length),
  );
  const evalBatch = batchAt(split.tokens, evalPositions, config.contextLength);
  const history: TrainingProgress[] = [];
  let lossSum = 0;
  let lossCount = 0;
  try {
    for (let i = 0; i < settings.steps; i++) {
      const batch = sampleBatch(split, batches, settings.batchSize, config.contextLength);
      const { loss, grads } = await step.trainStep(params, batch);
      assert(Number.isFinite(loss), `training diverged at step ${i}: loss ${loss}`);
      lossSum += loss;
      lossCount++;
      clipGradientNorm(grads, settings.gradientClipNorm);
      const learningRate = learningRateAt(settings, i);
      optimizer.step(params, grads, learningRate);
      const last = i === settings.steps - 1;
      if ((i + 1) % settings.evalEverySteps === 0 || last) {
        const validation = (await step.trainStep(params, evalBatch)).loss * LOG2_E;
        const progress: TrainingProgress = {
          step: i + 1,
          steps: settings.steps,
          trainBitsPerChar: (lossSum / lossCount) * LOG2_E,
          validationBitsPerChar: validation,
          learningRate,
        };
        history.push(progress);
        onProgress(progress);
        lossSum = 0;
        lossCount = 0;
      }
    }
  } finally {
    await step.close();
  }
  return { params, history };
}
