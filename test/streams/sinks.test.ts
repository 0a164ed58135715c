import { describe, expect, it } from 'vitest';
import { openReleaseStore } from '../../streams/releaseStore.ts';
import { releaseStoreSink } from '../../streams/sinks/releaseStoreSink.ts';
import { fanOut } from '../../streams/sinks/sink.ts';
import { recordingLogger } from './feedFixtures.ts';
import { releasedWindow } from './releasedWindowFixture.ts';

describe('fanning out to sinks', () => {
  it('hands every window to every sink in order, and a failing sink costs only itself, logged with its name', () => {
    const broken = openReleaseStore(':memory:');
    broken.close();
    const working = openReleaseStore(':memory:');
    const log = recordingLogger();
    const publish = fanOut([releaseStoreSink(broken), releaseStoreSink(working)], log);
    const windows = [0, 1].map((index) => releasedWindow({ camera: 'gate', index }));
    for (const window of windows) publish(window);
    expect(working.latest('gate', 10)).toEqual(windows);
    expect(log.lines).toEqual(windows.map(() => ({ level: 'error', message: 'window not handed to the release store' })));
    working.close();
  });
});
