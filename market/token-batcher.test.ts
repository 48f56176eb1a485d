import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TOKENS_PER_FRAME_MAX } from "./constants.ts";
import { decodeProviderFrame, type TokensFrame } from "./frames.ts";
import { TokenBatcher } from "./token-batcher.ts";

function recorder() {
  const frames: TokensFrame[] = [];
  const batcher = new TokenBatcher((bytes) => {
    const frame = decodeProviderFrame(bytes);
    assert.equal(frame.type, "tokens");
    frames.push(frame as TokensFrame);
  });
  return { frames, batcher };
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("TokenBatcher", () => {
  it("sends the first token at once and gathers the next ones into one frame", () => {
    const { frames, batcher } = recorder();
    batcher.add(0, 72, "H");
    assert.deepEqual(frames, [{ type: "tokens", index: 0, ids: [72], texts: ["H"] }]);
    batcher.add(1, 105, "i");
    batcher.add(2, 33, "!");
    assert.equal(frames.length, 1, "later tokens wait for their frame");
    assert.equal(batcher.pending, 2);
    batcher.flush();
    assert.deepEqual(frames[1], { type: "tokens", index: 1, ids: [105, 33], texts: ["i", "!"] });
    assert.equal(batcher.flushed, 3);
    batcher.flush();
    assert.equal(frames.length, 2, "an empty flush sends nothing");
  });

  it("sends a full frame at once, an immediate token at once, and the rest when its time is up", async () => {
    const { frames, batcher } = recorder();
    for (let i = 0; i <= TOKENS_PER_FRAME_MAX; i++) batcher.add(i, 97, "a");
    assert.deepEqual(
      frames.map((f) => f.ids.length),
      [1, TOKENS_PER_FRAME_MAX],
    );
    batcher.add(TOKENS_PER_FRAME_MAX + 1, 98, "b", true);
    assert.equal(frames.length, 3);
    batcher.add(TOKENS_PER_FRAME_MAX + 2, 99, "c");
    assert.equal(frames.length, 3);
    // The flush timer (4 ms) was set before this 20 ms one, so it has fired by the time this one does.
    await tick(20);
    assert.equal(frames.length, 4);
    assert.deepEqual(frames[3]!.texts, ["c"]);
    assert.equal(batcher.flushed, TOKENS_PER_FRAME_MAX + 3);
  });

  it("flushes what waits when it closes, takes no more, and refuses tokens out of order", () => {
    const { frames, batcher } = recorder();
    batcher.add(5, 1, "x");
    batcher.add(6, 2, "y");
    assert.throws(() => batcher.add(8, 3, "z"), /consecutive/);
    batcher.close();
    assert.deepEqual(
      frames.map((f) => [f.index, f.ids]),
      [
        [5, [1]],
        [6, [2]],
      ],
    );
    assert.throws(() => batcher.add(7, 4, "w"), /closes/);
  });
});
