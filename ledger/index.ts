/** The ledger layer's public API. Other layers import only from here. */
export * from "./buckets.ts";
export * from "./errors.ts";
export * from "./memory-store.ts";
export * from "./proof.ts";
export * from "./rocks-store.ts";
export * from "./smt.ts";
export * from "./store.ts";
