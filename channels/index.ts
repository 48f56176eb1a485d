/** The channels layer's public API. Other layers import only from here. */
export * from "./channel-id.ts";
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./events.ts";
export { channelsModule, checkVoucher } from "./module.ts";
export * from "./payloads.ts";
export * from "./record.ts";
export * from "./transactions.ts";
