import { assert } from "../spec/index.ts";
import { TOKEN_FLUSH_INTERVAL_MS, TOKENS_PER_FRAME_MAX } from "./constants.ts";
import { encodeProviderFrame } from "./frames.ts";

/**
 * The provider's outgoing tokens, gathered into `tokens` frames. A token is
 * added once the meter has counted it out; it goes on the wire when the
 * batch is flushed: at once for the request's first token (time to first
 * token is not traded away) and when asked (`immediate`, a paced provider),
 * when the batch holds TOKENS_PER_FRAME_MAX tokens, when TOKEN_FLUSH_INTERVAL_MS
 * has passed since the batch's first token, and whenever the provider
 * calls `flush` (before it waits for a payment, so the client holds every
 * token it is asked to pay for, and before `done`, so the count it reports
 * is what the client received).
 */
export class TokenBatcher {
  private ids: number[] = [];
  private texts: string[] = [];
  private firstIndex = 0;
  private sent = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private readonly send: (frame: Uint8Array) => void,
    private readonly flushIntervalMs = TOKEN_FLUSH_INTERVAL_MS,
    private readonly tokensMax = TOKENS_PER_FRAME_MAX,
  ) {
    assert(
      tokensMax >= 1 && tokensMax <= TOKENS_PER_FRAME_MAX,
      "a frame carries 1 to TOKENS_PER_FRAME_MAX tokens",
    );
  }

  /** Tokens handed to the stream so far. */
  get flushed(): number {
    return this.sent;
  }

  /** Tokens waiting for their frame. */
  get pending(): number {
    return this.ids.length;
  }

  add(index: number, id: number, text: string, immediate = false): void {
    assert(!this.closed, "no token is added after the batcher closes");
    if (this.ids.length === 0) this.firstIndex = index;
    else assert(index === this.firstIndex + this.ids.length, "a frame's tokens are consecutive");
    this.ids.push(id);
    this.texts.push(text);
    if (immediate || this.sent === 0 || this.ids.length >= this.tokensMax) this.flush();
    else this.timer ??= setTimeout(this.flushOnTimer, this.flushIntervalMs);
  }

  /** Sends the waiting tokens now, if any. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const count = this.ids.length;
    if (count === 0) return;
    this.send(
      encodeProviderFrame({ type: "tokens", index: this.firstIndex, ids: this.ids, texts: this.texts }),
    );
    this.sent += count;
    this.ids = [];
    this.texts = [];
  }

  /** Flushes what waits and takes no more. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private readonly flushOnTimer = (): void => {
    this.timer = null;
    if (!this.closed) this.flush();
  };
}
