import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AdamW, clipGradientNorm } from "./adamw.ts";

describe("AdamW", () => {
  it("takes the textbook first step: -lr * sign(g), plus decoupled decay on weights only", () => {
    const params = { "layer.weight": Float32Array.of(1, -2), "layer.bias": Float32Array.of(0.5) };
    const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.99, epsilon: 0, weightDecay: 0.1 });
    optimizer.step(
      params,
      { "layer.weight": Float32Array.of(0.3, -4), "layer.bias": Float32Array.of(2) },
      0.01,
    );
    assert.equal(params["layer.weight"][0], Math.fround(1 * (1 - 0.001) - 0.01));
    assert.equal(params["layer.weight"][1], Math.fround(-2 * (1 - 0.001) + 0.01));
    assert.equal(params["layer.bias"][0], Math.fround(0.5 - 0.01));
  });

  it("minimises a quadratic and is deterministic", () => {
    const run = () => {
      const params = { w: Float32Array.of(3, -1, 0.25) };
      const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
      for (let i = 0; i < 2000; i++) {
        // loss = sum (w - target)^2 / 2
        const grad = Float32Array.from(params.w, (w, j) => w - [1, 2, -3][j]!);
        optimizer.step(params, { w: grad }, 0.01);
      }
      return params.w;
    };
    const first = run();
    assert.deepEqual(first, run());
    [1, 2, -3].forEach((target, j) => {
      assert.ok(Math.abs(first[j]! - target) < 1e-2, `w[${j}] = ${first[j]}`);
    });
  });

  it("clips the global gradient norm", () => {
    const grads = { a: Float32Array.of(3), b: Float32Array.of(4) };
    assert.equal(clipGradientNorm(grads, 1), 5);
    assert.ok(Math.abs(grads.a[0]! - 0.6) < 1e-6 && Math.abs(grads.b[0]! - 0.8) < 1e-6);
    const before = Float32Array.from(grads.a);
    assert.ok(Math.abs(clipGradientNorm(grads, 10) - 1) < 1e-6);
    assert.deepEqual(grads.a, before, "a norm under the bound leaves the gradients alone");
  });
});
