import { parseDevice } from "../compute/index.ts";
import { AMOUNT_MAX } from "../spec/index.ts";
import { CREDIT_WINDOW_TOKENS_MAX, TOKENS_PER_SECOND_MAX, TOKENS_PER_SECOND_MIN } from "./constants.ts";
import { MarketError } from "./errors.ts";
import { POD_ROLES, type PodRole } from "./model-ref.ts";
import type { MarketService } from "./service.ts";

/**
 * The JSON-RPC methods the market CLI commands call, as plain handlers the
 * node mounts on its RPC server: `methods = { ...methods, ...marketRpcMethods(market) }`.
 * Each takes one object parameter and returns a JSON value (amounts as
 * decimal strings, ids as hex, addresses as "hs1..."). `auth` methods spend
 * or sign with the node's keys and need the node's bearer token. Bad
 * parameters throw MarketError BAD_REQUEST.
 *
 *   hs_providerStart   { model?, price, device?, vramGb?, threads?, bond?,
 *                        maxTokensPerSecond?, creditWindowTokens? }                auth
 *   hs_providerStatus  {}
 *   hs_podCreate       { name, capabilities? }                                      auth
 *   hs_podInvite       { pod, peers?, role?, ttlMs?, multiUse? }                    auth
 *   hs_podJoin         { pod }  (a pod id or an invite code)                        auth
 *   hs_podMembers      { pod }
 *   hs_podStatus       { pod }
 *   hs_podModels       { pod }
 *   hs_podKeysCreate   { pod, budget, ratePerMinute?, models?, name? }              auth
 *   hs_podKeysList     { pod? }                                                     auth
 *   hs_podKeysRevoke   { id }                                                       auth
 *   hs_infer           { pod, prompt, maxTokens?, model?, minVramGb?, latency?,
 *                        maxPricePerToken?, temperature?, seed?, partial?,
 *                        requestId? }                                              auth
 */
export interface MarketRpcMethod {
  readonly auth: boolean;
  handler(params: unknown[]): Promise<unknown>;
}

const bad = (message: string) => new MarketError("BAD_REQUEST", message, {});

class Params {
  private constructor(
    private readonly method: string,
    private readonly object: Record<string, unknown>,
  ) {}

  static of(method: string, params: unknown[]): Params {
    const first = params[0] ?? {};
    if (params.length > 1 || typeof first !== "object" || first === null || Array.isArray(first)) {
      throw bad(`${method} takes one object parameter`);
    }
    return new Params(method, first as Record<string, unknown>);
  }

  private fail(field: string, what: string): never {
    throw bad(`${this.method}: ${field} must be ${what}`);
  }

  string(field: string): string {
    const value = this.object[field];
    if (typeof value !== "string" || value.length === 0) this.fail(field, "a non-empty string");
    return value;
  }

  /** A string that may be empty. */
  text(field: string): string {
    const value = this.object[field];
    if (typeof value !== "string") this.fail(field, "a string");
    return value;
  }

  optionalString(field: string): string | undefined {
    return this.object[field] === undefined ? undefined : this.string(field);
  }

  strings(field: string): string[] | undefined {
    const value = this.object[field];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
      this.fail(field, "a list of strings");
    return value as string[];
  }

  number(field: string, min: number, max: number, integer = false): number | undefined {
    const value = this.object[field];
    if (value === undefined) return undefined;
    if (
      typeof value !== "number" ||
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (integer && !Number.isInteger(value))
    ) {
      this.fail(field, `${integer ? "an integer" : "a number"} in [${min}, ${max}]`);
    }
    return value;
  }

  amount(field: string): bigint | undefined {
    const value = this.object[field];
    if (value === undefined) return undefined;
    const text = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
    if (typeof text !== "string" || !/^(0|[1-9][0-9]*)$/.test(text) || BigInt(text) > AMOUNT_MAX) {
      this.fail(field, "a whole amount (decimal string)");
    }
    return BigInt(text);
  }

  requiredAmount(field: string): bigint {
    const value = this.amount(field);
    if (value === undefined) this.fail(field, "given");
    return value;
  }

  boolean(field: string): boolean | undefined {
    const value = this.object[field];
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") this.fail(field, "true or false");
    return value;
  }

  role(): PodRole | undefined {
    const value = this.object.role;
    if (value === undefined) return undefined;
    if (typeof value !== "string" || !(POD_ROLES as readonly string[]).includes(value))
      this.fail("role", "member or admin");
    return value as PodRole;
  }
}

export function marketRpcMethods(market: MarketService): Record<string, MarketRpcMethod> {
  const method = (
    auth: boolean,
    handler: (p: Params) => unknown | Promise<unknown>,
    name: string,
  ): MarketRpcMethod => ({
    auth,
    handler: async (params) => handler(Params.of(name, params)),
  });
  const methods: Record<string, [boolean, (p: Params) => unknown | Promise<unknown>]> = {
    hs_providerStart: [
      true,
      (p) => {
        const device = p.optionalString("device");
        const model = p.optionalString("model");
        const vramGb = p.number("vramGb", 0, 1e6);
        const threads = p.number("threads", 1, 64, true);
        const bond = p.amount("bond");
        const maxTokensPerSecond = p.number(
          "maxTokensPerSecond",
          TOKENS_PER_SECOND_MIN,
          TOKENS_PER_SECOND_MAX,
        );
        const creditWindowTokens = p.number("creditWindowTokens", 1, CREDIT_WINDOW_TOKENS_MAX, true);
        return market.startProvider({
          pricePerToken: p.requiredAmount("price"),
          ...(model === undefined ? {} : { modelPath: model }),
          ...(device === undefined ? {} : { device: parseDeviceParam(device) }),
          ...(vramGb === undefined ? {} : { vramGb }),
          ...(threads === undefined ? {} : { threads }),
          ...(bond === undefined ? {} : { bond }),
          ...(maxTokensPerSecond === undefined ? {} : { maxTokensPerSecond }),
          ...(creditWindowTokens === undefined ? {} : { creditWindowTokens }),
        });
      },
    ],
    hs_providerStatus: [false, () => market.providerStatus()],
    hs_podCreate: [true, (p) => market.podCreate(p.string("name"), p.strings("capabilities"))],
    hs_podInvite: [
      true,
      (p) => {
        const role = p.role();
        const ttlMs = p.number("ttlMs", 1, Number.MAX_SAFE_INTEGER, true);
        const multiUse = p.boolean("multiUse");
        return market.podInvite(p.string("pod"), p.strings("peers") ?? [], {
          ...(role === undefined ? {} : { role }),
          ...(ttlMs === undefined ? {} : { ttlMs }),
          ...(multiUse === undefined ? {} : { multiUse }),
        });
      },
    ],
    hs_podJoin: [true, (p) => market.podJoin(p.string("pod"))],
    hs_podMembers: [false, (p) => market.podMembers(p.string("pod"))],
    hs_podStatus: [false, (p) => market.podStatus(p.string("pod"))],
    hs_podModels: [false, (p) => market.podModels(p.string("pod"))],
    hs_podKeysCreate: [
      true,
      (p) => {
        const ratePerMinute = p.number("ratePerMinute", 1, 60_000, true);
        const models = p.strings("models");
        const name = p.optionalString("name");
        return market.keysCreate(p.string("pod"), {
          budget: p.requiredAmount("budget"),
          ...(ratePerMinute === undefined ? {} : { ratePerMinute }),
          ...(models === undefined ? {} : { models }),
          ...(name === undefined ? {} : { name }),
        });
      },
    ],
    hs_podKeysList: [true, (p) => market.keysList(p.optionalString("pod"))],
    hs_podKeysRevoke: [true, async (p) => ({ revoked: await market.keys.revoke(p.string("id")) })],
    hs_infer: [
      true,
      (p) => {
        const latency = p.optionalString("latency");
        if (latency !== undefined && latency !== "low" && latency !== "any")
          throw bad("hs_infer: latency must be low or any");
        const optional = {
          maxTokens: p.number("maxTokens", 1, 1e9, true),
          model: p.optionalString("model"),
          minVramGb: p.number("minVramGb", 0, 1e6),
          latency: latency as "low" | "any" | undefined,
          maxPricePerToken: p.amount("maxPricePerToken"),
          temperature: p.number("temperature", 0, 100),
          seed: p.number("seed", 0, Number.MAX_SAFE_INTEGER, true),
          partial: p.boolean("partial"),
          requestId: p.optionalString("requestId"),
        };
        return market.infer({
          pod: p.string("pod"),
          prompt: p.text("prompt"),
          ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
        });
      },
    ],
  };
  return Object.fromEntries(
    Object.entries(methods).map(([name, [auth, handler]]) => [name, method(auth, handler, name)]),
  );
}

function parseDeviceParam(text: string) {
  try {
    return parseDevice(text);
  } catch {
    throw bad("device must be cpu, cuda or auto");
  }
}
