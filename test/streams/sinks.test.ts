import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../stages/privacy/ledger.ts';
import { openReleaseStore } from '../../streams/releaseStore.ts';
import { releaseStoreSink } from '../../streams/sinks/releaseStoreSink.ts';
import { reportSink } from '../../streams/sinks/reportSink.ts';
import { fanOut } from '../../streams/sinks/sink.ts';
import { occupancy, releaseClip } from '../helpers/releasedReport.ts';
import { recordingLogger } from './feedFixtures.ts';
import { releasedWindow } from './releasedWindowFixture.ts';

let dir: string;
let ledger: Ledger;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'veil-sinks-'));
  ledger = openLedger(path.join(dir, 'ledger'), { createIfMissing: true });
});

afterEach(async () => {
  ledger.close();
  await rm(dir, { recursive: true, force: true });
});

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

describe('the report sink', () => {
  it('writes the windows it was handed, in order, with the run described as it stands at close', async () => {
    const report = releaseClip({ privacy: { epsilon: 1 }, zones: [{ name: 'door' }], lines: [], durationSeconds: 180, exact: () => ({ zones: { door: occupancy({ meanOccupancy: 1, peakOccupancy: 2 }) }, lines: {} }), ledger });
    const { windows, ...header } = report;
    let framesAnalysed = 0;
    const sink = reportSink(dir, () => ({ ...header, framesAnalysed }));
    for (const window of windows) sink.publish(window);
    framesAnalysed = 360;
    expect(sink.written).toBeUndefined();
    await sink.close();
    const written = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8'));
    expect(written).toEqual({ ...report, framesAnalysed: 360 });
    expect(sink.written?.files.map((file) => path.basename(file))).toEqual(['report.json', 'report.csv', 'report.svg', 'report.png']);
  });
});
