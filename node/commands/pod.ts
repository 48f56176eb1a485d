/**
 * `hyperspace pod`: private subnets of peers pooling their machines
 * (create, invite, join, members, status, models) and the API keys of the
 * node's OpenAI-compatible endpoints (keys create, list, revoke). Each
 * command asks a running node over JSON-RPC; the methods that sign or spend
 * need the node's token (HYPERSPACE_RPC_TOKEN).
 *
 * RPC methods (market/rpc-methods.ts has their parameters and results):
 * hs_podCreate, hs_podInvite, hs_podJoin, hs_podMembers, hs_podStatus,
 * hs_podModels, hs_podKeysCreate, hs_podKeysList, hs_podKeysRevoke.
 */
import type { Command } from "commander";
import { INVITE_TTL_MS_MAX } from "../../market/index.ts";
import type { RpcClient } from "../client.ts";
import { printJson, UsageError } from "../output.ts";
import { client, DEFAULT_RPC } from "./chain.ts";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** "2d", "12h", "30m", "45s", "500ms", "1w", or bare milliseconds. */
export function parseDurationMs(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (match === null) throw new UsageError(`${what}: "${text}" is not a duration like 2d, 12h, 30m or 45s`);
  const ms = Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? "ms"] ?? 1));
  if (!Number.isSafeInteger(ms) || ms <= 0 || ms > INVITE_TTL_MS_MAX) {
    throw new UsageError(`${what}: must be more than 0 and at most ${INVITE_TTL_MS_MAX / 86_400_000} days`);
  }
  return ms;
}

export function parseWhole(text: string, what: string): string {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || BigInt(text) > (1n << 64n) - 1n) {
    throw new UsageError(`${what}: "${text}" is not a whole amount in [0, 2^64)`);
  }
  return text;
}

export function parseInteger(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${what} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export function list(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

type Result = Record<string, unknown>;

/** The node calls of the pod commands; tests pass their own RpcClient. */
export type RpcFor = (url: string) => Pick<RpcClient, "call">;

const rows = (pairs: [string, unknown][]) =>
  pairs
    .map(
      ([k, v]) => `${k.padEnd(14)} ${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}\n`,
    )
    .join("");

function printMembers(result: Result): void {
  const members = result.members as {
    address: string;
    peerId: string;
    role: string;
    online: boolean;
    provider: { models: { name: string }[]; device: string; vramGb: number; pricePerToken: string } | null;
  }[];
  process.stdout.write(`pod ${result.podId}: ${members.length} member${members.length === 1 ? "" : "s"}\n`);
  for (const m of members) {
    const offer = m.provider
      ? `provider ${m.provider.device}${m.provider.device === "cuda" ? ` ${m.provider.vramGb} GiB` : ""}, ${m.provider.pricePerToken}/token, ${m.provider.models.map((x) => x.name).join(" ")}`
      : "";
    process.stdout.write(
      `  ${m.online ? "online " : "offline"} ${m.role.padEnd(6)} ${m.peerId} ${m.address} ${offer}\n`,
    );
  }
}

function printModels(
  models: {
    name: string;
    sha256: string;
    providers: string[];
    online: number;
    lowestPricePerToken: string;
  }[],
): void {
  if (models.length === 0) process.stdout.write("  (no provider serves a model yet)\n");
  for (const m of models) {
    process.stdout.write(
      `  ${m.name.padEnd(16)} sha256 ${m.sha256.slice(0, 16)}...  ${m.providers.length} provider${m.providers.length === 1 ? "" : "s"} (${m.online} online), from ${m.lowestPricePerToken}/token\n`,
    );
  }
}

function printKey(key: Result): void {
  const usage = key.usage as { requests: number; completionTokens: number; cost: string };
  process.stdout.write(
    `${String(key.id).slice(0, 16)}  ${key.revoked ? "revoked" : "active "}  pod ${String(key.podId).slice(0, 12)}...  budget ${key.budget} (left ${key.remaining})  ${key.ratePerMinute}/min  models ${(key.models as string[]).join(",") || "all"}  used ${usage.requests} requests, ${usage.completionTokens} tokens, cost ${usage.cost}${key.name ? `  "${key.name}"` : ""}\n`,
  );
}

export function register(program: Command, rpcFor: RpcFor = client): void {
  const pod = program
    .command("pod")
    .description("private pods of peers pooling compute, and the API keys that spend through them");
  const run = async (options: { rpc?: string }, method: string, params: Result): Promise<Result> =>
    rpcFor(options.rpc ?? DEFAULT_RPC).call<Result>(method, [params]);

  pod
    .command("create")
    .description("create a pod on chain with this node as its first admin")
    .argument("<name>", "the pod's name")
    .option("--capabilities <list>", "comma-separated capabilities", "inference")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(async (name: string, options: { capabilities: string; rpc: string; json?: boolean }) => {
      const result = await run(options, "hs_podCreate", { name, capabilities: list(options.capabilities) });
      if (options.json) return printJson(result);
      process.stdout.write(
        rows([
          ["pod", result.podId],
          ["name", result.name],
          ["capabilities", (result.capabilities as string[]).join(", ")],
        ]),
      );
    });

  pod
    .command("invite")
    .description(
      "invite peers by peer id (on chain), or, with no peer, print a signed invite code anyone holding it can join with",
    )
    .argument("<pod>", "pod id or name")
    .argument("[peers...]", "libp2p peer ids (12D3KooW...)")
    .option("--role <role>", "member or admin", "member")
    .option("--ttl <duration>", "how long the invitation lasts: 2d, 12h, 30m...", "7d")
    .option("--multi-use", "an invite code that many peers may use (codes are single-use by default)")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(
      async (
        podText: string,
        peers: string[],
        options: { role: string; ttl: string; multiUse?: boolean; rpc: string; json?: boolean },
      ) => {
        if (options.role !== "member" && options.role !== "admin")
          throw new UsageError("--role must be member or admin");
        if (peers.length > 0 && options.multiUse)
          throw new UsageError("--multi-use applies to invite codes (no peers)");
        const result = await run(options, "hs_podInvite", {
          pod: podText,
          peers,
          role: options.role,
          ttlMs: parseDurationMs(options.ttl, "--ttl"),
          multiUse: options.multiUse ?? false,
        });
        if (options.json) return printJson(result);
        if (result.code !== null) {
          process.stdout.write(`${result.code}\n`);
          process.stderr.write(
            `invite code for pod ${result.podId} as ${result.role}, ${result.multiUse ? "multi-use" : "single-use"}, valid ${options.ttl}: join with \`hyperspace pod join <code>\`\n`,
          );
        } else {
          process.stdout.write(
            `invited ${(result.invited as string[]).length} peer(s) to pod ${result.podId} as ${result.role}\n`,
          );
        }
      },
    );

  pod
    .command("join")
    .description("join a pod with an invite code, or by pod id when this node's peer id was invited")
    .argument("<podOrInviteCode>", "a pod id or an invite code (hsi_...)")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(async (text: string, options: { rpc: string; json?: boolean }) => {
      const result = await run(options, "hs_podJoin", { pod: text });
      if (options.json) return printJson(result);
      process.stdout.write(`joined pod ${result.podId} ("${result.name}") as ${result.role}\n`);
    });

  pod
    .command("members")
    .description("list a pod's members: role, peer id, address, whether online, and what each provides")
    .argument("<pod>", "pod id or name")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(async (podText: string, options: { rpc: string; json?: boolean }) => {
      const result = await run(options, "hs_podMembers", { pod: podText });
      if (options.json) return printJson(result);
      printMembers(result);
    });

  pod
    .command("status")
    .description("a pod's members online, total VRAM, models available and what this node has spent in it")
    .argument("<pod>", "pod id or name")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(async (podText: string, options: { rpc: string; json?: boolean }) => {
      const result = await run(options, "hs_podStatus", { pod: podText });
      if (options.json) return printJson(result);
      process.stdout.write(
        rows([
          ["pod", result.podId],
          ["name", result.name],
          ["capabilities", (result.capabilities as string[]).join(", ")],
          [
            "members",
            `${result.membersOnline} online of ${result.members} (${result.admins} admin${result.admins === 1 ? "" : "s"})`,
          ],
          ["total VRAM", `${result.totalVramGb} GiB`],
          ["spend", result.spend],
        ]),
      );
      process.stdout.write("models\n");
      printModels(result.models as Parameters<typeof printModels>[0]);
    });

  pod
    .command("models")
    .description("the models a pod's providers serve, with how many serve each and the lowest price")
    .argument("<pod>", "pod id or name")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(async (podText: string, options: { rpc: string; json?: boolean }) => {
      const result = await run(options, "hs_podModels", { pod: podText });
      if (options.json) return printJson(result);
      printModels(result.models as Parameters<typeof printModels>[0]);
    });

  const keys = pod
    .command("keys")
    .description("API keys for the node's OpenAI-compatible endpoints (/v1/...)");
  keys
    .command("create")
    .description("issue an API key bound to a pod, with its own spend limit, rate limit and model allowlist")
    .requiredOption("--pod <pod>", "pod id or name the key spends through")
    .requiredOption("--budget <amount>", "most the key may spend in total (base units)")
    .option("--rate <n>", "requests per minute", "60")
    .option("--models <list>", "comma-separated model allowlist (default: every model of the pod)")
    .option("--name <name>", "a label for the key")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(
      async (options: {
        pod: string;
        budget: string;
        rate: string;
        models?: string;
        name?: string;
        rpc: string;
        json?: boolean;
      }) => {
        const result = await run(options, "hs_podKeysCreate", {
          pod: options.pod,
          budget: parseWhole(options.budget, "--budget"),
          ratePerMinute: parseInteger(options.rate, "--rate", 1, 60_000),
          ...(options.models === undefined ? {} : { models: list(options.models) }),
          ...(options.name === undefined ? {} : { name: options.name }),
        });
        if (options.json) return printJson(result);
        process.stdout.write(`${result.key}\n`);
        process.stderr.write(
          `key ${String(result.id).slice(0, 16)} for pod ${result.podId}: budget ${result.budget}, ${result.ratePerMinute} requests/min. The key is shown only now: keep it.\n`,
        );
      },
    );
  keys
    .command("list")
    .description("list the node's API keys with their limits and usage")
    .option("--pod <pod>", "only the keys of this pod")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(async (options: { pod?: string; rpc: string; json?: boolean }) => {
      const result = await run(
        options,
        "hs_podKeysList",
        options.pod === undefined ? {} : { pod: options.pod },
      );
      if (options.json) return printJson(result);
      const list = result.keys as Result[];
      if (list.length === 0) process.stdout.write("no API keys\n");
      for (const key of list) printKey(key);
    });
  keys
    .command("revoke")
    .description("revoke an API key by id (or a unique prefix of it)")
    .argument("<id>", "key id")
    .option("--rpc <url>", "node JSON-RPC URL", DEFAULT_RPC)
    .option("--json", "print one JSON object")
    .action(async (id: string, options: { rpc: string; json?: boolean }) => {
      const result = await run(options, "hs_podKeysRevoke", { id });
      if (options.json) return printJson(result);
      if (!result.revoked) throw new UsageError(`no key (or more than one) matches ${id}`);
      process.stdout.write("revoked\n");
    });
}
