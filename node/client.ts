import { HyperspaceError, toHex } from "../spec/index.ts";

/**
 * A typed JSON-RPC client for a hyperspace node: the SDK's way in, and what
 * the CLI commands use. Amounts arrive as decimal strings and are returned
 * as bigints.
 */
export type ClientErrorCode = "UNREACHABLE" | "HTTP" | "RPC" | "TIMEOUT";

export class ClientError extends HyperspaceError<ClientErrorCode, { rpcCode?: number; data?: unknown }> {}

export interface StatusResult {
  commitIndex: number;
  stateRoot: string;
  round: number;
  peers: number;
  syncing: boolean;
  validator: boolean;
  chainId?: string;
  minFee?: string;
  certifiedIndex?: number;
  mempool?: number;
  peerId?: string;
}

export interface AccountResult {
  balance: bigint;
  nonce: number;
  stake?: bigint;
  proof?: unknown;
}

export interface ReceiptResult {
  hash: string;
  status: string;
  commitIndex: number;
  fee: bigint;
  error?: string;
}

export interface CommitResult {
  index: number;
  digest: string;
  previousDigest: string;
  stateRoot: string;
  leader: string;
  timestampMs: number;
  transactions: string[];
}

export interface ValidatorResult {
  address: string;
  peerId: string;
  stake: bigint;
}

/** How often `waitForReceipt` polls; a commit takes a few hundred ms on a devnet. */
const RECEIPT_POLL_MS = 50;

export class RpcClient {
  private nextId = 1;

  constructor(
    readonly url: string,
    private readonly token?: string,
  ) {}

  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: this.nextId++, method, params }),
      });
    } catch (error) {
      throw new ClientError("UNREACHABLE", `cannot reach ${this.url}: ${(error as Error).message}`, {});
    }
    if (response.status !== 200)
      throw new ClientError("HTTP", `${this.url} answered HTTP ${response.status}`, {});
    const body = (await response.json()) as {
      result?: T;
      error?: { code: number; message: string; data?: unknown };
    };
    if (body.error) {
      throw new ClientError("RPC", body.error.message, { rpcCode: body.error.code, data: body.error.data });
    }
    return body.result as T;
  }

  status(): Promise<StatusResult> {
    return this.call("hs_status");
  }

  async submitTransaction(bytes: Uint8Array): Promise<string> {
    return (await this.call<{ hash: string }>("hs_submitTransaction", [toHex(bytes)])).hash;
  }

  async getAccount(address: string, options: { proof?: boolean } = {}): Promise<AccountResult> {
    const raw = await this.call<{ balance: string; nonce: number; stake?: string; proof?: unknown }>(
      "hs_getAccount",
      [address, { proof: options.proof ?? false }],
    );
    const { balance, stake, ...rest } = raw;
    return { ...rest, balance: BigInt(balance), ...(stake !== undefined ? { stake: BigInt(stake) } : {}) };
  }

  async getReceipt(hash: string): Promise<ReceiptResult | null> {
    const raw = await this.call<(Omit<ReceiptResult, "fee"> & { fee: string }) | null>("hs_getReceipt", [
      hash,
    ]);
    return raw === null ? null : { ...raw, fee: BigInt(raw.fee) };
  }

  getCommit(index: number): Promise<CommitResult | null> {
    return this.call("hs_getCommit", [index]);
  }

  async getValidators(): Promise<ValidatorResult[]> {
    const raw = await this.call<(Omit<ValidatorResult, "stake"> & { stake: string })[]>("hs_getValidators");
    return raw.map((v) => ({ ...v, stake: BigInt(v.stake) }));
  }

  /** Polls until the transaction has a receipt (it is final) or the timeout passes. */
  async waitForReceipt(hash: string, timeoutMs = 30_000): Promise<ReceiptResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const receipt = await this.getReceipt(hash);
      if (receipt !== null) return receipt;
      if (Date.now() > deadline)
        throw new ClientError("TIMEOUT", `no receipt for ${hash} after ${timeoutMs} ms`, {});
      await new Promise((resolve) => setTimeout(resolve, RECEIPT_POLL_MS));
    }
  }
}
