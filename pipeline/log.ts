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

export function createLogger(format: LogFormat, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const emit = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (format === 'json') {
      write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
      return;
    }
    const details = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ');
    const prefix = level === 'info' ? 'veil' : `veil ${level.toUpperCase()}`;
    write(`${prefix}: ${message}${details ? ` (${details})` : ''}\n`);
  };
  return {
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}
