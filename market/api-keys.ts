import { randomBytes } from "node:crypto";
import type { Store } from "../ledger/index.ts";
import {
  assert,
  type Codec,
  CodecError,
  DIGEST_BYTES,
  Domain,
  decodeWith,
  encodeWith,
  FieldReader,
  fromHex,
  hash,
  toHex,
} from "../spec/index.ts";
import {
  API_KEY_MODELS_MAX,
  API_KEY_NAME_BYTES_MAX,
  API_KEY_PREFIX,
  API_KEY_RATE_PER_MINUTE_DEFAULT,
  API_KEY_SECRET_BYTES,
  API_KEYS_MAX,
  MODEL_NAME_BYTES_MAX,
} from "./constants.ts";
import { MarketError } from "./errors.ts";
import { localKey, localPrefix, MarketLocalKind } from "./local-keys.ts";

/**
 * API keys for the node's OpenAI-compatible endpoints. Those endpoints
 * spend the node's money, so each request needs a key the node issued
 * (`hyperspace pod keys create --budget X`). A key is bound to one pod and
 * carries its own spend limit, a rate limit (requests per minute) and a
 * model allowlist; its usage (requests, tokens, cost) is kept in the local
 * store and survives restarts.
 *
 * The key text ("hs-" + 43 base64url characters) is shown once, at
 * creation; the node stores only its digest, which is also the key's id.
 * A request reserves the most it can cost before it runs, so concurrent
 * requests can never spend past the limit together.
 */
export interface ApiKeyLimits {
  readonly name: string;
  readonly podId: Uint8Array;
  /** Most the key may spend in total (base units). */
  readonly budget: bigint;
  readonly ratePerMinute: number;
  /** Model names (or hex hashes) the key may use; empty: every model of its pod. */
  readonly models: readonly string[];
}

export interface ApiKeyUsage {
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cost: bigint;
}

export interface ApiKeyRecord extends ApiKeyLimits {
  readonly createdAtMs: number;
  readonly revoked: boolean;
  readonly usage: ApiKeyUsage;
}

export interface ApiKeyEntry extends ApiKeyRecord {
  /** Hex digest of the secret: the key's id in listings and for revocation. */
  readonly id: string;
}

/** Requests per minute a key may be given: one per second per key is far below 60,000. */
export const API_KEY_RATE_PER_MINUTE_MAX = 60_000;

export const ApiKeyRecordCodec: Codec<ApiKeyRecord> = {
  type: "ApiKeyRecord",
  maxBytes: 2048,
  toValue: (r) => [
    r.name,
    r.podId,
    r.budget,
    r.ratePerMinute,
    [...r.models],
    r.createdAtMs,
    r.revoked,
    [r.usage.requests, r.usage.promptTokens, r.usage.completionTokens, r.usage.cost],
  ],
  fromValue(value, type = "ApiKeyRecord") {
    const reader = FieldReader.of(type, value, 8);
    const name = reader.string("name", API_KEY_NAME_BYTES_MAX);
    const podId = reader.bytes("podId", { exact: DIGEST_BYTES });
    const budget = reader.amount("budget");
    const ratePerMinute = reader.integer("ratePerMinute", API_KEY_RATE_PER_MINUTE_MAX);
    const models = reader.array("models", API_KEY_MODELS_MAX).map((m, i) => {
      if (typeof m !== "string" || Buffer.byteLength(m) > MODEL_NAME_BYTES_MAX) {
        throw new CodecError("WRONG_TYPE", `${type}.models[${i}]: expected a model name`, { type });
      }
      return m;
    });
    const createdAtMs = reader.integer("createdAtMs");
    const revoked = reader.boolean("revoked");
    const usage = reader.nested("usage", (v, t) => {
      const u = FieldReader.of(t, v, 4);
      return {
        requests: u.integer("requests"),
        promptTokens: u.integer("promptTokens"),
        completionTokens: u.integer("completionTokens"),
        cost: u.amount("cost"),
      };
    });
    return { name, podId, budget, ratePerMinute, models, createdAtMs, revoked, usage };
  },
};

const EMPTY_USAGE: ApiKeyUsage = { requests: 0, promptTokens: 0, completionTokens: 0, cost: 0n };

/** The id (digest) of a key's text, or null when the text is not shaped like a key. */
export function apiKeyId(text: string): Uint8Array | null {
  if (typeof text !== "string" || !text.startsWith(API_KEY_PREFIX)) return null;
  const body = text.slice(API_KEY_PREFIX.length);
  if (!/^[A-Za-z0-9_-]{43}$/.test(body)) return null;
  const secret = new Uint8Array(Buffer.from(body, "base64url"));
  if (secret.byteLength !== API_KEY_SECRET_BYTES || Buffer.from(secret).toString("base64url") !== body)
    return null;
  return hash(Domain.MarketApiKey, secret);
}

/** What a request holds while it runs: the most it may cost, released with what it did cost. */
export interface ApiKeyReservation {
  readonly id: string;
  readonly record: ApiKeyRecord;
  /** Records the request's usage (persisted before this resolves) and frees the reservation. */
  settle(usage: { promptTokens: number; completionTokens: number; cost: bigint }): Promise<void>;
  /** Frees the reservation without usage (the request never ran). */
  cancel(): void;
}

interface RateBucket {
  tokens: number;
  atMs: number;
}

export class ApiKeyStore {
  private readonly records = new Map<string, ApiKeyRecord>();
  private readonly reserved = new Map<string, bigint>();
  private readonly buckets = new Map<string, RateBucket>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: Store,
    private readonly clock: () => number,
  ) {}

  static async open(store: Store, clock: () => number = Date.now): Promise<ApiKeyStore> {
    const keys = new ApiKeyStore(store, clock);
    for await (const entry of store.iterate(localPrefix(MarketLocalKind.apiKey))) {
      const id = toHex(entry.key.subarray(entry.key.byteLength - DIGEST_BYTES));
      try {
        keys.records.set(id, decodeWith(ApiKeyRecordCodec, entry.value));
      } catch (error) {
        if (error instanceof CodecError)
          throw new MarketError("CORRUPT_RECORD", `api key ${id}: ${error.message}`, {});
        throw error;
      }
    }
    return keys;
  }

  private persist(id: string, record: ApiKeyRecord): Promise<void> {
    const key = localKey(MarketLocalKind.apiKey, fromHex(id)!);
    const bytes = encodeWith(ApiKeyRecordCodec, record);
    const write = this.writing.then(() => this.store.put(key, bytes));
    this.writing = write.catch(() => undefined);
    return write;
  }

  /** Issues a key; returns its text (shown once) and its entry. */
  async create(limits: {
    name?: string;
    podId: Uint8Array;
    budget: bigint;
    ratePerMinute?: number;
    models?: readonly string[];
  }): Promise<{ key: string; entry: ApiKeyEntry }> {
    const ratePerMinute = limits.ratePerMinute ?? API_KEY_RATE_PER_MINUTE_DEFAULT;
    const models = [...(limits.models ?? [])];
    const name = limits.name ?? "";
    if (
      !Number.isInteger(ratePerMinute) ||
      ratePerMinute < 1 ||
      ratePerMinute > API_KEY_RATE_PER_MINUTE_MAX
    ) {
      throw new MarketError(
        "BAD_REQUEST",
        `rate must be 1 to ${API_KEY_RATE_PER_MINUTE_MAX} requests per minute`,
        {},
      );
    }
    if (limits.budget < 0n) throw new MarketError("BAD_REQUEST", "a budget is non-negative", {});
    if (models.length > API_KEY_MODELS_MAX)
      throw new MarketError("BAD_REQUEST", `at most ${API_KEY_MODELS_MAX} models`, {});
    if (Buffer.byteLength(name) > API_KEY_NAME_BYTES_MAX)
      throw new MarketError("BAD_REQUEST", "key name too long", {});
    if (limits.podId.byteLength !== DIGEST_BYTES)
      throw new MarketError("BAD_REQUEST", "a pod id is 32 bytes", {});
    if (this.records.size >= API_KEYS_MAX) {
      throw new MarketError("TOO_MANY_KEYS", `this node holds ${API_KEYS_MAX} keys; revoke some first`, {});
    }
    const secret = new Uint8Array(randomBytes(API_KEY_SECRET_BYTES));
    const key = API_KEY_PREFIX + Buffer.from(secret).toString("base64url");
    const id = toHex(hash(Domain.MarketApiKey, secret));
    const record: ApiKeyRecord = {
      name,
      podId: new Uint8Array(limits.podId),
      budget: limits.budget,
      ratePerMinute,
      models,
      createdAtMs: this.clock(),
      revoked: false,
      usage: EMPTY_USAGE,
    };
    this.records.set(id, record);
    await this.persist(id, record);
    return { key, entry: { id, ...record } };
  }

  list(): ApiKeyEntry[] {
    return [...this.records.entries()]
      .map(([id, record]) => ({ id, ...record }))
      .sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }

  get(id: string): ApiKeyEntry | null {
    const record = this.records.get(id);
    return record === undefined ? null : { id, ...record };
  }

  /** Revokes a key by id (or the shortest unique prefix of it); returns false when there is none. */
  async revoke(idOrPrefix: string): Promise<boolean> {
    const matches = [...this.records.keys()].filter((id) => id.startsWith(idOrPrefix.toLowerCase()));
    if (matches.length !== 1) return false;
    const id = matches[0]!;
    const record = { ...this.records.get(id)!, revoked: true };
    this.records.set(id, record);
    await this.persist(id, record);
    return true;
  }

  /** The key a request presents; INVALID_API_KEY for no key, an unknown one or a revoked one. */
  authenticate(text: string | null): ApiKeyEntry {
    const digest = text === null ? null : apiKeyId(text);
    const id = digest === null ? null : toHex(digest);
    const record = id === null ? undefined : this.records.get(id);
    if (id === null || record === undefined || record.revoked) {
      throw new MarketError("INVALID_API_KEY", "the API key is missing, unknown or revoked", {});
    }
    return { id, ...record };
  }

  /** Whether the key may use `model`: its allowlist is empty or names the model (by name or hash). */
  allows(entry: ApiKeyRecord, model: string, modelHash?: string): boolean {
    return (
      entry.models.length === 0 ||
      entry.models.includes(model) ||
      (modelHash !== undefined && entry.models.includes(modelHash))
    );
  }

  /** Takes one request from the key's rate limit; RATE_LIMITED when its minute's allowance is used. */
  takeRequest(entry: ApiKeyEntry): void {
    const now = this.clock();
    let bucket = this.buckets.get(entry.id);
    if (bucket === undefined) {
      bucket = { tokens: entry.ratePerMinute, atMs: now };
      this.buckets.set(entry.id, bucket);
    }
    bucket.tokens = Math.min(
      entry.ratePerMinute,
      bucket.tokens + ((now - bucket.atMs) / 60_000) * entry.ratePerMinute,
    );
    bucket.atMs = now;
    if (bucket.tokens < 1) {
      const retryAfterMs = Math.ceil(((1 - bucket.tokens) / entry.ratePerMinute) * 60_000);
      throw new MarketError(
        "RATE_LIMITED",
        `rate limit of ${entry.ratePerMinute} requests per minute reached`,
        {
          retryAfterMs,
          ratePerMinute: entry.ratePerMinute,
        },
      );
    }
    bucket.tokens -= 1;
  }

  /** What the key may still spend, less what running requests have reserved. */
  remaining(id: string): bigint {
    const record = this.records.get(id);
    if (record === undefined) return 0n;
    const left = record.budget - record.usage.cost - (this.reserved.get(id) ?? 0n);
    return left > 0n ? left : 0n;
  }

  /**
   * Reserves `maxCost` of the key's budget for one request: QUOTA_EXCEEDED
   * when the budget is spent or cannot cover the request's worst case.
   */
  reserve(entry: ApiKeyEntry, maxCost: bigint): ApiKeyReservation {
    assert(maxCost >= 0n, "a cost bound is non-negative");
    const left = this.remaining(entry.id);
    if (left <= 0n || maxCost > left) {
      throw new MarketError(
        "QUOTA_EXCEEDED",
        `the key has ${left} left of its budget; the request may cost ${maxCost}`,
        {
          remaining: left,
          maxCost,
        },
      );
    }
    this.reserved.set(entry.id, (this.reserved.get(entry.id) ?? 0n) + maxCost);
    let open = true;
    const free = () => {
      if (!open) return false;
      open = false;
      const held = (this.reserved.get(entry.id) ?? 0n) - maxCost;
      if (held > 0n) this.reserved.set(entry.id, held);
      else this.reserved.delete(entry.id);
      return true;
    };
    return {
      id: entry.id,
      record: entry,
      settle: async (usage) => {
        if (!free()) return;
        const current = this.records.get(entry.id);
        if (current === undefined) return;
        const record: ApiKeyRecord = {
          ...current,
          usage: {
            requests: current.usage.requests + 1,
            promptTokens: current.usage.promptTokens + usage.promptTokens,
            completionTokens: current.usage.completionTokens + usage.completionTokens,
            cost: current.usage.cost + usage.cost,
          },
        };
        this.records.set(entry.id, record);
        await this.persist(entry.id, record);
      },
      cancel: () => {
        free();
      },
    };
  }

  /** Resolves once every change so far is written. */
  flush(): Promise<void> {
    return this.writing;
  }
}
