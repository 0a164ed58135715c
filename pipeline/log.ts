/**
 * Veil's log: human lines on a terminal, one JSON object per line for machines (`--log-format json`, the default
 * under systemd). Logs carry camera ids, states, counts and settings — never detections, boxes or track ids.
 */
export type LogLevel = 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Unix seconds as an ISO 8601 UTC time, the form log fields give a window's bounds in. */
export const isoTime = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();

export interface LoggerOptions {
  /**
   * Text lines start with the UTC time to the second ("2026-11-30T10:51:05Z veil: …"): for the commands that run for
   * months (`veil run`, `veil aggregate`), whose log is read after the fact. JSON lines always carry `time`.
   */
  timestamps?: boolean;
  /** The clock, for tests; Date.now by default. */
  now?: () => number;
}

/** A logger writing `format` lines through `write` (standard error by default). */
export function createLogger(format: LogFormat, write: (line: string) => void = (line) => process.stderr.write(line), options: LoggerOptions = {}): Logger {
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (format === 'json') {
      write(`${JSON.stringify({ time: new Date(now()).toISOString(), level, message, ...fields })}\n`);
      return;
    }
    const details = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ');
    const prefix = level === 'info' ? 'veil' : `veil ${level.toUpperCase()}`;
    const time = options.timestamps ? `${new Date(now()).toISOString().slice(0, 19)}Z ` : '';
    write(`${time}${prefix}: ${message}${details ? ` (${details})` : ''}\n`);
  };
  return {
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}
