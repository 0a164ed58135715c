/** The decoder against the real ffmpeg on this machine and the real clips in ../shared/footage. */
import { copyFile, chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BUNDLED_FFMPEG, FFMPEG_MISSING_HELP, locateFfmpeg } from '../../streams/ffmpegBinary.ts';
import { DecodeError, decodeFrames, type DecodeOptions } from '../../streams/ffmpegFrames.ts';
import type { Frame } from '../../streams/frame.ts';
import { decodeExcerpt, testFfmpeg } from '../helpers/frames.ts';
import { CASES, FOOTAGE } from '../helpers/paths.ts';

let scratchDir: string;

beforeAll(async () => {
  scratchDir = await mkdtemp(path.join(os.tmpdir(), 'veil-decoder-'));
});

afterAll(() => rm(scratchDir, { recursive: true, force: true }));

async function decodeAll(options: Omit<DecodeOptions, 'ffmpeg'>): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const frame of decodeFrames({ ...options, ffmpeg: await testFfmpeg() })) frames.push(frame);
  return frames;
}

/** The first `fraction` of a clip's bytes, as an interrupted copy leaves it. */
async function truncatedCopy(clip: string, fraction: number, name: string) {
  const bytes = await readFile(clip);
  const file = path.join(scratchDir, name);
  await writeFile(file, bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return file;
}

/** ffmpeg processes whose parent is this process (zombies included: they are not gone until reaped). */
function ffmpegChildren(): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (comm === 'ffmpeg' && parentPid === process.pid) children.push(Number(entry));
  }
  return children;
}

describe('decodeFrames timestamps', () => {
  it('takes times from the stream: the overpass clip (stored at an odd ~60 fps, 28.3 s) at 5 fps is 0.2 s apart to the end', async () => {
    let durationSeconds: number | undefined;
    const frames = await decodeAll({ input: FOOTAGE.overpass, fps: 5, maxWidth: 640, onDuration: (seconds) => (durationSeconds = seconds) });
    expect(durationSeconds).toBeCloseTo(28.33, 1);
    // 28.33 s at 5 frames/s: frames at 0, 0.2, ..., 28.2.
    expect(frames).toHaveLength(142);
    expect(frames[0]!.ptsSeconds).toBe(0);
    frames.forEach((frame, index) => {
      expect(frame.index).toBe(index);
      if (index > 0) expect(frame.ptsSeconds - frames[index - 1]!.ptsSeconds).toBeCloseTo(0.2, 6);
    });
    expect(frames.at(-1)!.ptsSeconds).toBeCloseTo(28.2, 6);
  });

  it('decodes only the excerpt asked for: 6 s at 2 fps is 12 frames', async () => {
    const frames = await decodeExcerpt(FOOTAGE.indoor, { startSeconds: 20, durationSeconds: 6, fps: 2 });
    expect(frames).toHaveLength(12);
    expect(frames.at(-1)!.ptsSeconds - frames[0]!.ptsSeconds).toBeCloseTo(5.5, 6);
  });

  // After an input seek ffmpeg restarts timestamps at 0; the decoder adds the start back.
  it('keeps the clip’s own timestamps for an excerpt that starts later (--start)', async () => {
    const [first] = await decodeExcerpt(FOOTAGE.indoor, { startSeconds: 20, durationSeconds: 1, fps: 2 });
    expect(first!.ptsSeconds).toBeCloseTo(20, 1);
  });
});

describe('decodeFrames pixels', () => {
  it('scales frames down to maxWidth inside ffmpeg, keeping the aspect ratio', async () => {
    const [frame] = await decodeExcerpt(FOOTAGE.indoor, { durationSeconds: 0.5, fps: 2, maxWidth: 320 });
    // 768×432 scaled to width 320: height 432 · 320 / 768 = 180.
    expect([frame!.width, frame!.height]).toEqual([320, 180]);
    expect(frame!.pixels).toHaveLength(320 * 180 * 3);
  });

  it('never scales a small camera up', async () => {
    const [frame] = await decodeExcerpt(FOOTAGE.overpass, { durationSeconds: 0.5, fps: 2, maxWidth: 640 });
    expect([frame!.width, frame!.height]).toEqual([320, 240]);
  });

  it('hands out packed RGB with the picture in it, one buffer per frame', async () => {
    const [a, b] = await decodeExcerpt(FOOTAGE.overpass, { durationSeconds: 1, fps: 2 });
    expect(a!.pixels.buffer).not.toBe(b!.pixels.buffer);
    // The overpass is a sunlit grey road under green trees: neither black nor saturated.
    const mean = a!.pixels.reduce((sum, value) => sum + value, 0) / a!.pixels.length;
    expect(mean).toBeGreaterThan(60);
    expect(mean).toBeLessThan(200);
  });
});

/** Mean absolute difference of two frames' bytes, 0–255. */
function meanAbsoluteDifference(a: Frame, b: Frame): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let sum = 0;
  for (let i = 0; i < a.pixels.length; i++) sum += Math.abs(a.pixels[i]! - b.pixels[i]!);
  return sum / a.pixels.length;
}

/**
 * Which of `reference`'s frames around `frame`'s own time (±2 sampling intervals) looks most like it, as an offset in
 * frames: 0 when the frame shows the scene at its own instant (traffic moves between frames). A frame laid together
 * from four smaller ones resembles no instant in particular.
 */
function bestMatchingOffset(frame: Frame, reference: Frame[]): number {
  const offsets = [-2, -1, 0, 1, 2];
  const differences = offsets.map((offset) => meanAbsoluteDifference(frame, reference[frame.index + offset]!));
  return offsets[differences.indexOf(Math.min(...differences))]!;
}

describe('decodeFrames on streams whose picture size changes part-way (../shared/cases)', () => {
  // Both cases are the 28.35 s overpass clip, 320x240 for 16 s and 640x480 after: at 5 fps, frames at 0, 0.2, …, 28.2.
  const FRAMES_AT_5_FPS = Math.floor(28.35 * 5) + 1;
  let original: Frame[];

  beforeAll(async () => {
    original = await decodeAll({ input: FOOTAGE.overpass, fps: 5, maxWidth: 640 });
  });

  it('keeps the first size for every frame, with the real picture in the 640x480 part, and says the size changed', async () => {
    const warnings: string[] = [];
    const frames = await decodeAll({ input: CASES.resolutionChange, fps: 5, maxWidth: 640, onWarning: (warning) => warnings.push(warning) });
    expect(frames).toHaveLength(FRAMES_AT_5_FPS);
    for (const frame of frames) expect([frame.width, frame.height, frame.pixels.length]).toEqual([320, 240, 320 * 240 * 3]);
    // The case is the original clip re-encoded: a frame of its 640x480 part, scaled back, shows the original's
    // picture at the same instant.
    for (const index of [90, 100, 125]) expect(bestMatchingOffset(frames[index]!, original)).toBe(0);
    // ffmpeg 5 and later log the change, which Veil passes on; ffmpeg 4.1 (the npm package's) changes size silently.
    if ((await testFfmpeg()).libavformatMajor >= 59) expect(warnings.some((warning) => warning.includes('picture size changed to 640x480 after'))).toBe(true);
  });

  it('decodes the byte-glued join to the end: the corrupt packet at the join is a warning, not a failure', async () => {
    const warnings: string[] = [];
    const frames = await decodeAll({ input: CASES.resolutionChangeCatJoined, fps: 5, maxWidth: 640, onWarning: (warning) => warnings.push(warning) });
    expect(frames).toHaveLength(FRAMES_AT_5_FPS);
    expect(frames.at(-1)!.ptsSeconds).toBeCloseTo(28.2, 6);
    // ffmpeg 5 and later warn of the corrupt packet at the join; 4.1 (the npm package's) decodes it without a word.
    if ((await testFfmpeg()).libavformatMajor >= 59) expect(warnings.some((warning) => /corrupt/i.test(warning))).toBe(true);
    for (const index of [90, 100, 125]) expect(bestMatchingOffset(frames[index]!, original)).toBe(0);
  });
});

describe('decodeFrames at the end of the stream', () => {
  it('a complete decode is complete even when ffmpeg exits well after closing its output (a busy machine)', async () => {
    // The same ffmpeg, but it closes stdout and only then, 300 ms later, exits: a normal end, seen from outside the
    // way a loaded machine shows it (the old decoder took this for damage: "could not decode … muxing overhead").
    const real = await testFfmpeg();
    const slowExit = path.join(scratchDir, 'ffmpeg-slow-exit');
    await writeFile(slowExit, `#!/bin/sh\n"${real.path}" "$@"\nstatus=$?\nexec 1>&-\nsleep 0.3\nexit $status\n`);
    await chmod(slowExit, 0o755);
    const frames: Frame[] = [];
    for await (const frame of decodeFrames({ ffmpeg: { ...real, path: slowExit }, input: FOOTAGE.overpass, fps: 5, maxWidth: 640 })) frames.push(frame);
    expect(frames).toHaveLength(142);
  });

  it('a start past the end of the clip says how long the clip is', async () => {
    await expect(decodeAll({ input: FOOTAGE.overpass, fps: 5, maxWidth: 640, startSeconds: 500 })).rejects.toThrow(
      new DecodeError(`${FOOTAGE.overpass} is 28.3 s long: there is nothing to decode from 500 s on. Give a start within the clip (--start).`),
    );
  });
});

describe('decodeFrames stopping', () => {
  afterEach(() => expect(ffmpegChildren()).toEqual([]));

  it('kills ffmpeg when the consumer stops early, and zero-fills nothing it already handed out', async () => {
    let seen = 0;
    let kept: Frame | undefined;
    for await (const frame of decodeFrames({ ffmpeg: await testFfmpeg(), input: FOOTAGE.indoor, fps: 5, maxWidth: 640 })) {
      seen += 1;
      kept = frame;
      expect(ffmpegChildren()).toHaveLength(1);
      if (seen === 3) break;
    }
    expect(seen).toBe(3);
    await vi.waitFor(() => expect(ffmpegChildren()).toEqual([]), { timeout: 10_000, interval: 50 });
    expect(kept!.pixels.some((value) => value !== 0)).toBe(true);
  });

  it('kills ffmpeg when the consumer throws', async () => {
    const consume = async () => {
      for await (const frame of decodeFrames({ ffmpeg: await testFfmpeg(), input: FOOTAGE.overpass, fps: 5, maxWidth: 640 })) {
        throw new Error(`consumer failed on frame ${frame.index}`);
      }
    };
    await expect(consume()).rejects.toThrow('consumer failed on frame 0');
    await vi.waitFor(() => expect(ffmpegChildren()).toEqual([]), { timeout: 10_000, interval: 50 });
  });
});

describe('decodeFrames bad input', () => {
  it('a missing file fails before ffmpeg starts, naming the path', async () => {
    const missing = path.join(scratchDir, 'no-such-clip.mp4');
    await expect(decodeAll({ input: missing, fps: 2, maxWidth: 640 })).rejects.toThrow(new DecodeError(`clip not found: ${missing}. Check the path (relative paths start from ${process.cwd()}).`));
  });

  it('a text file named .mp4 is "not a video"', async () => {
    const file = path.join(scratchDir, 'notes.mp4');
    await writeFile(file, 'meeting notes, definitely not a video\n');
    await expect(decodeAll({ input: file, fps: 2, maxWidth: 640 })).rejects.toThrow(/notes\.mp4 is not a video ffmpeg can read .*Check that it is a video file/);
  });

  it('a truncated mp4 (index first) yields the frames it has, then says it is truncated', async () => {
    // The indoor clip keeps its index (moov) at the front: a cut copy still opens and fails where the data ends.
    const file = await truncatedCopy(FOOTAGE.indoor, 1 / 40, 'cut-indoor.mp4');
    const frames: Frame[] = [];
    const consume = async () => {
      for await (const frame of decodeFrames({ ffmpeg: await testFfmpeg(), input: file, fps: 2, maxWidth: 640 })) frames.push(frame);
    };
    await expect(consume()).rejects.toThrow(/cut-indoor\.mp4 is truncated or damaged .*Re-copy or re-export the clip/);
    expect(frames.length).toBeGreaterThan(0);
  });

  it('a truncated mp4 (index last) is "truncated or damaged", not "not a video"', async () => {
    // The parking-lot clip keeps its index at the end, as a recording interrupted mid-copy loses it.
    const file = await truncatedCopy(FOOTAGE.parkinglot, 1 / 2, 'cut-parkinglot.mp4');
    await expect(decodeAll({ input: file, fps: 2, maxWidth: 640 })).rejects.toThrow(/cut-parkinglot\.mp4 is truncated or damaged/);
  });
});

describe('locateFfmpeg', () => {
  const savedPath = process.env.FFMPEG_PATH;
  afterEach(() => {
    if (savedPath === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = savedPath;
  });

  it('FFMPEG_PATH pointing at a non-executable file gives the install help', async () => {
    const notExecutable = path.join(scratchDir, 'ffmpeg');
    await copyFile(FOOTAGE.overpass, notExecutable);
    await chmod(notExecutable, 0o644);
    process.env.FFMPEG_PATH = notExecutable;
    const error = await locateFfmpeg().catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(`FFMPEG_PATH points to ${notExecutable}, which is not an executable file. ${FFMPEG_MISSING_HELP}`);
    expect(FFMPEG_MISSING_HELP).toContain('sudo apt-get install -y ffmpeg');
  });

  it('--ffmpeg wins over FFMPEG_PATH and is named in its own error', async () => {
    process.env.FFMPEG_PATH = '/usr/bin/env';
    await expect(locateFfmpeg(path.join(scratchDir, 'nowhere', 'ffmpeg'))).rejects.toThrow(/^--ffmpeg points to .*nowhere\/ffmpeg, which is not an executable file/);
  });

  /** locateFfmpeg with FFMPEG_PATH unset and a PATH of one folder, `folder`, holding `name` (a link to `target`). */
  async function locateWithPathOf(folder: string, name: string, target: string) {
    const dir = path.join(scratchDir, folder);
    await mkdir(dir, { recursive: true });
    await symlink(target, path.join(dir, name)).catch(() => undefined);
    const savedSearchPath = process.env.PATH;
    delete process.env.FFMPEG_PATH;
    process.env.PATH = dir;
    try {
      return await locateFfmpeg();
    } finally {
      process.env.PATH = savedSearchPath;
    }
  }

  it('with no ffmpeg on PATH, falls back to the one the optional npm package ships, and that one decodes the hard cases', async () => {
    // A PATH with Node and nothing else, as on a fresh machine.
    const found = await locateWithPathOf('node-only-bin', 'node', process.execPath);
    expect(found.foundVia).toBe(BUNDLED_FFMPEG);
    expect(found.path).toContain(`${path.sep}node_modules${path.sep}@ffmpeg-installer${path.sep}`);
    // Its static build is ffmpeg 4.1: libavformat 58.
    expect(found.libavformatMajor).toBe(58);
    const frames: Frame[] = [];
    for await (const frame of decodeFrames({ ffmpeg: found, input: CASES.resolutionChange, fps: 5, maxWidth: 640 })) frames.push(frame);
    expect(frames).toHaveLength(Math.floor(28.35 * 5) + 1);
    for (const frame of frames) expect([frame.width, frame.height]).toEqual([320, 240]);
  });

  it('finds an ffmpeg on PATH and reads its version', async () => {
    // A PATH whose one ffmpeg is the one this machine has (the system's, or the npm package's on a bare machine).
    const found = await locateWithPathOf('path-with-ffmpeg', 'ffmpeg', (await testFfmpeg()).path);
    expect(found.foundVia).toBe('PATH');
    expect(found.path).toBe(path.join(scratchDir, 'path-with-ffmpeg', 'ffmpeg'));
    expect(found.version).toMatch(/^\S+$/);
    expect(found.version).not.toBe('unknown');
  });
});

describe('decodeFrames errors about a camera URL', () => {
  it('never repeat the credentials in the URL (they reach logs, /healthz and the feed)', async () => {
    const ffmpeg = await testFfmpeg();
    // Port 9 (discard) on loopback: nothing listens, so ffmpeg fails at once with the URL in its message.
    const frames = decodeFrames({ ffmpeg, input: 'http://operator:s3cret-pass@127.0.0.1:9/mjpeg', fps: 2, maxWidth: 320 });
    const error = await (async () => {
      for await (const _ of frames) return undefined;
      return undefined;
    })().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(DecodeError);
    expect(error!.message).toContain('http://***@127.0.0.1:9/mjpeg');
    expect(error!.message).not.toContain('s3cret');
  });
});
