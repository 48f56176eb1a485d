import pino from "pino";

/**
 * Structured JSON logs (pino), one child logger per module:
 * `log.info("committed", { index, leader, txs })`.
 */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  child(module: string): Logger;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

function wrap(base: pino.Logger): Logger {
  return {
    info: (message, fields) => base.info(fields ?? {}, message),
    warn: (message, fields) => base.warn(fields ?? {}, message),
    error: (message, fields) => base.error(fields ?? {}, message),
    debug: (message, fields) => base.debug(fields ?? {}, message),
    child: (module) => wrap(base.child({ module })),
  };
}

/** Logs go to stderr (fd 2) so that stdout stays for command output. */
export function createLogger(level: LogLevel = "info", name = "hyperspace"): Logger {
  return wrap(
    pino(
      {
        name,
        level,
        base: { pid: process.pid },
        formatters: { level: (label) => ({ level: label }) },
        serializers: { err: pino.stdSerializers.err },
      },
      pino.destination({ fd: 2, sync: false }),
    ),
  );
}
