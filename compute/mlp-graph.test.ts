import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { createSession } from "./device.ts";
import { initParameters, type MlpConfig, type ParameterSet } from "./mlp.ts";
import { buildInferenceGraph, CONTEXT_INPUT, LOGITS_OUTPUT } from "./mlp-graph.ts";
import { Prng } from "./prng.ts";
import { createTrainStep } from "./train-step.ts";

const CONFIG: MlpConfig = { vocabSize: 13, contextLength: 3, embeddingSize: 4, hiddenSizes: [7, 5] };

/** The forward pass written out in plain float64 JavaScript, as the reference. */
function referenceLogits(config: MlpConfig, params: ParameterSet, context: ArrayLike<number>): number[] {
  let activation: number[] = [];
  for (let i = 0; i < config.contextLength; i++) {
    for (let j = 0; j < config.embeddingSize; j++) {
      activation.push(params.embedding![context[i]! * config.embeddingSize + j]!);
    }
  }
  const affine = (input: number[], weight: Float32Array, bias: Float32Array, out: number) =>
    Array.from({ length: out }, (_, o) =>
      input.reduce((sum, x, i) => sum + x * weight[i * out + o]!, bias[o]!),
    );
  config.hiddenSizes.forEach((size, layer) => {
    activation = affine(
      activation,
      params[`hidden${layer}.weight`]!,
      params[`hidden${layer}.bias`]!,
      size,
    ).map(Math.tanh);
  });
  return affine(activation, params["output.weight"]!, params["output.bias"]!, config.vocabSize);
}

function randomise(params: ParameterSet, seed: number): void {
  const prng = new Prng(seed);
  for (const values of Object.values(params))
    for (let i = 0; i < values.length; i++) values[i] = prng.nextSymmetric(0.8);
}

describe("MLP graphs", () => {
  it("the inference graph computes the reference forward pass", async () => {
    const params = initParameters(CONFIG, 3);
    randomise(params, 4);
    const context = Int32Array.of(0, 5, 12, 7, 7, 1);
    const { session } = await createSession(buildInferenceGraph(CONFIG, params));
    try {
      const result = await session.run({ [CONTEXT_INPUT]: new ort.Tensor("int32", context, [2, 3]) });
      const logits = result[LOGITS_OUTPUT]!.data as Float32Array;
      assert.equal(logits.length, 2 * CONFIG.vocabSize);
      for (let row = 0; row < 2; row++) {
        const expected = referenceLogits(CONFIG, params, context.subarray(row * 3, row * 3 + 3));
        expected.forEach((value, i) => {
          const actual = logits[row * CONFIG.vocabSize + i]!;
          assert.ok(Math.abs(actual - value) < 1e-5, `row ${row} logit ${i}: ${actual} vs ${value}`);
        });
      }
    } finally {
      await session.release();
    }
  });

  it("the training step's loss is the mean cross-entropy of the reference logits", async () => {
    const params = initParameters(CONFIG, 5);
    randomise(params, 6);
    const context = Int32Array.of(1, 2, 3, 4, 5, 6, 12, 0, 9);
    const target = Int32Array.of(3, 0, 12);
    const step = await createTrainStep(CONFIG);
    try {
      const { loss } = await step.trainStep(params, { context, target });
      let expected = 0;
      for (let row = 0; row < 3; row++) {
        const logits = referenceLogits(CONFIG, params, context.subarray(row * 3, row * 3 + 3));
        const max = Math.max(...logits);
        const logSum = Math.log(logits.reduce((sum, l) => sum + Math.exp(l - max), 0)) + max;
        expected += (logSum - logits[target[row]!]!) / 3;
      }
      assert.ok(Math.abs(loss - expected) < 1e-5, `loss ${loss} vs ${expected}`);
    } finally {
      await step.close();
    }
  });
});
