/** Smaller and larger of two amounts (Math.min and Math.max take no bigints). */
export function minAmount(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function maxAmount(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
