export * from "./channel-transport.ts";
export * from "./consensus-transport.ts";
export * from "./constants.ts";
export * from "./errors.ts";
export {
  type FrameHandler,
  framedStream,
  type HostOptions,
  type NetLogger,
  type NetMetrics,
  NetworkHost,
  type RequestHandler,
} from "./host.ts";
export * from "./identity.ts";
export * from "./peer-score.ts";
export * from "./state-sync-transport.ts";
export * from "./topics.ts";
export * from "./validation.ts";
