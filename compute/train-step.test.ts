import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ComputeError } from "./errors.ts";
import { initParameters, type MlpConfig, type ParameterSet, parameterSpecs } from "./mlp.ts";
import { Prng } from "./prng.ts";
import { createTrainStep, type TrainBatch, type TrainStep } from "./train-step.ts";

const SEED = Number(process.env.COMPUTE_TEST_SEED ?? 20240611);

function toFloat64(params: ParameterSet, prng: Prng, jitter: number): ParameterSet<Float64Array> {
  const result: ParameterSet<Float64Array> = {};
  for (const [name, values] of Object.entries(params)) {
    // Jitter moves the biases off zero so their gradients are exercised from a generic point.
    result[name] = Float64Array.from(values, (v) => v + prng.nextSymmetric(jitter));
  }
  return result;
}

function randomBatch(config: MlpConfig, prng: Prng, size: number): TrainBatch {
  const context = Int32Array.from({ length: size * config.contextLength }, () =>
    prng.nextInt(config.vocabSize),
  );
  // Repeat a token inside one context so the embedding gradient must accumulate.
  context[1] = context[0]!;
  return { context, target: Int32Array.from({ length: size }, () => prng.nextInt(config.vocabSize)) };
}

/** Central difference of the loss along one coordinate. */
async function numericGradient(
  step: TrainStep<Float64Array>,
  params: ParameterSet<Float64Array>,
  batch: TrainBatch,
  name: string,
  index: number,
  h: number,
): Promise<number> {
  const values = params[name]!;
  const original = values[index]!;
  values[index] = original + h;
  const plus = (await step.trainStep(params, batch)).loss;
  values[index] = original - h;
  const minus = (await step.trainStep(params, batch)).loss;
  values[index] = original;
  return (plus - minus) / (2 * h);
}

async function checkGradients(
  config: MlpConfig,
  coordinatesPerTensor: number | null,
  seed: number,
): Promise<void> {
  const prng = new Prng(seed);
  const params = toFloat64(initParameters(config, seed), prng, 0.3);
  const batch = randomBatch(config, prng, 6);
  const step = await createTrainStep(config, { floatType: "float64" });
  try {
    const { grads } = await step.trainStep(params, batch);
    for (const spec of parameterSpecs(config)) {
      const size = params[spec.name]!.length;
      const indices =
        coordinatesPerTensor === null
          ? Array.from({ length: size }, (_, i) => i)
          : Array.from({ length: coordinatesPerTensor }, () => prng.nextInt(size));
      // Always include a row of the embedding that the batch uses.
      if (spec.name === "embedding") indices.push(batch.context[0]! * config.embeddingSize);
      for (const index of indices) {
        const numeric = await numericGradient(step, params, batch, spec.name, index, 1e-6);
        const analytic = grads[spec.name]![index]!;
        assert.ok(
          Math.abs(numeric - analytic) <= 1e-6 * (Math.abs(numeric) + Math.abs(analytic)) + 1e-9,
          `${spec.name}[${index}]: analytic ${analytic}, finite difference ${numeric} (seed ${seed})`,
        );
      }
    }
  } finally {
    await step.close();
  }
}

describe("training-step graph", () => {
  it("matches finite differences on every parameter of a small two-layer model (float64)", async () => {
    await checkGradients(
      { vocabSize: 11, contextLength: 3, embeddingSize: 4, hiddenSizes: [5, 6] },
      null,
      SEED,
    );
  });

  it("matches finite differences with no hidden layer (float64)", async () => {
    await checkGradients(
      { vocabSize: 7, contextLength: 2, embeddingSize: 3, hiddenSizes: [] },
      null,
      SEED + 1,
    );
  });

  it("matches finite differences on sampled coordinates at the shipped model's shape (float64)", async () => {
    await checkGradients(
      { vocabSize: 256, contextLength: 24, embeddingSize: 16, hiddenSizes: [512] },
      6,
      SEED + 2,
    );
  });

  it("float32 gradients agree with float64 and repeat bit for bit", async () => {
    const config: MlpConfig = { vocabSize: 256, contextLength: 8, embeddingSize: 8, hiddenSizes: [64] };
    const prng = new Prng(SEED + 3);
    const params = initParameters(config, SEED + 3);
    const batch = randomBatch(config, prng, 32);
    const step32 = await createTrainStep(config, { threads: 1 });
    const step64 = await createTrainStep(config, { floatType: "float64", threads: 1 });
    try {
      const first = await step32.trainStep(params, batch);
      const again = await step32.trainStep(params, batch);
      const exact = await step64.trainStep(toFloat64(params, prng, 0), batch);
      assert.equal(first.loss, again.loss);
      assert.ok(Math.abs(first.loss - exact.loss) < 1e-5);
      for (const spec of parameterSpecs(config)) {
        assert.deepEqual(first.grads[spec.name], again.grads[spec.name], `${spec.name} not reproducible`);
        const g32 = first.grads[spec.name]!;
        const g64 = exact.grads[spec.name]!;
        let scale = 0;
        for (const g of g64) scale = Math.max(scale, Math.abs(g));
        for (let i = 0; i < g32.length; i++) {
          assert.ok(
            Math.abs(g32[i]! - g64[i]!) <= 1e-5 * scale + 1e-8,
            `${spec.name}[${i}]: ${g32[i]} vs ${g64[i]}`,
          );
        }
      }
    } finally {
      await step32.close();
      await step64.close();
    }
  });

  it("refuses a malformed batch with a typed error", async () => {
    const config: MlpConfig = { vocabSize: 5, contextLength: 2, embeddingSize: 2, hiddenSizes: [3] };
    const params = initParameters(config, 1);
    const step = await createTrainStep(config);
    try {
      const cases: TrainBatch[] = [
        { context: Int32Array.of(0, 1, 2), target: Int32Array.of(1, 2) },
        { context: Int32Array.of(0, 5), target: Int32Array.of(1) },
        { context: Int32Array.of(0, 1), target: Int32Array.of(-1) },
        { context: new Int32Array(0), target: new Int32Array(0) },
      ];
      for (const batch of cases) {
        await assert.rejects(
          step.trainStep(params, batch),
          (error) => error instanceof ComputeError && error.code === "BAD_REQUEST",
        );
      }
    } finally {
      await step.close();
    }
  });
});

process.on("exit", (code) => {
  if (code !== 0) process.stderr.write(`train-step tests: replay with COMPUTE_TEST_SEED=${SEED}\n`);
});
