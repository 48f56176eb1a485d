/**
 * The compute layer's public API: model graphs, the training step and its
 * optimiser, sessions with bounded queues, and text generation. No chain
 * knowledge; imports only spec/.
 */
export { ADAMW_DEFAULTS, AdamW, type AdamWSettings, clipGradientNorm, isDecayed } from "./adamw.ts";
export {
  BUILD_STEPS_MAX,
  type BuildOptions,
  type BuildResult,
  buildModel,
  DEFAULT_TRAINING,
  describeModel,
  SHIPPED_CONFIG,
  SHIPPED_MODEL_DIR,
  SHIPPED_MODEL_NAME,
} from "./build.ts";
export {
  batchAt,
  CORPUS_NAME,
  CORPUS_PATH,
  CORPUS_SHA256,
  type CorpusSplit,
  loadShippedCorpus,
  sampleBatch,
  splitCorpus,
} from "./corpus.ts";
export {
  createSession,
  cudaAvailable,
  cudaListed,
  type Device,
  type ExecutionProvider,
  parseDevice,
  SESSION_THREADS_DEFAULT,
  SESSION_THREADS_MAX,
  type SessionSettings,
} from "./device.ts";
export { ComputeError, type ComputeErrorCode } from "./errors.ts";
export { EVAL_ROWS_PER_RUN, type LogitsFunction, modelBitsPerChar, unigramBitsPerChar } from "./evaluate.ts";
export {
  GENERATE_TOKENS_DEFAULT,
  GENERATE_TOKENS_MAX,
  type GeneratedToken,
  type GenerateRequest,
  generateTokens,
  PROMPT_BYTES_MAX,
  SEED_DEFAULT,
  TEMPERATURE_DEFAULT,
  TEMPERATURE_MAX,
  TOP_K_DEFAULT,
} from "./generate.ts";
export {
  MANIFEST_FORMAT,
  type ModelArchitecture,
  type ModelDescription,
  type ModelManifest,
  manifestPathFor,
  parseManifest,
  type TokenizerSpec,
} from "./manifest.ts";
export {
  checkParameters,
  initParameters,
  type MlpConfig,
  type ParameterSet,
  type ParameterSpec,
  parameterCount,
  parameterSpecs,
} from "./mlp.ts";
export {
  buildInferenceGraph,
  buildTrainStepGraph,
  CONTEXT_INPUT,
  type FloatType,
  gradientName,
  LOGITS_OUTPUT,
  LOSS_OUTPUT,
  TARGET_INPUT,
} from "./mlp-graph.ts";
export {
  type InspectedModel,
  inspectModel,
  LanguageModel,
  loadModel,
  MODEL_BYTES_MAX,
  type ModelInfo,
  SHIPPED_MODEL_PATH,
} from "./model.ts";
export {
  type Attribute,
  type ElementType,
  GraphBuilder,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  readModelMetadata,
} from "./onnx/graph.ts";
export { Prng } from "./prng.ts";
export { type SamplingSettings, sampleToken } from "./sampling.ts";
export {
  ModelSession,
  type ModelSessionOptions,
  SESSION_BATCH_ROWS_MAX,
  SESSION_QUEUE_CAPACITY,
} from "./session.ts";
export { BYTE_VOCAB_SIZE, decodeTokens, encodeText, PAD_TOKEN, TokenStreamDecoder } from "./tokenizer.ts";
export {
  learningRateAt,
  type TrainingProgress,
  type TrainingResult,
  type TrainingSettings,
  trainModel,
} from "./train.ts";
export {
  createTrainStep,
  TRAIN_BATCH_MAX,
  type TrainBatch,
  type TrainStep,
  type TrainStepResult,
} from "./train-step.ts";
