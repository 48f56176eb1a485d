import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256, toHex } from "../spec/index.ts";
import {
  batchAt,
  CORPUS_SHA256,
  isValidationPosition,
  loadCorpus,
  loadShippedCorpus,
  sampleBatch,
  splitCorpus,
} from "./corpus.ts";
import { Prng } from "./prng.ts";
import { PAD_TOKEN } from "./tokenizer.ts";

describe("corpus", () => {
  it("is the pinned public-domain text, ASCII only", () => {
    const tokens = loadShippedCorpus();
    assert.equal(toHex(sha256(tokens)), CORPUS_SHA256);
    assert.ok(tokens.length > 300_000);
    for (const byte of tokens) assert.ok(byte < 128, "non-ASCII byte in the corpus");
    assert.equal(new TextDecoder().decode(tokens.subarray(0, 16)), "In the beginning");
  });

  it("splits every position into exactly one of train and held-out, about one tenth held out", () => {
    const split = splitCorpus(loadCorpus());
    assert.equal(split.train.length + split.validation.length, split.tokens.length);
    const ratio = split.validation.length / split.tokens.length;
    assert.ok(ratio > 0.08 && ratio < 0.12, `held-out ratio ${ratio}`);
    for (const position of split.validation) assert.ok(isValidationPosition(position));
    for (const position of split.train) assert.ok(!isValidationPosition(position));
  });

  it("builds contexts from the preceding bytes, padded at the start", () => {
    const tokens = new TextEncoder().encode("abcdef");
    const batch = batchAt(tokens, [0, 4], 3);
    assert.deepEqual([...batch.context], [PAD_TOKEN, PAD_TOKEN, PAD_TOKEN, 98, 99, 100]);
    assert.deepEqual([...batch.target], [97, 101]);
  });

  it("samples batches only from training positions, reproducibly", () => {
    const split = splitCorpus(loadCorpus());
    const a = sampleBatch(split, new Prng(5), 64, 8);
    const b = sampleBatch(split, new Prng(5), 64, 8);
    assert.deepEqual(a, b);
    assert.equal(a.context.length, 64 * 8);
  });
});
