/**
 * AdamW (Loshchilov and Hutter): Adam with decoupled weight decay, applied in
 * place to named Float32Array parameters. Arithmetic is float64 per element
 * and stored back as float32; the bias corrections use running products, not
 * Math.pow, so a run is the same bits everywhere.
 */
import { assert } from "../spec/index.ts";
import type { ParameterSet } from "./mlp.ts";

export interface AdamWSettings {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Decoupled decay per unit learning rate. */
  readonly weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWSettings = { beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.01 };

/** Biases are not decayed; weights and embeddings are. */
export function isDecayed(name: string): boolean {
  return !name.endsWith(".bias");
}

export class AdamW {
  private readonly first: ParameterSet = {};
  private readonly second: ParameterSet = {};
  private beta1Power = 1;
  private beta2Power = 1;
  private stepCount = 0;

  constructor(
    params: ParameterSet,
    readonly settings: AdamWSettings = ADAMW_DEFAULTS,
  ) {
    for (const [name, values] of Object.entries(params)) {
      this.first[name] = new Float32Array(values.length);
      this.second[name] = new Float32Array(values.length);
    }
  }

  get steps(): number {
    return this.stepCount;
  }

  /** One update of every parameter in `params` from `grads`, at `learningRate`. */
  step(params: ParameterSet, grads: ParameterSet, learningRate: number): void {
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    this.stepCount++;
    this.beta1Power *= beta1;
    this.beta2Power *= beta2;
    const correction1 = 1 - this.beta1Power;
    const correction2 = 1 - this.beta2Power;
    for (const [name, values] of Object.entries(params)) {
      const grad = grads[name];
      const m = this.first[name];
      const v = this.second[name];
      assert(
        grad !== undefined && m !== undefined && v !== undefined,
        `adamw: no gradient or state for ${name}`,
      );
      assert(grad.length === values.length, `adamw: gradient of ${name} has the wrong size`);
      const decay = isDecayed(name) ? 1 - learningRate * weightDecay : 1;
      for (let i = 0; i < values.length; i++) {
        const g = grad[i]!;
        const mi = beta1 * m[i]! + (1 - beta1) * g;
        const vi = beta2 * v[i]! + (1 - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        const update = mi / correction1 / (Math.sqrt(vi / correction2) + epsilon);
        values[i] = values[i]! * decay - learningRate * update;
      }
    }
  }
}

/** Scales `grads` in place so their global L2 norm is at most `maxNorm`; returns the norm before scaling. */
export function clipGradientNorm(grads: ParameterSet, maxNorm: number): number {
  let sumSquares = 0;
  for (const values of Object.values(grads)) for (const g of values) sumSquares += g * g;
  const norm = Math.sqrt(sumSquares);
  if (norm > maxNorm) {
    const scale = maxNorm / norm;
    for (const values of Object.values(grads))
      for (let i = 0; i < values.length; i++) values[i] = values[i]! * scale;
  }
  return norm;
}
