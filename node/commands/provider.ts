/**
 * `hyperspace provider`: sell inference. `start` asks the running node to
 * load a model, register it on chain as a provider (peer id, model hash,
 * device and VRAM, price per token, bond) and serve metered requests from
 * its pods' members; the device and its memory are detected where possible
 * and declared otherwise. `status` shows what the node serves and its load.
 *
 * RPC methods: hs_providerStart { model?, price, device?, vramGb?, threads?, bond?, maxTokensPerSecond?,
 * creditWindowTokens? },
 * hs_providerStatus {} (market/rpc-methods.ts).
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import {
  CREDIT_WINDOW_TOKENS_DEFAULT,
  CREDIT_WINDOW_TOKENS_MAX,
  TOKENS_PER_SECOND_MAX,
  TOKENS_PER_SECOND_MIN,
} from "../../market/index.ts";
import { printJson, UsageError } from "../output.ts";
import { client, DEFAULT_RPC } from "./chain.ts";
import { parseInteger, parseWhole, type RpcFor } from "./pod.ts";

interface StartOptions {
  model?: string;
  price: string;
  device: string;
  vramGb?: string;
  threads?: string;
  bond?: string;
  maxTokensPerSecond?: string;
  creditWindow?: string;
  rpc: string;
  json?: boolean;
}

export function register(program: Command, rpcFor: RpcFor = client): void {
  const provider = program
    .command("provider")
    .description("sell inference to your pods: register a model and serve it");

  provider
    .command("start")
    .description(
      "load a model on the node, register it on chain as a provider (model hash, device, VRAM, price, bond) and serve metered requests",
    )
    .option("--model <file>", "ONNX model file (default: the shipped model)")
    .requiredOption("--price <amount>", "price per token in base units")
    .option("--device <device>", "cpu, cuda, or auto (cuda when onnxruntime can use it)", "auto")
    .option("--vram-gb <n>", "GPU memory to declare when it cannot be detected")
    .option("--threads <n>", "intra-op threads of the model session")
    .option("--bond <amount>", "bond to add (default: what reaches the minimum)")
    .option(
      "--max-tokens-per-second <n>",
      "pace each request to at most this many tokens per second (a machine shared with other work)",
    )
    .option(
      "--credit-window <tokens>",
      `tokens served beyond what is paid before waiting for payment (your exposure to one request; default ${CREDIT_WINDOW_TOKENS_DEFAULT})`,
    )
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(async (options: StartOptions) => {
      if (!["cpu", "cuda", "auto"].includes(options.device))
        throw new UsageError("--device must be cpu, cuda or auto");
      let vramGb: number | undefined;
      if (options.vramGb !== undefined) {
        vramGb = Number(options.vramGb);
        if (!(Number.isFinite(vramGb) && vramGb > 0))
          throw new UsageError("--vram-gb must be a positive number");
      }
      let maxTokensPerSecond: number | undefined;
      if (options.maxTokensPerSecond !== undefined) {
        maxTokensPerSecond = Number(options.maxTokensPerSecond);
        if (
          !(
            Number.isFinite(maxTokensPerSecond) &&
            maxTokensPerSecond >= TOKENS_PER_SECOND_MIN &&
            maxTokensPerSecond <= TOKENS_PER_SECOND_MAX
          )
        ) {
          throw new UsageError(
            `--max-tokens-per-second must be a number in [${TOKENS_PER_SECOND_MIN}, ${TOKENS_PER_SECOND_MAX}]`,
          );
        }
      }
      const result = await rpcFor(options.rpc).call<Record<string, unknown>>("hs_providerStart", [
        {
          price: parseWhole(options.price, "--price"),
          device: options.device,
          ...(options.model === undefined ? {} : { model: resolve(options.model) }),
          ...(vramGb === undefined ? {} : { vramGb }),
          ...(options.threads === undefined
            ? {}
            : { threads: parseInteger(options.threads, "--threads", 1, 64) }),
          ...(options.bond === undefined ? {} : { bond: parseWhole(options.bond, "--bond") }),
          ...(maxTokensPerSecond === undefined ? {} : { maxTokensPerSecond }),
          ...(options.creditWindow === undefined
            ? {}
            : {
                creditWindowTokens: parseInteger(
                  options.creditWindow,
                  "--credit-window",
                  1,
                  CREDIT_WINDOW_TOKENS_MAX,
                ),
              }),
        },
      ]);
      if (options.json) return printJson(result);
      const model = result.model as { name: string; sha256: string };
      process.stdout.write(
        [
          `provider  ${result.address} (peer ${result.peerId})`,
          `model     ${model.name} sha256 ${model.sha256}`,
          `device    ${result.device}${result.vramSource !== "none" ? ` ${result.vramGb} GiB (${result.vramSource})` : ""}`,
          `price     ${result.pricePerToken} per token, bond ${result.bond}${result.maxTokensPerSecond === null ? "" : `, at most ${result.maxTokensPerSecond} tokens/s per request`}`,
          `tx        ${result.txHash}`,
          "",
        ].join("\n"),
      );
    });

  provider
    .command("status")
    .description("what the node serves as a provider and its current load")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(async (options: { rpc: string; json?: boolean }) => {
      const result = await rpcFor(options.rpc).call<Record<string, unknown>>("hs_providerStatus", [{}]);
      if (options.json) return printJson(result);
      if (!result.running) {
        process.stdout.write("not providing (start with `hyperspace provider start`)\n");
        return;
      }
      const load = result.load as { activeRequests: number; queueLength: number; loadPermille: number };
      process.stdout.write(
        `providing ${(result.model as { name: string }).name} at ${result.pricePerToken}/token on ${result.device}: ${load.activeRequests} running, ${load.queueLength} waiting\n`,
      );
    });
}
