import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr (stdout stays free for the CLI's own output). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'arka' } }, pino.destination(2));
}
