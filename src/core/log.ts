/** A log line: structured details, then the message. */
export type LogMethod = (details: object, message: string) => void;

/** The logger core/ writes to. Pino's (Fastify's) logger is one; core/ does not depend on either. */
export interface Log {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}
