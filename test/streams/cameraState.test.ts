import { describe, expect, it } from 'vitest';
import { CameraStateRegistry, type CameraState } from '../../streams/cameraState.ts';
import { redactCredentials } from '../../streams/redact.ts';

/** A clock the test moves by hand, one second per reading. */
function steppingClock() {
  let seconds = 0;
  return () => new Date(Date.UTC(2026, 0, 1, 8, 0, seconds++));
}

describe('camera state registry', () => {
  it('counts restarts, keeps `since` while the state holds and remembers the last error', () => {
    const states = new CameraStateRegistry(steppingClock());
    states.set('gate', 'starting');
    states.set('gate', 'streaming');
    const streamingSince = states.get('gate')?.since;
    states.set('gate', 'streaming');
    expect(states.get('gate')?.since).toBe(streamingSince);

    states.set('gate', 'reconnecting', 'ffmpeg exited with code 1');
    states.set('gate', 'reconnecting', 'ffmpeg exited with code 1');
    states.set('gate', 'starting');
    states.set('gate', 'reconnecting', 'connection refused');
    states.set('gate', 'streaming');
    expect(states.get('gate')).toEqual({
      camera: 'gate',
      state: 'streaming',
      since: '2026-01-01T08:00:05.000Z',
      restarts: 2,
      lastError: 'connection refused',
    });
  });

  it('tells every listener about every change until it unsubscribes, and lists cameras by name', () => {
    const states = new CameraStateRegistry(steppingClock());
    const heard: CameraState[] = [];
    const stop = states.onChange((state) => heard.push({ ...state }));
    states.set('yard', 'starting');
    states.set('gate', 'failed', 'gave up');
    stop();
    states.set('gate', 'stopped');
    expect(heard.map((s) => `${s.camera}:${s.state}`)).toEqual(['yard:starting', 'gate:failed']);
    expect(states.all().map((s) => `${s.camera}:${s.state}`)).toEqual(['gate:stopped', 'yard:starting']);
  });

  it('forgets a removed camera, telling the removal listeners once; a camera it never knew is no removal', () => {
    const states = new CameraStateRegistry();
    const removed: string[] = [];
    const stop = states.onRemove((camera) => removed.push(camera));
    states.set('south/road', 'stopped');
    states.set('north/gate', 'streaming');
    expect(states.remove('south/road')).toBe(true);
    expect(states.remove('south/road')).toBe(false);
    expect(states.remove('east/quay')).toBe(false);
    expect(states.all().map((s) => s.camera)).toEqual(['north/gate']);
    expect(states.get('south/road')).toBeUndefined();
    stop();
    states.remove('north/gate');
    expect(removed).toEqual(['south/road']);
  });

  it('never keeps a password from a source URL', () => {
    const states = new CameraStateRegistry();
    states.set('gate', 'failed', 'rtsp://admin:hunter2@10.0.0.7:554/s1 and http://u:p@cam.local/x: 401');
    expect(states.get('gate')?.lastError).toBe('rtsp://***@10.0.0.7:554/s1 and http://***@cam.local/x: 401');
    expect(redactCredentials('rtsp://10.0.0.7/stream1 timed out')).toBe('rtsp://10.0.0.7/stream1 timed out');
  });

  it('holds a warning across state transitions until it is cleared, without telling the listeners', () => {
    const states = new CameraStateRegistry(steppingClock());
    const heard: string[] = [];
    states.onChange((state) => heard.push(state.state));
    states.set('gate', 'streaming');
    states.warn('gate', 'gate: the detector has found almost nothing');
    states.set('gate', 'reconnecting', 'ffmpeg exited with code 1');
    states.set('gate', 'streaming');
    expect(states.get('gate')).toEqual({
      camera: 'gate',
      state: 'streaming',
      since: '2026-01-01T08:00:02.000Z',
      restarts: 1,
      lastError: 'ffmpeg exited with code 1',
      warning: 'gate: the detector has found almost nothing',
    });
    states.warn('gate', undefined);
    expect(states.get('gate')).not.toHaveProperty('warning');
    expect(states.get('gate')?.since).toBe('2026-01-01T08:00:02.000Z');
    expect(heard).toEqual(['streaming', 'reconnecting', 'streaming']);
  });

  it('refuses a warning about a camera it has no state for, and keeps no password in one', () => {
    const states = new CameraStateRegistry();
    expect(() => states.warn('gate', 'dark')).toThrow(/camera "gate" has no state yet/);
    states.set('gate', 'streaming');
    states.warn('gate', 'rtsp://admin:hunter2@10.0.0.7/s1 shows nothing');
    expect(states.get('gate')?.warning).toBe('rtsp://***@10.0.0.7/s1 shows nothing');
  });
});
