/** The channels layer's public API. Other layers import only from here. */
export * from "./channel-id.ts";
export * from "./channel-store.ts";
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./local-records.ts";
export { channelsModule, checkVoucher } from "./module.ts";
export * from "./payee.ts";
export * from "./payer.ts";
export * from "./payloads.ts";
export * from "./record.ts";
export * from "./signer.ts";
export * from "./transactions.ts";
