import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sha256, toHex } from "../spec/index.ts";
import { CORPUS_SHA256, loadShippedCorpus, splitCorpus } from "./corpus.ts";
import { ComputeError } from "./errors.ts";
import { modelBitsPerChar, unigramBitsPerChar } from "./evaluate.ts";
import type { GeneratedToken } from "./generate.ts";
import { manifestPathFor, parseManifest } from "./manifest.ts";
import { inspectModel, type LanguageModel, loadModel, SHIPPED_MODEL_PATH } from "./model.ts";

/** Held-out positions evaluated in the test: 4,096 keeps it to a fraction of a second. */
const EVAL_SLICE = 4096;
const isCode = (code: string) => (error: unknown) => error instanceof ComputeError && error.code === code;

async function collect(tokens: AsyncIterable<GeneratedToken>): Promise<GeneratedToken[]> {
  const result: GeneratedToken[] = [];
  for await (const token of tokens) result.push(token);
  return result;
}

describe("the shipped model", () => {
  let model: LanguageModel;
  before(async () => {
    model = await loadModel(SHIPPED_MODEL_PATH, { threads: 1 });
  });
  after(async () => {
    await model.close();
  });

  it("has the sha256 its manifest records, and is under 10 MB", () => {
    const bytes = readFileSync(SHIPPED_MODEL_PATH);
    const manifest = parseManifest(readFileSync(manifestPathFor(SHIPPED_MODEL_PATH), "utf8"));
    assert.equal(toHex(sha256(bytes)), manifest.sha256);
    assert.equal(bytes.length, manifest.bytes);
    assert.ok(bytes.length < 10 * 1024 * 1024);
    assert.equal(manifest.corpus.sha256, CORPUS_SHA256);
    assert.equal(model.info.sha256, manifest.sha256);
    assert.deepEqual(model.info.manifest, manifest);
  });

  it("beats the unigram baseline on held-out text, through a real session", async () => {
    const split = splitCorpus(loadShippedCorpus());
    const slice = split.validation.subarray(0, EVAL_SLICE);
    const { contextLength, vocabSize } = model;
    const bits = await modelBitsPerChar(
      (context, rows) => model.logits(context, rows),
      split.tokens,
      slice,
      contextLength,
      vocabSize,
    );
    const unigram = unigramBitsPerChar(split.tokens, split.train, slice, vocabSize);
    assert.ok(unigram > 4, `unigram baseline ${unigram}`);
    assert.ok(bits < unigram - 1.5, `model ${bits} bits/char vs unigram ${unigram}`);
    const evaluation = model.info.manifest!.evaluation;
    assert.ok(evaluation.validationBitsPerChar < evaluation.unigramBitsPerChar - 1.5);
  });

  it("generates bitwise the same tokens for the same seed and thread count, different ones for another seed", async () => {
    const request = { prompt: "And God said", maxTokens: 120, temperature: 1, topK: 0 };
    const first = await collect(model.generate({ ...request, seed: 42 }));
    const other = await loadModel(SHIPPED_MODEL_PATH, { threads: 1 });
    try {
      const again = await collect(other.generate({ ...request, seed: 42 }));
      assert.deepEqual(again, first);
    } finally {
      await other.close();
    }
    const differentSeed = await collect(model.generate({ ...request, seed: 43 }));
    assert.equal(first.length, 120);
    assert.notDeepEqual(
      differentSeed.map((t) => t.id),
      first.map((t) => t.id),
    );
    assert.deepEqual(
      first.map((t) => t.index),
      Array.from({ length: 120 }, (_, i) => i),
    );
  });

  it("greedy decoding continues a common phrase with real words", async () => {
    const tokens = await collect(
      model.generate({ prompt: "And the LORD spake unto Moses, say", maxTokens: 6, temperature: 0 }),
    );
    assert.ok(
      tokens
        .map((t) => t.text)
        .join("")
        .startsWith("ing,"),
      'expected the model to complete "saying,"',
    );
  });

  it("stops when the caller breaks out or aborts, with CANCELLED for an abort", async () => {
    let seen = 0;
    for await (const _token of model.generate({ prompt: "", maxTokens: 100, seed: 1 }))
      if (++seen === 3) break;
    assert.equal(seen, 3);

    const abort = new AbortController();
    const received: GeneratedToken[] = [];
    await assert.rejects(async () => {
      for await (const token of model.generate({
        prompt: "",
        maxTokens: 100,
        seed: 1,
        signal: abort.signal,
      })) {
        received.push(token);
        if (received.length === 5) abort.abort();
      }
    }, isCode("CANCELLED"));
    assert.equal(received.length, 5);
  });

  it("refuses bad generation arguments with BAD_REQUEST before running anything", () => {
    const bad = [
      { prompt: "x", maxTokens: -1 },
      { prompt: "x", maxTokens: 1e9 },
      { prompt: "x", temperature: -0.5 },
      { prompt: "x", temperature: Number.NaN },
      { prompt: "x", topK: 257 },
      { prompt: "x", topK: 1.5 },
      { prompt: "x", seed: -1 },
    ];
    for (const request of bad) assert.throws(() => model.generate(request), isCode("BAD_REQUEST"));
  });
});

describe("model file checks", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "hyperspace-model-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a model file that differs from its manifest", () => {
    const path = join(dir, "kjv-mlp.onnx");
    const bytes = readFileSync(SHIPPED_MODEL_PATH);
    bytes[bytes.length >> 1]! ^= 1;
    writeFileSync(path, bytes);
    copyFileSync(manifestPathFor(SHIPPED_MODEL_PATH), manifestPathFor(path));
    assert.throws(() => inspectModel(path), isCode("HASH_MISMATCH"));
  });

  it("refuses a malformed manifest and a file that is not a model", () => {
    const path = join(dir, "other.onnx");
    copyFileSync(SHIPPED_MODEL_PATH, path);
    writeFileSync(manifestPathFor(path), "{ not json");
    assert.throws(() => inspectModel(path), isCode("BAD_MANIFEST"));
    const manifest = JSON.parse(readFileSync(manifestPathFor(SHIPPED_MODEL_PATH), "utf8"));
    writeFileSync(manifestPathFor(path), JSON.stringify({ ...manifest, sha256: "zz" }));
    assert.throws(() => inspectModel(path), isCode("BAD_MANIFEST"));
    const garbage = join(dir, "garbage.onnx");
    writeFileSync(garbage, "definitely not protobuf");
    assert.throws(() => inspectModel(garbage), isCode("BAD_MODEL"));
    assert.throws(() => inspectModel(join(dir, "missing.onnx")), isCode("BAD_MODEL"));
  });

  it("loads a model without a manifest from its own metadata", () => {
    const path = join(dir, "bare.onnx");
    copyFileSync(SHIPPED_MODEL_PATH, path);
    const inspected = inspectModel(path);
    assert.equal(inspected.manifest, null);
    assert.equal(inspected.architecture.kind, "mlp-lm");
  });

  it("refuses a cuda request with DEVICE_UNAVAILABLE when no cuda provider is present", async (t) => {
    let model: LanguageModel | null = null;
    try {
      model = await loadModel(SHIPPED_MODEL_PATH, { device: "cuda" });
    } catch (error) {
      assert.ok(isCode("DEVICE_UNAVAILABLE")(error), String(error));
      return;
    }
    t.diagnostic("cuda is present here; the cuda path loaded");
    assert.equal(model.info.provider, "cuda");
    await model.close();
  });
});
