/**
 * The training step as an onnxruntime session: parameters and a batch in,
 * loss and a gradient for every parameter out (see buildTrainStepGraph for the
 * hand-written backward pass). It keeps no state between calls, so the same
 * inputs at the same thread count give bitwise the same outputs.
 */
import * as ort from "onnxruntime-node";
import { createSession, runSession, type SessionSettings } from "./device.ts";
import { ComputeError } from "./errors.ts";
import { checkParameters, type MlpConfig, type ParameterSet, parameterSpecs } from "./mlp.ts";
import {
  buildTrainStepGraph,
  CONTEXT_INPUT,
  type FloatType,
  gradientName,
  LOSS_OUTPUT,
  TARGET_INPUT,
} from "./mlp-graph.ts";

/** A batch of examples: `context` holds batch * contextLength token ids, row-major; `target` the next token of each. */
export interface TrainBatch {
  readonly context: Int32Array;
  readonly target: Int32Array;
}

export interface TrainStepResult<T extends Float32Array | Float64Array> {
  /** Mean cross-entropy over the batch, in nats per token. */
  readonly loss: number;
  readonly grads: ParameterSet<T>;
}

/** One batch of at most this many examples per step: 65,536 x 256 one-hot floats is 64 MiB, the largest temporary. */
export const TRAIN_BATCH_MAX = 65_536;

export interface TrainStep<T extends Float32Array | Float64Array> {
  readonly config: MlpConfig;
  readonly floatType: FloatType;
  trainStep(params: ParameterSet<T>, batch: TrainBatch): Promise<TrainStepResult<T>>;
  close(): Promise<void>;
}

export function checkBatch(config: MlpConfig, batch: TrainBatch): void {
  const size = batch.target.length;
  const bad = (message: string) => new ComputeError("BAD_REQUEST", message, { batchSize: size });
  if (size < 1 || size > TRAIN_BATCH_MAX) throw bad(`batch size must be in [1, ${TRAIN_BATCH_MAX}]`);
  if (batch.context.length !== size * config.contextLength)
    throw bad("context must hold batch * contextLength ids");
  for (const ids of [batch.context, batch.target]) {
    for (const id of ids)
      if (id < 0 || id >= config.vocabSize) throw bad(`token id ${id} outside the vocabulary`);
  }
}

export async function createTrainStep(
  config: MlpConfig,
  options: SessionSettings & { floatType: "float64" },
): Promise<TrainStep<Float64Array>>;
export async function createTrainStep(
  config: MlpConfig,
  options?: SessionSettings & { floatType?: "float32" },
): Promise<TrainStep<Float32Array>>;
export async function createTrainStep(
  config: MlpConfig,
  options: SessionSettings & { floatType?: FloatType } = {},
): Promise<TrainStep<Float32Array> | TrainStep<Float64Array>> {
  const floatType = options.floatType ?? "float32";
  const { session } = await createSession(buildTrainStepGraph(config, floatType), options);
  const specs = parameterSpecs(config);
  const batchSize = (batch: TrainBatch) => batch.target.length;

  async function trainStep(
    params: ParameterSet<Float32Array | Float64Array>,
    batch: TrainBatch,
  ): Promise<TrainStepResult<Float32Array | Float64Array>> {
    checkParameters(config, params);
    checkBatch(config, batch);
    const feeds: Record<string, ort.Tensor> = {
      [CONTEXT_INPUT]: new ort.Tensor("int32", batch.context, [batchSize(batch), config.contextLength]),
      [TARGET_INPUT]: new ort.Tensor("int32", batch.target, [batchSize(batch)]),
    };
    for (const spec of specs) {
      const values = params[spec.name]!;
      const expected =
        floatType === "float32" ? values instanceof Float32Array : values instanceof Float64Array;
      if (!expected) throw new ComputeError("BAD_REQUEST", `parameter ${spec.name} is not ${floatType}`, {});
      feeds[spec.name] = new ort.Tensor(floatType, values, [...spec.shape]);
    }
    const result = await runSession(session, feeds);
    const grads: ParameterSet<Float32Array | Float64Array> = {};
    for (const spec of specs)
      grads[spec.name] = result[gradientName(spec.name)]!.data as Float32Array | Float64Array;
    return { loss: Number((result[LOSS_OUTPUT]!.data as Float32Array | Float64Array)[0]), grads };
  }

  return {
    config,
    floatType,
    trainStep: trainStep as never,
    close: () => session.release(),
  };
}
