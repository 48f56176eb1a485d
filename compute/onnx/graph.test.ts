import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { AssertionError } from "../../spec/index.ts";
import { GraphBuilder, readModelMetadata } from "./graph.ts";

function affineGraph(): Uint8Array {
  const g = new GraphBuilder("affine");
  g.input("x", "float32", ["batch", 2]);
  const w = g.initializer("w", [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6));
  const b = g.initializer("b", [3], Float32Array.of(0.5, -0.5, 0));
  const y = g.op("Tanh", [g.op("Gemm", ["x", w, b])], {}, "y");
  const s = g.op("ReduceSum", [y, g.int64s([1])], { keepdims: { int: 0 } }, "s");
  g.output(y, "float32", ["batch", 3]);
  g.output(s, "float32", ["batch"]);
  return g.build({ zeta: "last", alpha: "first" });
}

describe("GraphBuilder", () => {
  it("builds a model that onnxruntime runs with the expected values", async () => {
    const session = await ort.InferenceSession.create(affineGraph(), { intraOpNumThreads: 1 });
    try {
      const x = Float32Array.of(1, 0, 0.1, -0.2);
      const result = await session.run({ x: new ort.Tensor("float32", x, [2, 2]) });
      const y = result.y!.data as Float32Array;
      const expected = [
        Math.tanh(1 * 1 + 0 * 4 + 0.5),
        Math.tanh(1 * 2 + 0 * 5 - 0.5),
        Math.tanh(1 * 3 + 0),
        Math.tanh(0.1 * 1 - 0.2 * 4 + 0.5),
        Math.tanh(0.1 * 2 - 0.2 * 5 - 0.5),
        Math.tanh(0.1 * 3 - 0.2 * 6),
      ];
      for (const [i, value] of expected.entries()) {
        assert.ok(Math.abs(y[i]! - value) < 1e-6, `y[${i}] = ${y[i]}, want ${value}`);
      }
      const s = result.s!.data as Float32Array;
      assert.ok(Math.abs(s[0]! - (y[0]! + y[1]! + y[2]!)) < 1e-6);
      assert.deepEqual(result.y!.dims, [2, 3]);
    } finally {
      await session.release();
    }
  });

  it("serialises deterministically and keeps metadata sorted by key", () => {
    const first = affineGraph();
    assert.deepEqual(first, affineGraph());
    assert.deepEqual(readModelMetadata(first), { alpha: "first", zeta: "last" });
    assert.deepEqual(Object.keys(readModelMetadata(first)), ["alpha", "zeta"]);
  });

  it("asserts on a reused name, an unknown input and a wrongly sized initializer", () => {
    const g = new GraphBuilder("bad");
    g.input("x", "float32", [1]);
    assert.throws(() => g.input("x", "float32", [1]), AssertionError);
    assert.throws(() => g.op("Neg", ["missing"]), AssertionError);
    assert.throws(() => g.initializer("w", [2, 2], Float32Array.of(1, 2, 3)), AssertionError);
    assert.throws(() => g.build(), AssertionError);
  });
});
