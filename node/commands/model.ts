/**
 * `hyperspace model`: rebuild the shipped language model from its corpus,
 * describe a model file, and generate text from one (streamed to stdout).
 */
import type { Command } from "commander";
import {
  BUILD_STEPS_MAX,
  buildModel,
  ComputeError,
  DEFAULT_TRAINING,
  type Device,
  GENERATE_TOKENS_DEFAULT,
  inspectModel,
  loadModel,
  parseDevice,
  SEED_DEFAULT,
  SHIPPED_MODEL_DIR,
  SHIPPED_MODEL_PATH,
  TEMPERATURE_DEFAULT,
  TOP_K_DEFAULT,
} from "../../compute/index.ts";
import { printJson, UsageError } from "../output.ts";

function integerOption(name: string, text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${name} must be an integer, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be in [${min}, ${max}], got ${text}`);
  }
  return value;
}

function numberOption(name: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value))
    throw new UsageError(`${name} must be a number, got ${JSON.stringify(text)}`);
  return value;
}

function deviceOption(text: string): Device {
  try {
    return parseDevice(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

interface BuildFlags {
  steps?: string;
  out?: string;
  json?: boolean;
}

interface InfoFlags {
  model?: string;
  json?: boolean;
}

interface GenerateFlags {
  model?: string;
  prompt: string;
  maxTokens?: string;
  temperature?: string;
  topK?: string;
  seed?: string;
  device?: string;
  threads?: string;
  json?: boolean;
}

async function build(flags: BuildFlags): Promise<void> {
  const steps =
    flags.steps === undefined ? undefined : integerOption("--steps", flags.steps, 1, BUILD_STEPS_MAX);
  const result = await buildModel({
    ...(steps === undefined ? {} : { steps }),
    ...(flags.out === undefined ? {} : { outDir: flags.out }),
    onProgress: (p) => {
      process.stderr.write(
        `step ${p.step}/${p.steps}  train ${p.trainBitsPerChar.toFixed(3)} bpc  held-out slice ${p.validationBitsPerChar?.toFixed(3)} bpc  lr ${p.learningRate.toPrecision(3)}\n`,
      );
    },
  });
  const { manifest } = result;
  if (flags.json) {
    printJson({
      model: result.modelPath,
      manifest: result.manifestPath,
      sha256: manifest.sha256,
      bytes: manifest.bytes,
      validationBitsPerChar: manifest.evaluation.validationBitsPerChar,
      unigramBitsPerChar: manifest.evaluation.unigramBitsPerChar,
      trainingSeconds: Math.round(result.trainingSeconds * 10) / 10,
    });
    return;
  }
  process.stdout.write(
    [
      `model      ${result.modelPath} (${manifest.bytes} bytes)`,
      `manifest   ${result.manifestPath}`,
      `sha256     ${manifest.sha256}`,
      `held-out   ${manifest.evaluation.validationBitsPerChar.toFixed(3)} bits/char (unigram baseline ${manifest.evaluation.unigramBitsPerChar.toFixed(3)})`,
      `trained in ${result.trainingSeconds.toFixed(1)} s`,
      "",
    ].join("\n"),
  );
}

function info(flags: InfoFlags): void {
  const { model: _bytes, ...inspected } = inspectModel(flags.model ?? SHIPPED_MODEL_PATH);
  const evaluation = inspected.manifest?.evaluation ?? null;
  const summary = {
    path: inspected.path,
    sha256: inspected.sha256,
    bytes: inspected.bytes,
    manifestVerified: inspected.manifest !== null,
    architecture: inspected.architecture,
    tokenizer: inspected.tokenizer,
    io: inspected.io,
    validationBitsPerChar: evaluation?.validationBitsPerChar ?? null,
    unigramBitsPerChar: evaluation?.unigramBitsPerChar ?? null,
    manifest: inspected.manifest,
  };
  if (flags.json) {
    printJson(summary);
    return;
  }
  const a = inspected.architecture;
  process.stdout.write(
    [
      `model        ${inspected.path}`,
      `sha256       ${inspected.sha256}${inspected.manifest ? " (matches manifest)" : " (no manifest)"}`,
      `size         ${inspected.bytes} bytes, ${a.parameterCount} parameters`,
      `architecture ${a.kind}: context ${a.contextLength} bytes, embedding ${a.embeddingSize}, hidden [${a.hiddenSizes.join(", ")}] ${a.activation}, vocab ${a.vocabSize}`,
      evaluation
        ? `held-out     ${evaluation.validationBitsPerChar.toFixed(3)} bits/char vs unigram ${evaluation.unigramBitsPerChar.toFixed(3)} (${evaluation.validationChars} chars)`
        : "held-out     unknown (no manifest)",
      "",
    ].join("\n"),
  );
}

async function generate(flags: GenerateFlags): Promise<void> {
  const request = {
    prompt: flags.prompt,
    maxTokens:
      flags.maxTokens === undefined
        ? GENERATE_TOKENS_DEFAULT
        : integerOption("--max-tokens", flags.maxTokens, 0, 1e9),
    temperature:
      flags.temperature === undefined
        ? TEMPERATURE_DEFAULT
        : numberOption("--temperature", flags.temperature),
    topK: flags.topK === undefined ? TOP_K_DEFAULT : integerOption("--top-k", flags.topK, 0, 1e9),
    seed:
      flags.seed === undefined
        ? SEED_DEFAULT
        : integerOption("--seed", flags.seed, 0, Number.MAX_SAFE_INTEGER),
  };
  const device = flags.device === undefined ? "cpu" : deviceOption(flags.device);
  const threads = flags.threads === undefined ? undefined : integerOption("--threads", flags.threads, 1, 64);
  const model = await loadModel(flags.model ?? SHIPPED_MODEL_PATH, {
    device,
    ...(threads ? { threads } : {}),
  });
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  process.once("SIGINT", onInterrupt);
  let text = "";
  let tokens = 0;
  let cancelled = false;
  const started = performance.now();
  let firstTokenMs: number | null = null;
  try {
    for await (const token of model.generate({ ...request, signal: abort.signal })) {
      firstTokenMs ??= performance.now() - started;
      tokens++;
      text += token.text;
      if (!flags.json) process.stdout.write(token.text);
    }
  } catch (error) {
    if (!(error instanceof ComputeError && error.code === "CANCELLED")) throw error;
    cancelled = true;
    process.exitCode = 130;
  } finally {
    process.off("SIGINT", onInterrupt);
    await model.close();
  }
  const seconds = (performance.now() - started) / 1000;
  if (flags.json) {
    printJson({
      model: model.info.path,
      sha256: model.info.sha256,
      provider: model.info.provider,
      threads: model.info.threads,
      ...request,
      text,
      tokens,
      cancelled,
      timeToFirstTokenMs: firstTokenMs === null ? null : Math.round(firstTokenMs * 1000) / 1000,
      tokensPerSecond: seconds > 0 ? Math.round(tokens / seconds) : null,
    });
  } else {
    process.stdout.write("\n");
  }
}

export function register(program: Command): void {
  const model = program
    .command("model")
    .description("the compute layer's language model: build, inspect, generate");

  model
    .command("build")
    .description(
      `train the byte-level language model on the shipped corpus and write kjv-mlp.onnx and kjv-mlp.json (deterministic; default ${DEFAULT_TRAINING.steps} steps, about ten minutes on 2 cores)`,
    )
    .option("--steps <n>", `training steps (default ${DEFAULT_TRAINING.steps})`)
    .option("--out <dir>", `output directory (default ${SHIPPED_MODEL_DIR})`)
    .option("--json", "print one JSON object with the result")
    .action(build);

  model
    .command("info")
    .description(
      "describe a model file: hash (checked against its manifest), architecture, held-out bits per character",
    )
    .option("--model <file>", "model file (default: the shipped model)")
    .option("--json", "print one JSON object")
    .action(info);

  model
    .command("generate")
    .description("generate text after a prompt, streamed to stdout as it is produced (Ctrl-C stops it)")
    .option("--model <file>", "model file (default: the shipped model)")
    .requiredOption("--prompt <text>", "the text to continue")
    .option("--max-tokens <n>", `tokens (bytes) to generate (default ${GENERATE_TOKENS_DEFAULT})`)
    .option("--temperature <t>", `sampling temperature, 0 for greedy (default ${TEMPERATURE_DEFAULT})`)
    .option("--top-k <k>", `sample among the k likeliest tokens, 0 for all (default ${TOP_K_DEFAULT})`)
    .option(
      "--seed <s>",
      `sampling seed; the same seed and thread count give the same text (default ${SEED_DEFAULT})`,
    )
    .option("--device <device>", "cpu, cuda or auto (default cpu)")
    .option("--threads <n>", "intra-op threads (default 1); output is reproducible only at a fixed count")
    .option("--json", "print one JSON object with the whole text instead of streaming")
    .action(generate);
}
