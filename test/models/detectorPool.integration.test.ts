/**
 * The real detector pool (real worker threads, bundled weights) when its workers die. The pool hides its workers, so
 * this file records each Worker the pool constructs — the real class, unchanged — to end one the way Node would
 * after a crash or an out-of-memory kill, and to see which are still running after a failed start.
 */
import type { Worker as NodeWorker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DETECTION_LIMITS } from '../../models/cocoSsd.ts';
import { startDetectorPool, type DetectorPool } from '../../models/detectorPool.ts';
import type { Frame } from '../../streams/frame.ts';
import { copyFrame, decodeFrameAt } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';

const workers = vi.hoisted(() => ({
  started: [] as NodeWorker[],
  exited: new Set<NodeWorker>(),
  /** The index of the worker to start with a model folder that does not exist, so that its load fails. */
  failingIndex: undefined as number | undefined,
}));

vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class RecordedWorker extends real.Worker {
    constructor(entry: URL, options: { workerData: Record<string, unknown> }) {
      const failing = workers.started.length === workers.failingIndex;
      super(entry, failing ? { ...options, workerData: { ...options.workerData, modelUrl: '/nonexistent/veil-model' } } : options);
      workers.started.push(this);
      this.once('exit', () => workers.exited.add(this));
    }
  }
  return { ...real, Worker: RecordedWorker };
});

const isAllZero = (pixels: Uint8Array) => pixels.every((byte) => byte === 0);

let frame: Frame;

beforeAll(async () => {
  // The man standing at the table: a frame with something in it, so a detection is visibly real.
  frame = await decodeFrameAt(FOOTAGE.indoor, 77);
});

afterEach(async () => {
  await Promise.all(workers.started.map((worker) => worker.terminate()));
  workers.started.length = 0;
  workers.exited.clear();
  workers.failingIndex = undefined;
});

describe('a detector pool whose workers exit', () => {
  let pool: DetectorPool;

  beforeAll(async () => {
    pool = await startDetectorPool({ backend: 'auto', ...DETECTION_LIMITS }, 2);
  });

  afterAll(() => pool?.close());

  it('sends frames only to the live worker, then refuses every frame, naming the exit, with its pixels zeroed', async () => {
    expect(workers.started).toHaveLength(2);
    const [first, second] = workers.started;

    // The idlest worker is the first among equals, so the first one dying is the case that used to hang.
    await first!.terminate();
    expect(pool.liveWorkerCount).toBe(1);
    const survivorFrame = copyFrame(frame);
    const people = (await pool.detect(survivorFrame)).filter((d) => d.cocoClass === 'person' && d.score >= 0.5);
    expect(people).toHaveLength(1);
    expect(survivorFrame.pixels.length).toBe(frame.pixels.length);
    expect(isAllZero(survivorFrame.pixels)).toBe(true);

    await second!.terminate();
    expect(pool.liveWorkerCount).toBe(0);
    expect(pool.workerCount).toBe(2);
    const refusedFrame = copyFrame(frame);
    await expect(pool.detect(refusedFrame)).rejects.toThrow(/no detector worker is left: all 2 have exited \(detector worker exited with code 1; detector worker exited with code 1\)/);
    // Never posted anywhere, so still here: zeroed by the pool itself.
    expect(refusedFrame.pixels.length).toBe(frame.pixels.length);
    expect(isAllZero(refusedFrame.pixels)).toBe(true);
  });
});

describe('a detector pool whose start fails part-way', () => {
  it('ends the workers that did start before reporting the one that failed', async () => {
    workers.failingIndex = 2;
    await expect(startDetectorPool({ backend: 'auto', ...DETECTION_LIMITS }, 3)).rejects.toThrow(/veil-model/);
    expect(workers.started).toHaveLength(3);
    expect(workers.exited.size).toBe(3);
  });
});
