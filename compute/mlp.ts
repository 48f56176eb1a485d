/**
 * The language model's architecture: a Bengio-style MLP over bytes.
 *
 *   context (n previous bytes) -> embedding lookup -> concat (n * d)
 *     -> hidden layers (affine + tanh) -> affine -> logits over 256 bytes
 *
 * Parameters are named Float32Arrays, in a fixed order, so a training loop,
 * an optimiser or a pseudo-gradient codec can walk them without knowing the
 * architecture.
 */
import { assert } from "../spec/index.ts";
import { Prng } from "./prng.ts";

export interface MlpConfig {
  /** Tokens are bytes, so 256. */
  readonly vocabSize: number;
  /** How many previous tokens the model sees. */
  readonly contextLength: number;
  /** Width of one token's embedding. */
  readonly embeddingSize: number;
  /** Widths of the tanh hidden layers, input side first. */
  readonly hiddenSizes: readonly number[];
}

/** Named parameter tensors, row-major. Float64 only in the gradient check. */
export type ParameterSet<T extends Float32Array | Float64Array = Float32Array> = Record<string, T>;

export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Bounds that keep a config sane; the shipped model is far inside them. */
const CONTEXT_LENGTH_MAX = 1024;
const LAYER_WIDTH_MAX = 16384;

export function validateConfig(config: MlpConfig): void {
  assert(Number.isInteger(config.vocabSize) && config.vocabSize >= 2, "vocabSize must be an integer >= 2");
  assert(
    Number.isInteger(config.contextLength) &&
      config.contextLength >= 1 &&
      config.contextLength <= CONTEXT_LENGTH_MAX,
    "contextLength out of range",
  );
  for (const width of [config.embeddingSize, ...config.hiddenSizes]) {
    assert(
      Number.isInteger(width) && width >= 1 && width <= LAYER_WIDTH_MAX,
      `layer width out of range: ${width}`,
    );
  }
}

export function hiddenWeightName(layer: number): string {
  return `hidden${layer}.weight`;
}
export function hiddenBiasName(layer: number): string {
  return `hidden${layer}.bias`;
}
export const EMBEDDING = "embedding";
export const OUTPUT_WEIGHT = "output.weight";
export const OUTPUT_BIAS = "output.bias";

/** Every parameter with its shape, in the canonical order. Weights are [fanIn, fanOut]. */
export function parameterSpecs(config: MlpConfig): ParameterSpec[] {
  validateConfig(config);
  const specs: ParameterSpec[] = [{ name: EMBEDDING, shape: [config.vocabSize, config.embeddingSize] }];
  let width = config.contextLength * config.embeddingSize;
  config.hiddenSizes.forEach((size, layer) => {
    specs.push({ name: hiddenWeightName(layer), shape: [width, size] });
    specs.push({ name: hiddenBiasName(layer), shape: [size] });
    width = size;
  });
  specs.push({ name: OUTPUT_WEIGHT, shape: [width, config.vocabSize] });
  specs.push({ name: OUTPUT_BIAS, shape: [config.vocabSize] });
  return specs;
}

export function parameterCount(config: MlpConfig): number {
  return parameterSpecs(config).reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Seeded initialisation. Weights are Glorot-uniform, the embedding uniform in
 * [-1, 1), biases zero. Only uniform draws, so no transcendental function
 * enters and the result is the same bits on every platform.
 */
export function initParameters(config: MlpConfig, seed: number): ParameterSet {
  const prng = new Prng(seed);
  const params: ParameterSet = {};
  for (const spec of parameterSpecs(config)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (spec.name === EMBEDDING) {
      for (let i = 0; i < size; i++) values[i] = prng.nextSymmetric(1);
    } else if (spec.shape.length === 2) {
      const [fanIn, fanOut] = spec.shape as [number, number];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) values[i] = prng.nextSymmetric(limit);
    }
    params[spec.name] = values;
  }
  return params;
}

/** Asserts that `params` has exactly the parameters of `config`, each of the right size. */
export function checkParameters(config: MlpConfig, params: ParameterSet<Float32Array | Float64Array>): void {
  const specs = parameterSpecs(config);
  assert(Object.keys(params).length === specs.length, "parameter set has the wrong number of tensors");
  for (const spec of specs) {
    const values = params[spec.name];
    assert(values !== undefined, `missing parameter ${spec.name}`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    assert(values.length === size, `parameter ${spec.name} has ${values.length} values, expected ${size}`);
  }
}
