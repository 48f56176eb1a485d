import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import WebSocket from "ws";
import { percentile } from "../consensus/index.ts";
import { buildTransfer } from "../ledger/index.ts";
import {
  addressFromPublicKey,
  createSigner,
  encodeTransaction,
  formatAddress,
  generateKeyPair,
  type KeyPair,
  type Transaction,
  toHex,
  transactionDigest,
} from "../spec/index.ts";
import { RpcClient, type ValidatorResult } from "./client.ts";
import { senderAssignment } from "./mempool.ts";

/**
 * The load generator behind `hyperspace bench load`: funds a set of sender
 * accounts from a faucet key, pre-signs transfers, submits them at a fixed
 * rate in JSON-RPC batches, and watches executed commits over a WebSocket
 * subscription to time submit-to-final. Each sender's transfers go to the
 * validator that proposes them when every validator's endpoint is among
 * the given ones, and are spread over the endpoints otherwise.
 */
export interface LoadOptions {
  readonly rpcs: readonly string[];
  readonly tps: number;
  readonly durationS: number;
  readonly faucet: KeyPair;
  /** Independent senders; more senders spread load over validators and nonce queues. */
  readonly senders?: number;
  readonly fee?: bigint;
  /** How long to wait for stragglers after the last submission. */
  readonly drainS?: number;
  readonly log?: (line: string) => void;
}

export interface LoadResult {
  readonly submittedTps: number;
  readonly committedTps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly finalTransactions: number;
  readonly submitted: number;
  readonly refused: number;
  readonly durationS: number;
}

/** Submission tick: small enough for a smooth rate, large enough for efficient batches. */
const TICK_MS = 20;
/** A JSON-RPC batch holds at most this many transactions (the server's batch bound is 100). */
const BATCH_MAX = 100;

/**
 * Posts JSON over node:http (https for an https URL) on kept-alive
 * connections. The generator shares the machine with what it measures, and
 * node:http costs it a fraction of the CPU that fetch does per request.
 *
 * A server closes a connection that idles for its keep-alive timeout (5 s
 * for node:http); a request sent on it at that moment fails with a reset.
 * Idle connections are therefore closed after IDLE_CLOSE_MS, sooner than
 * that, and a request that fails is sent again, up to POST_ATTEMPTS times:
 * every sender's transfers are interleaved with the others', so one lost
 * batch would leave a nonce gap that stalls them all.
 */
const IDLE_CLOSE_MS = 4_000;
const POST_ATTEMPTS = 3;

class JsonPoster {
  private readonly agents = {
    http: new HttpAgent({ keepAlive: true, timeout: IDLE_CLOSE_MS }),
    https: new HttpsAgent({ keepAlive: true, timeout: IDLE_CLOSE_MS }),
  };

  async post(url: string, body: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.postOnce(url, body);
      } catch (error) {
        if (attempt >= POST_ATTEMPTS) throw error;
      }
    }
  }

  private postOnce(url: string, body: string): Promise<string> {
    const secure = url.startsWith("https:");
    const send = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(
        url,
        {
          method: "POST",
          agent: secure ? this.agents.https : this.agents.http,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
          response.on("error", reject);
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** A signed transfer ready to send: its request, its index among the planned ones, and the endpoint it goes to. */
interface Planned {
  readonly request: string;
  readonly index: number;
  readonly url: string;
}

/** One hs_submitTransaction request, as JSON text, for a batch body. */
const submitRequest = (hex: string, id: number): string =>
  `{"jsonrpc":"2.0","id":${id},"method":"hs_submitTransaction","params":["${hex}"]}`;

/**
 * Submits a JSON-RPC batch of requests (from `submitRequest`); returns how
 * many were refused. A transaction the node already holds (a batch sent
 * again after its connection failed) counts as submitted.
 */
async function rpcBatch(poster: JsonPoster, url: string, requests: readonly string[]): Promise<number> {
  const body = await poster.post(url, `[${requests.join(",")}]`);
  // Replies are read only when one is an error: a batch of hashes is not worth parsing on a shared machine.
  if (!body.includes('"error"')) return 0;
  const replies = JSON.parse(body) as { error?: { data?: { code?: string } } }[] | { error?: unknown };
  if (!Array.isArray(replies)) return requests.length;
  return replies.filter((r) => r.error !== undefined && r.error.data?.code !== "DUPLICATE").length;
}

/**
 * Sender keys spread evenly over the validators that propose their
 * transactions (see senderAssignment). With a few dozen random keys one
 * validator would propose, and take pushed from the others, half again its
 * share; the traffic of many users is spread evenly.
 */
function balancedSenders(count: number, validators: number): KeyPair[] {
  const perValidator = Math.ceil(count / validators);
  const taken = new Array<number>(validators).fill(0);
  const senders: KeyPair[] = [];
  while (senders.length < count) {
    const keys = generateKeyPair();
    const proposer = senderAssignment(keys.publicKey, validators);
    if ((taken[proposer] ?? 0) >= perValidator) continue;
    taken[proposer] = (taken[proposer] ?? 0) + 1;
    senders.push(keys);
  }
  return senders;
}

/**
 * The RPC endpoint of each validator, by committee index, when every
 * validator has one among `rpcs`; null otherwise. Each sender's transfers
 * then go straight to the validator that proposes them, as a client that
 * knows the assignment sends them, instead of through another validator
 * that would push them on.
 */
async function proposerEndpoints(
  rpcs: readonly string[],
  committee: readonly ValidatorResult[],
): Promise<string[] | null> {
  const byPeer = new Map<string, string>();
  for (const url of rpcs) {
    const { peerId } = await new RpcClient(url).status();
    if (peerId !== undefined) byPeer.set(peerId, url);
  }
  const endpoints = committee.map((v) => byPeer.get(v.peerId));
  return endpoints.every((url) => url !== undefined) ? (endpoints as string[]) : null;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const log = options.log ?? (() => {});
  const [first] = options.rpcs;
  if (first === undefined) throw new Error("at least one RPC endpoint is needed");
  const client = new RpcClient(first);
  const status = await client.status();
  const chainId = status.chainId ?? "";
  const fee = options.fee ?? BigInt(status.minFee ?? "1") * 10n;
  const committee = await client.getValidators();
  const validators = Math.max(1, committee.length);
  const proposerRpc = await proposerEndpoints(options.rpcs, committee);
  const senderCount = options.senders ?? Math.max(16, Math.min(256, Math.ceil(options.tps / 50)));
  const total = Math.ceil(options.tps * options.durationS);
  const perSender = Math.ceil(total / senderCount);

  const poster = new JsonPoster();
  // Each planned transfer's hash -> its index, and per index when it was sent and when it was final (0: not yet).
  const indexOf = new Map<string, number>();
  const sentAt = new Float64Array(total);
  const finalAt = new Float64Array(total);
  let finals = 0;
  // Watch receipts first, so no finality is missed.
  const socket = new WebSocket(first.replace(/^http/, "ws"));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  // Each executed commit's notification lists the hashes of its transactions: one message per commit, not per transaction.
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { params?: { result?: { hashes?: string[] } } };
    const now = performance.now();
    for (const hash of message.params?.result?.hashes ?? []) {
      const i = indexOf.get(hash);
      if (i !== undefined && sentAt[i]! > 0 && finalAt[i] === 0) {
        finalAt[i] = now;
        finals++;
      }
    }
  });
  socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "hs_subscribe", params: ["commits"] }));

  try {
    // Fund the senders from the faucet, and wait until that is final.
    const senders = balancedSenders(senderCount, validators);
    const faucetAddress = formatAddress(addressFromPublicKey(options.faucet.publicKey));
    let nonce = (await client.getAccount(faucetAddress)).nonce;
    const funding = senders.map((s) =>
      buildTransfer({
        chainId,
        keys: options.faucet,
        nonce: nonce++,
        fee,
        to: addressFromPublicKey(s.publicKey),
        amount: BigInt(perSender + 1) * (fee + 1n),
      }),
    );
    for (let i = 0; i < funding.length; i += BATCH_MAX) {
      await rpcBatch(
        poster,
        first,
        funding.slice(i, i + BATCH_MAX).map((t, id) => submitRequest(toHex(encodeTransaction(t)), id)),
      );
    }
    await client.waitForReceipt(toHex(transactionDigest(funding.at(-1) as Transaction)), 60_000);
    log(`funded ${senderCount} senders`);

    // Pre-sign every transfer, interleaving senders so each batch spreads over them.
    const signers = senders.map((s) => createSigner(s.secretKey));
    const endpoints = senders.map(
      (s, i) =>
        proposerRpc?.[senderAssignment(s.publicKey, validators)] ??
        (options.rpcs[i % options.rpcs.length] as string),
    );
    const planned: Planned[] = [];
    for (let n = 0; n < perSender && planned.length < total; n++) {
      for (let s = 0; s < senderCount && planned.length < total; s++) {
        const keys = senders[s] as KeyPair;
        const to = addressFromPublicKey((senders[(s + 1) % senderCount] as KeyPair).publicKey);
        const tx = buildTransfer({ chainId, keys, signer: signers[s], nonce: n, fee, to, amount: 1n });
        indexOf.set(toHex(transactionDigest(tx)), planned.length);
        planned.push({
          request: submitRequest(toHex(encodeTransaction(tx)), planned.length % BATCH_MAX),
          index: planned.length,
          url: endpoints[s] as string,
        });
      }
    }
    log(`signed ${planned.length} transfers; submitting at ${options.tps} tx/s for ${options.durationS} s`);

    // Submit at the target rate.
    let submitted = 0;
    let refused = 0;
    // Due transfers wait in their endpoint's queue; each tick sends one endpoint's queue, in turn,
    // so each tick costs one request as when all went to one endpoint.
    const urls = [...new Set(planned.map((t) => t.url))];
    const queues = new Map(urls.map((url) => [url, [] as Planned[]]));
    let next = 0;
    let turn = 0;
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    while (next < planned.length || [...queues.values()].some((q) => q.length > 0)) {
      const due = Math.min(planned.length, Math.floor(((performance.now() - start) / 1000) * options.tps));
      for (; next < due; next++) {
        const t = planned[next] as Planned;
        queues.get(t.url)?.push(t);
      }
      const url = urls[turn++ % urls.length] as string;
      const queue = queues.get(url) as Planned[];
      const now = performance.now();
      for (let i = 0; i < queue.length; i += BATCH_MAX) {
        const batch = queue.slice(i, i + BATCH_MAX);
        for (const t of batch) sentAt[t.index] = now;
        submitted += batch.length;
        inflight.push(
          rpcBatch(
            poster,
            url,
            batch.map((t) => t.request),
          ).then(
            (errors) => void (refused += errors),
            () => void (refused += batch.length),
          ),
        );
      }
      queue.length = 0;
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    await Promise.all(inflight);
    const submitEnd = performance.now();

    // Wait for stragglers.
    const drainUntil = submitEnd + (options.drainS ?? 30) * 1000;
    while (performance.now() < drainUntil && submitted - finals > refused) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const latencies: number[] = [];
    let lastFinal = start;
    for (let i = 0; i < planned.length; i++) {
      const done = finalAt[i]!;
      if (done === 0) continue;
      latencies.push(done - sentAt[i]!);
      if (done > lastFinal) lastFinal = done;
    }
    const submitSeconds = (submitEnd - start) / 1000;
    return {
      submittedTps: submitted / submitSeconds,
      committedTps: latencies.length / ((lastFinal - start) / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      finalTransactions: latencies.length,
      submitted,
      refused,
      durationS: submitSeconds,
    };
  } finally {
    socket.close();
    poster.close();
  }
}
