/**
 * Where the server's log lines go. JSON lines (one object per line, for log collectors) when
 * stdout is not a terminal; readable coloured lines (pino-pretty) when it is; either one on
 * request (`--log-format`). Lines logged while the gateway starts are held back until the
 * start-up summary has been printed, so a person reads the summary first.
 */
import pinoPretty from 'pino-pretty';
import type { LogDestination } from '../logger.js';
import { withRequestLineText } from '../usage/request-log-line.js';

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LogOutput {
  /** The destination to give the logger. */
  stream: LogDestination;
  /** Writes what was held back, and lets every later line through at once. */
  release(): void;
}

export function createLogOutput(format: LogFormat, stdout: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): LogOutput {
  const pretty = format === 'pretty' || (format === 'auto' && stdout.isTTY === true);
  const prettyStream = pretty ? pinoPretty({ destination: stdout, colorize: stdout.isTTY === true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : undefined;
  // Readable: each request's line is one line of text (its fields stay apart in JSON).
  const target: { write(line: string): unknown } = prettyStream === undefined ? stdout : { write: (line) => prettyStream.write(withRequestLineText(line)) };
  let held: string[] | undefined = [];
  const stream: LogDestination = {
    write(line) {
      if (held === undefined) target.write(line);
      else held.push(line);
    },
  };
  return {
    stream,
    release: () => {
      const lines = held;
      held = undefined;
      for (const line of lines ?? []) target.write(line);
    },
  };
}
