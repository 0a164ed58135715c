import { describe, expect, it } from 'vitest';
import { MAX_FLEET_PAYLOAD_BYTES, parseFleetMessage } from '../../streams/mqtt/fleetIntake.ts';
import { releasedWindow } from './releasedWindowFixture.ts';

const WINDOW_TOPIC = 'veil/v1/north/gate/window';
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const gateWindow = () => releasedWindow({ camera: 'gate' });

describe('fleet intake', () => {
  it('accepts a released window on its camera\'s topic and names it by its fleet id, site/camera', () => {
    const window = gateWindow();
    const parsed = parseFleetMessage(WINDOW_TOPIC, json({ v: 1, type: 'window', window }));
    expect(parsed).toEqual({ ok: true, message: { kind: 'window', camera: 'north/gate', window: { ...window, camera: 'north/gate' } } });
  });

  it.each([
    ['another topic scheme', 'veil/v2/north/gate/window', json({}), 'not a Veil fleet topic'],
    ['a wildcard-looking site', 'veil/v1/no rth/gate/window', json({}), 'not a Veil fleet topic'],
    ['text that is not JSON', WINDOW_TOPIC, Buffer.from('{"v":1,'), 'payload is not JSON'],
    ['a status on the window topic', WINDOW_TOPIC, json({ v: 1, type: 'status', camera: 'gate', state: 'streaming', since: '2026-11-30T00:00:00.000Z', restarts: 0 }), 'invalid type'],
    ['a window of another camera', WINDOW_TOPIC, json({ v: 1, type: 'window', window: releasedWindow({ camera: 'yard' }) }), 'the message names camera "yard" but came on camera "gate"\'s topic'],
    ['a calibration window (exact counts)', WINDOW_TOPIC, json({ v: 1, type: 'window', window: releasedWindow({ camera: 'gate', isPrivate: false }) }), 'privacy.private is false'],
    ['a window carrying boxes', WINDOW_TOPIC, json({ v: 1, type: 'window', window: { ...gateWindow(), boxes: [[0.1, 0.2, 0.3, 0.4]] } }), 'boxes'],
    ['an oversized payload', WINDOW_TOPIC, Buffer.alloc(MAX_FLEET_PAYLOAD_BYTES + 1, 32), `over the ${MAX_FLEET_PAYLOAD_BYTES} a Veil message may have`],
  ])('refuses %s, saying why', (_, topic, payload, problem) => {
    const parsed = parseFleetMessage(topic, payload);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toContain(problem);
  });

  it('accepts eval figures without any count, and a camera status; an empty payload clears a retained topic', () => {
    const figures = { camera: 'gate', evaluatedAt: '2026-11-30T01:00:00.000Z', clipSeconds: 12, fps: 2, lines: [{ line: 'l', category: 'vehicle', error: -3, tolerance: 2, withinTolerance: false }] };
    expect(parseFleetMessage('veil/v1/north/gate/eval', json({ v: 1, type: 'eval', ...figures }))).toEqual({ ok: true, message: { kind: 'eval', camera: 'north/gate', figures: { ...figures, camera: 'north/gate' } } });
    const withCounts = { v: 1, type: 'eval', ...figures, lines: [{ ...figures.lines[0], counted: 24, expected: 27 }] };
    expect(parseFleetMessage('veil/v1/north/gate/eval', json(withCounts)).ok).toBe(false);
    const status = { v: 1, type: 'status', camera: 'gate', state: 'streaming', since: '2026-11-30T00:00:00.000Z', restarts: 0 };
    expect(parseFleetMessage('veil/v1/north/gate/status', json(status))).toEqual({ ok: true, message: { kind: 'status', camera: 'north/gate', state: 'streaming' } });
    const failed = { ...status, state: 'failed', detail: 'gave up after 3 attempts' };
    expect(parseFleetMessage('veil/v1/north/gate/status', json(failed))).toEqual({ ok: true, message: { kind: 'status', camera: 'north/gate', state: 'failed', detail: 'gave up after 3 attempts' } });
    expect(parseFleetMessage('veil/v1/north/gate/status', Buffer.alloc(0))).toEqual({ ok: true, message: { kind: 'cleared', camera: 'north/gate', of: 'status' } });
  });
});
