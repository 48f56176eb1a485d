/**
 * `hyperspace infer`: buy inference from a pod through the node. The node's
 * InferenceRouter picks the best provider that meets the constraints, pays
 * it through a payment channel as tokens arrive, and fails over if it dies;
 * the tokens stream to the terminal and the cost is printed at the end.
 *
 * RPC: hs_infer { pod, prompt, maxTokens?, model?, minVramGb?, latency?,
 * maxPricePerToken?, temperature?, seed?, partial?, requestId? }. To stream, the
 * command opens a WebSocket to the node, subscribes to topic "market.infer"
 * and calls hs_infer on the same socket with a request id; the node relays
 * each token as { requestId, index, text, peerId }. Without a WebSocket it
 * calls over HTTP and prints the text at the end.
 */
import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import WebSocket from "ws";
import { INFER_TOKEN_TOPIC } from "../../market/index.ts";
import { printJson, UsageError } from "../output.ts";
import { client, DEFAULT_RPC } from "./chain.ts";
import { parseInteger, parseWhole, type RpcFor } from "./pod.ts";

interface InferOptions {
  pod: string;
  prompt: string;
  maxTokens?: string;
  model?: string;
  minVram?: string;
  latency?: string;
  maxPrice?: string;
  temperature?: string;
  seed?: string;
  partial?: boolean;
  rpc: string;
  json?: boolean;
}

type InferResult = {
  text: string;
  tokens: number;
  cost: string;
  finishReason: string;
  model: { name: string };
  providers: { peerId: string; tokens: number; cost: string; outcome: string }[];
  timeToFirstTokenMs: number | null;
};

/** How long the WebSocket may take to open before the command falls back to HTTP. */
const WS_OPEN_TIMEOUT_MS = 3_000;

/** Calls hs_infer over a WebSocket, writing each relayed token as it comes. Rejects if the socket cannot be used. */
function inferOverWebSocket(
  url: string,
  params: Record<string, unknown>,
  onText: (text: string) => void,
): Promise<InferResult> {
  const wsUrl = url.replace(/^http/, "ws");
  const token = process.env.HYPERSPACE_RPC_TOKEN;
  const socket = new WebSocket(wsUrl, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const requestId = (params.requestId as string) ?? "";
  return new Promise<InferResult>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error("websocket timeout"));
    }, WS_OPEN_TIMEOUT_MS);
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("open", () => {
      clearTimeout(timer);
      socket.send(
        JSON.stringify({ jsonrpc: "2.0", id: 1, method: "hs_subscribe", params: [INFER_TOKEN_TOPIC] }),
      );
    });
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as {
        id?: number;
        method?: string;
        result?: unknown;
        error?: { message: string; data?: unknown };
        params?: { result: { requestId: string; text: string } };
      };
      if (message.method === "hs_subscription") {
        if (message.params?.result.requestId === requestId) onText(message.params.result.text);
        return;
      }
      if (message.id === 1) {
        if (message.error) {
          socket.close();
          reject(new Error(message.error.message));
          return;
        }
        socket.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "hs_infer", params: [params] }));
        return;
      }
      if (message.id === 2) {
        socket.close();
        if (message.error) reject(new UsageError(`hs_infer: ${message.error.message}`));
        else resolvePromise(message.result as InferResult);
      }
    });
  });
}

export function register(program: Command, rpcFor: RpcFor = client): void {
  program
    .command("infer")
    .description("buy inference from a pod: stream the tokens, then print what they cost")
    .requiredOption("--pod <pod>", "pod id or name")
    .requiredOption("--prompt <text>", "the text to continue")
    .option("--max-tokens <n>", "tokens to generate", "64")
    .option("--model <name>", "model name or sha256 (default: any the chosen provider serves)")
    .option("--min-vram <gb>", "only providers with at least this much GPU memory")
    .option("--latency <pref>", "low (fastest first) or any (price and speed weigh equally)", "any")
    .option("--max-price <amount>", "most to pay per token")
    .option("--temperature <t>", "sampling temperature, 0 for greedy")
    .option("--seed <s>", "sampling seed")
    .option(
      "--partial",
      "when the node's inference budget cannot pay for every token, take what it can pay for",
    )
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object at the end instead of streaming")
    .action(async (options: InferOptions) => {
      if (options.latency !== "low" && options.latency !== "any")
        throw new UsageError("--latency must be low or any");
      const params: Record<string, unknown> = {
        pod: options.pod,
        prompt: options.prompt,
        maxTokens: parseInteger(options.maxTokens ?? "64", "--max-tokens", 1, 4096),
        latency: options.latency,
      };
      if (options.model !== undefined) params.model = options.model;
      if (options.minVram !== undefined) {
        const gb = Number(options.minVram);
        if (!(Number.isFinite(gb) && gb >= 0)) throw new UsageError("--min-vram must be a number of GiB");
        params.minVramGb = gb;
      }
      if (options.maxPrice !== undefined)
        params.maxPricePerToken = parseWhole(options.maxPrice, "--max-price");
      if (options.temperature !== undefined) {
        const t = Number(options.temperature);
        if (!(Number.isFinite(t) && t >= 0 && t <= 100))
          throw new UsageError("--temperature must be in [0, 100]");
        params.temperature = t;
      }
      if (options.seed !== undefined)
        params.seed = parseInteger(options.seed, "--seed", 0, Number.MAX_SAFE_INTEGER);
      if (options.partial) params.partial = true;

      let result: InferResult;
      let streamed = false;
      if (options.json) {
        result = await rpcFor(options.rpc).call<InferResult>("hs_infer", [params]);
        return printJson(result);
      }
      try {
        result = await inferOverWebSocket(
          options.rpc,
          { ...params, requestId: Buffer.from(randomBytes(8)).toString("hex") },
          (text) => {
            streamed = true;
            process.stdout.write(text);
          },
        );
      } catch (error) {
        if (error instanceof UsageError) throw error;
        result = await rpcFor(options.rpc).call<InferResult>("hs_infer", [params]);
      }
      if (!streamed) process.stdout.write(result.text);
      process.stdout.write("\n");
      const legs = result.providers
        .map((p) => `${p.peerId.slice(0, 16)}... ${p.tokens} tokens ${p.cost} (${p.outcome})`)
        .join("; ");
      process.stdout.write(
        `cost ${result.cost} for ${result.tokens} tokens of ${result.model.name}${result.finishReason === "budget" ? " (stopped: the inference budget is spent)" : ""} [${legs}]\n`,
      );
    });
}
