/**
 * The log's two formats: a text line a person reads (with the time for the long-running commands) and a JSON line a
 * machine reads, both holding the message and its fields.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../pipeline/log.ts';

const AT = Date.UTC(2026, 10, 30, 10, 51, 5, 250);

function lines(format: 'text' | 'json', timestamps?: boolean) {
  const written: string[] = [];
  const log = createLogger(format, (line) => written.push(line), { timestamps, now: () => AT });
  log.info('camera streaming', { camera: 'road', fps: 5 });
  log.warn('MQTT broker connection lost', { pending: 3, note: undefined });
  return written;
}

describe('the log', () => {
  it('writes text lines with the level and the fields, and no time unless asked', () => {
    expect(lines('text')).toEqual(['veil: camera streaming (camera=road fps=5)\n', 'veil WARN: MQTT broker connection lost (pending=3)\n']);
  });

  it('starts each text line of a long-running command with the UTC time to the second', () => {
    expect(lines('text', true)).toEqual(['2026-11-30T10:51:05Z veil: camera streaming (camera=road fps=5)\n', '2026-11-30T10:51:05Z veil WARN: MQTT broker connection lost (pending=3)\n']);
  });

  it('writes one JSON object a line with the time in milliseconds, whatever timestamps says', () => {
    for (const timestamps of [false, true]) {
      expect(lines('json', timestamps).map((line) => JSON.parse(line))).toEqual([
        { time: '2026-11-30T10:51:05.250Z', level: 'info', message: 'camera streaming', camera: 'road', fps: 5 },
        { time: '2026-11-30T10:51:05.250Z', level: 'warn', message: 'MQTT broker connection lost', pending: 3 },
      ]);
    }
  });
});
