/**
 * The logging contract handed to connectors and tasks. It is the subset of
 * pino's API that plugins need; the worker passes a child logger already
 * bound to the connector name and task id.
 */
export interface LogFn {
  (msg: string): void;
  (obj: object, msg?: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger with extra bound fields. */
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything; handy in unit tests. */
export const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
