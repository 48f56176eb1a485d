/**
 * The committee of one epoch: authorities indexed 0..n-1, each with a stake
 * and a public key. Thresholds are stake-weighted: with total stake T and
 * f = floor((T - 1) / 3), a quorum is T - f (at least 2f + 1) and validity is
 * f + 1 (at least one honest authority).
 */
import { assert, COMMITTEE_SIZE_MAX, PUBLIC_KEY_BYTES } from "../spec/index.ts";

export interface CommitteeMember {
  readonly stake: number;
  readonly publicKey: Uint8Array;
}

export class Committee {
  readonly epoch: number;
  readonly authorities: readonly CommitteeMember[];
  readonly size: number;
  readonly totalStake: number;
  /** The most stake that may be Byzantine and the protocol stays safe and live. */
  readonly faultyStakeMax: number;
  readonly quorumThreshold: number;
  readonly validityThreshold: number;
  private readonly stakes: Float64Array;

  constructor(authorities: readonly CommitteeMember[], epoch = 0) {
    assert(authorities.length > 0 && authorities.length <= COMMITTEE_SIZE_MAX, "committee size out of range");
    let total = 0;
    for (const authority of authorities) {
      assert(
        Number.isSafeInteger(authority.stake) && authority.stake > 0,
        "stake must be a positive integer",
      );
      assert(authority.publicKey.byteLength === PUBLIC_KEY_BYTES, "public key must be 32 bytes");
      total += authority.stake;
    }
    assert(Number.isSafeInteger(total), "total stake must be a safe integer");
    this.epoch = epoch;
    this.authorities = authorities;
    this.size = authorities.length;
    this.totalStake = total;
    this.faultyStakeMax = Math.floor((total - 1) / 3);
    this.quorumThreshold = total - this.faultyStakeMax;
    this.validityThreshold = this.faultyStakeMax + 1;
    this.stakes = Float64Array.from(authorities, (a) => a.stake);
  }

  /** A committee with the given stakes and placeholder keys (for tests, vectors and the simulator's keyed-hash scheme). */
  static fromStakes(stakes: readonly number[], publicKeys?: readonly Uint8Array[], epoch = 0): Committee {
    return new Committee(
      stakes.map((stake, i) => ({ stake, publicKey: publicKeys?.[i] ?? placeholderKey(i) })),
      epoch,
    );
  }

  /** n authorities of stake 1. */
  static uniform(size: number, publicKeys?: readonly Uint8Array[], epoch = 0): Committee {
    return Committee.fromStakes(new Array<number>(size).fill(1), publicKeys, epoch);
  }

  isAuthority(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.size;
  }

  stake(index: number): number {
    const stake = this.stakes[index];
    assert(stake !== undefined, `no authority ${index}`);
    return stake;
  }

  reachedQuorum(stake: number): boolean {
    return stake >= this.quorumThreshold;
  }

  reachedValidity(stake: number): boolean {
    return stake >= this.validityThreshold;
  }
}

function placeholderKey(index: number): Uint8Array {
  const key = new Uint8Array(PUBLIC_KEY_BYTES);
  new DataView(key.buffer).setUint32(0, index);
  return key;
}

/** Display name of an authority: A, B, …, Z, then [26], [27], … (the text DAG grammar uses the same). */
export function authorityName(index: number): string {
  return index < 26 ? String.fromCharCode(65 + index) : `[${index}]`;
}
