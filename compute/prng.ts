/**
 * A seeded deterministic pseudo-random generator: xoshiro128** (Blackman and
 * Vigna), seeded through splitmix32. It uses only 32-bit integer arithmetic,
 * so a seed gives the same sequence on every platform. Never Math.random.
 */
import { assert } from "../spec/index.ts";

/** 2^-53: turns a 53-bit integer into a double in [0, 1). */
const TWO_POW_MINUS_53 = 1 / 9007199254740992;

function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) | 0;
  let z = state.x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed` is any safe non-negative integer; its high and low 32-bit halves both feed the state. */
  constructor(seed: number) {
    assert(
      Number.isSafeInteger(seed) && seed >= 0,
      `prng seed must be a safe non-negative integer, got ${seed}`,
    );
    const state = { x: (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296), 0x27d4eb2d) };
    this.s0 = splitmix32(state);
    this.s1 = splitmix32(state);
    this.s2 = splitmix32(state);
    this.s3 = splitmix32(state);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) * TWO_POW_MINUS_53;
  }

  /** An integer in [0, bound), unbiased (rejection sampling on 32 bits). */
  nextInt(bound: number): number {
    assert(
      Number.isInteger(bound) && bound > 0 && bound <= 4294967296,
      `nextInt bound out of range: ${bound}`,
    );
    const limit = 4294967296 - (4294967296 % bound);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % bound;
    }
  }

  /** A double uniform in [-scale, scale). */
  nextSymmetric(scale: number): number {
    return (this.nextFloat() * 2 - 1) * scale;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
