/**
 * ONNX graphs of the MLP language model, built with GraphBuilder:
 *
 * - the inference graph: context -> logits, parameters baked in as initializers;
 * - the training-step graph: (parameters, context, target) -> (loss, gradients),
 *   the forward pass followed by a backward pass whose gradient ops are written
 *   out by hand below.
 *
 * Token ids are int32. The float type is float32 for real use and float64 for
 * the finite-difference gradient check.
 */
import { assert } from "../spec/index.ts";
import {
  EMBEDDING,
  hiddenBiasName,
  hiddenWeightName,
  type MlpConfig,
  OUTPUT_BIAS,
  OUTPUT_WEIGHT,
  type ParameterSet,
  parameterSpecs,
} from "./mlp.ts";
import { GraphBuilder, onnxDataType } from "./onnx/graph.ts";

export type FloatType = "float32" | "float64";

/** Names of the graphs' inputs and outputs. */
export const CONTEXT_INPUT = "context";
export const TARGET_INPUT = "target";
export const LOGITS_OUTPUT = "logits";
export const LOSS_OUTPUT = "loss";
export function gradientName(parameter: string): string {
  return `grad.${parameter}`;
}

const BATCH = "batch";

interface ForwardValues {
  /** Concatenated context embeddings, [batch, n * d]. */
  readonly concatenated: string;
  /** Outputs of each tanh hidden layer, [batch, width]. */
  readonly hidden: readonly string[];
  readonly logits: string;
}

/** The forward pass. The parameters are graph values named as in `parameterSpecs`. */
function forward(
  g: GraphBuilder,
  config: MlpConfig,
  context: string,
  logitsName: string | null,
): ForwardValues {
  const embedded = g.op("Gather", [EMBEDDING, context], { axis: { int: 0 } });
  const concatenated = g.op("Reshape", [
    embedded,
    g.int64s([-1, config.contextLength * config.embeddingSize]),
  ]);
  const hidden: string[] = [];
  let activation = concatenated;
  config.hiddenSizes.forEach((_size, layer) => {
    const affine = g.op("Gemm", [activation, hiddenWeightName(layer), hiddenBiasName(layer)]);
    activation = g.op("Tanh", [affine]);
    hidden.push(activation);
  });
  const logits = g.op("Gemm", [activation, OUTPUT_WEIGHT, OUTPUT_BIAS], {}, logitsName);
  return { concatenated, hidden, logits };
}

/** The inference graph: `context` int32 [batch, n] -> `logits` [batch, vocab], weights baked in. */
export function buildInferenceGraph(
  config: MlpConfig,
  params: ParameterSet<Float32Array>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const g = new GraphBuilder("mlp_lm_inference");
  g.input(CONTEXT_INPUT, "int32", [BATCH, config.contextLength]);
  for (const spec of parameterSpecs(config)) {
    const values = params[spec.name];
    assert(values !== undefined, `missing parameter ${spec.name}`);
    g.initializer(spec.name, spec.shape, values);
  }
  const { logits } = forward(g, config, CONTEXT_INPUT, LOGITS_OUTPUT);
  g.output(logits, "float32", [BATCH, config.vocabSize]);
  return g.build(metadata);
}

/**
 * The training step: inputs are every parameter, `context` int32 [batch, n]
 * and `target` int32 [batch]; outputs are `loss` (mean cross-entropy in nats,
 * a scalar) and `grad.<name>` for every parameter, shaped like it.
 *
 * Backward pass, with B the batch size, p = softmax(logits), y the one-hot target:
 *   dlogits  = (p - y) / B
 *   dW_out   = h_last^T dlogits,   db_out = sum_rows dlogits
 *   dh_l     = da_{l+1} W_{l+1}^T  (da of the output layer is dlogits)
 *   da_l     = dh_l * (1 - h_l^2)  (tanh')
 *   dW_l     = in_l^T da_l,        db_l = sum_rows da_l
 *   dx       = da_0 W_0^T, reshaped to one row per context position
 *   dE       = onehot(context)^T dx  (the gather's gradient: a scatter-add written as a matmul)
 */
export function buildTrainStepGraph(config: MlpConfig, floatType: FloatType): Uint8Array {
  const g = new GraphBuilder("mlp_lm_train_step");
  const specs = parameterSpecs(config);
  for (const spec of specs) g.input(spec.name, floatType, spec.shape);
  g.input(CONTEXT_INPUT, "int32", [BATCH, config.contextLength]);
  g.input(TARGET_INPUT, "int32", [BATCH]);

  const { concatenated, hidden, logits } = forward(g, config, CONTEXT_INPUT, null);
  const vocabIds = g.initializer(
    "vocab_ids",
    [config.vocabSize],
    Int32Array.from({ length: config.vocabSize }, (_, i) => i),
  );
  const oneHot = (ids: string): string =>
    g.op("Cast", [g.op("Equal", [ids, vocabIds])], { to: { int: onnxDataType(floatType) } });
  const rows0 = g.int64s([0]);

  // Loss: mean over the batch of -log softmax(logits)[target].
  const logProbs = g.op("LogSoftmax", [logits], { axis: { int: 1 } });
  const targetOneHot = oneHot(g.op("Unsqueeze", [TARGET_INPUT, g.int64s([1])]));
  const targetLogProb = g.op("ReduceSum", [g.op("Mul", [logProbs, targetOneHot]), g.int64s([1])], {
    keepdims: { int: 0 },
  });
  g.op("Neg", [g.op("ReduceMean", [targetLogProb], { keepdims: { int: 0 } })], {}, LOSS_OUTPUT);
  g.output(LOSS_OUTPUT, floatType, []);

  // Softmax cross-entropy gradient.
  const inverseBatch = g.op("Reciprocal", [
    g.op("Cast", [g.op("Shape", [TARGET_INPUT])], { to: { int: onnxDataType(floatType) } }),
  ]);
  let delta = g.op("Mul", [g.op("Sub", [g.op("Exp", [logProbs]), targetOneHot]), inverseBatch]);

  // Output layer.
  const lastInput = hidden.length > 0 ? hidden[hidden.length - 1]! : concatenated;
  g.op("Gemm", [lastInput, delta], { transA: { int: 1 } }, gradientName(OUTPUT_WEIGHT));
  g.op("ReduceSum", [delta, rows0], { keepdims: { int: 0 } }, gradientName(OUTPUT_BIAS));
  let nextWeight = OUTPUT_WEIGHT;

  // Hidden layers, last to first.
  for (let layer = hidden.length - 1; layer >= 0; layer--) {
    const output = hidden[layer]!;
    const input = layer > 0 ? hidden[layer - 1]! : concatenated;
    const dOutput = g.op("Gemm", [delta, nextWeight], { transB: { int: 1 } });
    const tanhDerivative = g.op("Sub", [g.scalar(floatType, 1), g.op("Mul", [output, output])]);
    delta = g.op("Mul", [dOutput, tanhDerivative]);
    g.op("Gemm", [input, delta], { transA: { int: 1 } }, gradientName(hiddenWeightName(layer)));
    g.op("ReduceSum", [delta, rows0], { keepdims: { int: 0 } }, gradientName(hiddenBiasName(layer)));
    nextWeight = hiddenWeightName(layer);
  }

  // Embedding: scatter-add of each position's gradient into its token's row.
  const dConcatenated = g.op("Gemm", [delta, nextWeight], { transB: { int: 1 } });
  const dPositions = g.op("Reshape", [dConcatenated, g.int64s([-1, config.embeddingSize])]);
  const contextOneHot = oneHot(g.op("Reshape", [CONTEXT_INPUT, g.int64s([-1, 1])]));
  g.op("Gemm", [contextOneHot, dPositions], { transA: { int: 1 } }, gradientName(EMBEDDING));

  for (const spec of specs) g.output(gradientName(spec.name), floatType, spec.shape);
  return g.build();
}
