/**
 * One onnxruntime session per loaded model, behind a bounded request queue.
 *
 * A request is one or more context rows; the answer is their logits. While a
 * run is in flight, new requests wait in the queue; when it finishes, the
 * waiting requests are merged into one batched run of up to
 * SESSION_BATCH_ROWS_MAX rows. So an idle session answers a lone request at
 * once, and a busy one serves many concurrent generations per run.
 *
 * Policy when full: the queue holds at most `queueCapacity` waiting requests;
 * a request arriving at a full queue is refused at once with
 * ComputeError("QUEUE_FULL"). Requests already queued are never dropped,
 * except by close(), which fails them with SESSION_CLOSED.
 */
import * as ort from "onnxruntime-node";
import { assert } from "../spec/index.ts";
import {
  type CreatedSession,
  createSession,
  type ExecutionProvider,
  type SessionSettings,
} from "./device.ts";
import { ComputeError } from "./errors.ts";

/**
 * Waiting requests per model. Each request is one token step of one
 * generation, so this is how many streams can be waiting on one model at
 * once; 256 is far above what one 2-core node serves (a run of 32 rows takes
 * about a millisecond), and a caller refused here retries or goes elsewhere.
 */
export const SESSION_QUEUE_CAPACITY = 256;
/**
 * Rows merged into one run. Batching amortises the fixed cost of a run
 * (about 50 us here); past 32 rows a run's time grows with its rows, so
 * bigger batches add latency without adding throughput.
 */
export const SESSION_BATCH_ROWS_MAX = 32;

export interface ModelSessionOptions extends SessionSettings {
  readonly queueCapacity?: number;
  readonly batchRowsMax?: number;
}

export interface ModelShape {
  readonly inputName: string;
  readonly outputName: string;
  readonly contextLength: number;
  readonly vocabSize: number;
}

interface Pending {
  readonly context: Int32Array;
  readonly rows: number;
  readonly resolve: (logits: Float32Array) => void;
  readonly reject: (error: unknown) => void;
}

/** inFlight while a batch is being started (before runBatch returns its promise). */
const STARTING: Promise<unknown> = Promise.resolve();

export class ModelSession {
  private readonly queue: Pending[] = [];
  private inFlight: Promise<unknown> | null = null;
  private closed = false;
  readonly provider: ExecutionProvider;
  readonly threads: number;
  readonly queueCapacity: number;
  readonly batchRowsMax: number;

  private constructor(
    private readonly created: CreatedSession,
    readonly shape: ModelShape,
    options: ModelSessionOptions,
  ) {
    this.provider = created.provider;
    this.threads = created.threads;
    this.queueCapacity = options.queueCapacity ?? SESSION_QUEUE_CAPACITY;
    this.batchRowsMax = options.batchRowsMax ?? SESSION_BATCH_ROWS_MAX;
    assert(Number.isInteger(this.queueCapacity) && this.queueCapacity >= 0, "queueCapacity must be >= 0");
    assert(Number.isInteger(this.batchRowsMax) && this.batchRowsMax >= 1, "batchRowsMax must be >= 1");
  }

  static async create(
    model: Uint8Array,
    shape: ModelShape,
    options: ModelSessionOptions = {},
  ): Promise<ModelSession> {
    return new ModelSession(await createSession(model, options), shape, options);
  }

  /** The underlying onnxruntime session, for callers that measure raw runs. */
  get raw(): ort.InferenceSession {
    return this.created.session;
  }

  /** Requests waiting (not counting the run in flight). */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Logits for `rows` contexts (`context` holds rows * contextLength ids);
   * resolves to rows * vocabSize floats. Refused with QUEUE_FULL when the
   * queue is full and SESSION_CLOSED after close().
   */
  logits(context: Int32Array, rows = 1): Promise<Float32Array> {
    const { contextLength, vocabSize } = this.shape;
    if (this.closed)
      return Promise.reject(new ComputeError("SESSION_CLOSED", "the model session is closed", {}));
    if (!Number.isInteger(rows) || rows < 1 || context.length !== rows * contextLength) {
      return Promise.reject(
        new ComputeError("BAD_REQUEST", `context must hold rows * ${contextLength} token ids`, {
          rows,
          length: context.length,
        }),
      );
    }
    for (let i = 0; i < context.length; i++) {
      const id = context[i]!;
      if (id < 0 || id >= vocabSize) {
        return Promise.reject(
          new ComputeError("BAD_REQUEST", `token id ${id} outside the vocabulary`, { id }),
        );
      }
    }
    if (this.queue.length >= this.queueCapacity && this.inFlight !== null) {
      return Promise.reject(
        new ComputeError("QUEUE_FULL", `model queue is full (${this.queueCapacity} waiting)`, {
          capacity: this.queueCapacity,
        }),
      );
    }
    if (this.inFlight === null && this.queue.length === 0) {
      // An idle session runs a lone request at once: no queue entry, no batch, one promise.
      this.inFlight = STARTING;
      const run = this.runAlone(context, rows);
      if (this.inFlight === STARTING) this.inFlight = run;
      return run;
    }
    return new Promise<Float32Array>((resolve, reject) => {
      this.queue.push({ context, rows, resolve, reject });
      this.pump();
    });
  }

  /** One request's run on an idle session; when it ends, the requests that queued meanwhile run as a batch. */
  private async runAlone(context: Int32Array, rows: number): Promise<Float32Array> {
    try {
      // A run's output is a fresh array: the request takes it whole, without a copy.
      return await this.runModel(context, rows);
    } finally {
      this.inFlight = null;
      this.pump();
    }
  }

  /** One session.run over `rows` contexts; the logits, checked for shape. */
  private async runModel(context: Int32Array, rows: number): Promise<Float32Array> {
    const { contextLength, vocabSize, inputName, outputName } = this.shape;
    const result = await this.created.session.run({
      [inputName]: new ort.Tensor("int32", context, [rows, contextLength]),
    });
    const logits = result[outputName]?.data;
    assert(
      logits instanceof Float32Array && logits.length === rows * vocabSize,
      "model returned malformed logits",
    );
    return logits;
  }

  private pump(): void {
    if (this.inFlight !== null || this.queue.length === 0) return;
    const batch: Pending[] = [this.queue.shift()!];
    let rows = batch[0]!.rows;
    while (this.queue.length > 0 && rows + this.queue[0]!.rows <= this.batchRowsMax) {
      const next = this.queue.shift()!;
      batch.push(next);
      rows += next.rows;
    }
    // runBatch clears inFlight and pumps again when it ends, which may happen before it returns.
    this.inFlight = STARTING;
    const run = this.runBatch(batch, rows);
    if (this.inFlight === STARTING) this.inFlight = run;
  }

  private async runBatch(batch: readonly Pending[], rows: number): Promise<void> {
    const { contextLength, vocabSize } = this.shape;
    let context: Int32Array;
    if (batch.length === 1) {
      context = batch[0]!.context;
    } else {
      context = new Int32Array(rows * contextLength);
      let offset = 0;
      for (const request of batch) {
        context.set(request.context, offset);
        offset += request.context.length;
      }
    }
    try {
      const logits = await this.runModel(context, rows);
      if (batch.length === 1) {
        // A run's output is a fresh array: a lone request takes it whole, without a copy.
        batch[0]!.resolve(logits);
      } else {
        let row = 0;
        for (const request of batch) {
          request.resolve(logits.slice(row * vocabSize, (row + request.rows) * vocabSize));
          row += request.rows;
        }
      }
    } catch (error) {
      for (const request of batch) request.reject(error);
    }
    this.inFlight = null;
    this.pump();
  }

  /** Fails every waiting request, waits for the run in flight, and releases the session. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const request of this.queue.splice(0)) {
      request.reject(new ComputeError("SESSION_CLOSED", "the model session was closed", {}));
    }
    // A failed run has already rejected its own request.
    if (this.inFlight !== null) await this.inFlight.catch(() => {});
    await this.created.session.release();
  }
}
