import { HyperspaceError } from "../spec/index.ts";

export type NetErrorCode =
  | "TIMEOUT"
  | "OVERSIZE"
  | "PEER_UNREACHABLE"
  | "PROTOCOL_ERROR"
  | "REMOTE_ERROR"
  | "BANNED"
  | "NOT_STARTED";

export class NetError extends HyperspaceError<NetErrorCode, { peer?: string; protocol?: string }> {}
