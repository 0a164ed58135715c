/**
 * Veil's privacy promises, each as a test that fails when the promise is broken:
 *   - a batch run writes no file but its report (no frame dump, cache, sidecar or temp file, anywhere);
 *   - frame buffers are zero-filled once the detector has returned, and no copy of the pixels stays behind; frames the
 *     motion gate keeps from the detector die in the same drop stage;
 *   - the report holds released aggregates only: no box, crop, detection coordinate, track or per-frame time.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECTION_LIMITS } from '../../models/cocoSsd.ts';
import { startDetectorPool, type DetectorPool } from '../../models/detectorPool.ts';
import { analyseFrames } from '../../pipeline/frameChain.ts';
import type { FrameDetector } from '../../stages/detect.ts';
import { MotionGate } from '../../stages/motion.ts';
import { decodeFrames } from '../../streams/ffmpegFrames.ts';
import type { AnalysedFrame, Frame } from '../../streams/frame.ts';
import { reportSchema, type Report } from '../../streams/report.ts';
import { testFfmpeg } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';
import { unlistedLeaves } from '../helpers/reportShape.ts';
import { createSandbox, listFiles, runVeil, type Sandbox, type VeilRun } from '../helpers/veilCli.ts';

const REPORT_FILES = ['report.csv', 'report.json', 'report.png', 'report.svg'];
const WINDOW_SECONDS = 2;
const SITE_CONFIG = {
  zones: [{ name: 'road', polygon: [[0.3, 0], [0.85, 0], [0.85, 1], [0, 1]] }],
  lines: [{ name: 'across', from: [0, 0.5], to: [1, 0.5] }],
};

/** Every system call by which a process creates, changes or removes a file or folder. */
const FILE_WRITING_SYSCALLS = 'open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,truncate,unlink,unlinkat,rmdir';
const stracePresent = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', 'true']).status === 0;
/** A developer without strace skips the machine-wide check; CI never may, or the promise would go unchecked unseen. */
const skipMachineWideCheck = !stracePresent && !process.env.CI;

describe('a batch run writes nothing but its report', () => {
  let sandbox: Sandbox;
  let traceDir: string;
  let clip: string;
  let outDir: string;
  let run: VeilRun;

  beforeAll(async () => {
    sandbox = await createSandbox();
    traceDir = await mkdtemp(path.join(os.tmpdir(), 'veil-strace-'));
    // The clip sits inside the sandbox, so a file written next to it (a sidecar, a cache) would be seen too.
    clip = path.join(sandbox.inputs, 'overpass.avi');
    await copyFile(FOOTAGE.overpass, clip);
    const config = path.join(sandbox.inputs, 'site.json');
    await writeFile(config, JSON.stringify(SITE_CONFIG));
    outDir = path.join(sandbox.cwd, 'out');
    const args = ['batch', clip, '--duration', '6', '--fps', '2', '--window', String(WINDOW_SECONDS), '--config', config, '--epsilon', 'off', '--out', outDir];
    // strace follows veil, its detector threads and ffmpeg, and logs outside the sandbox.
    const wrapper = stracePresent ? ['strace', '-f', '-qq', '-e', `trace=${FILE_WRITING_SYSCALLS}`, '-o', path.join(traceDir, 'calls.log')] : undefined;
    run = await runVeil(args, sandbox, { wrapper });
    expect(run.exitCode, run.stderr).toBe(0);
  });

  afterAll(async () => {
    await sandbox?.remove();
    await rm(traceDir, { recursive: true, force: true });
  });

  it('leaves only the four report files in its HOME, TMPDIR, XDG folders, working directory and the clip’s folder', async () => {
    expect(await listFiles(sandbox.root)).toEqual([
      path.join('inputs', 'overpass.avi'),
      path.join('inputs', 'site.json'),
      ...REPORT_FILES.map((name) => path.join('work', 'out', name)),
    ]);
  });

  it.skipIf(skipMachineWideCheck)('opens nothing for writing anywhere on the machine but the report (strace of veil, its threads and ffmpeg)', async () => {
    expect(stracePresent, 'strace is not installed: CI must install it (.ci/run) to check that a run writes nothing').toBe(true);
    const log = await readFile(path.join(traceDir, 'calls.log'), 'utf8');
    const touched = new Set<string>();
    for (const line of log.split('\n')) {
      const call = /^\d+\s+(\w+)\(/.exec(line)?.[1];
      if (!call) continue; // "<... resumed>" halves carry no path
      const opensForReading = call.startsWith('open') && !/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(line);
      if (opensForReading) continue;
      for (const [, quoted] of line.matchAll(/"((?:[^"\\]|\\.)*)"/g)) touched.add(path.resolve(sandbox.cwd, quoted!));
    }
    // Terminals and the null device are not files.
    const written = [...touched].filter((file) => !/^\/dev\/(null|tty|pts\/)/.test(file)).sort();
    expect(written).toEqual([outDir, ...REPORT_FILES.map((name) => path.join(outDir, name))]);
  });

  describe('the report holds released aggregates only', () => {
    let report: Report;
    /** The file as written, before any schema could drop or reject a field. */
    let reportJson: unknown;
    beforeAll(async () => {
      reportJson = JSON.parse(await readFile(path.join(outDir, 'report.json'), 'utf8'));
      report = reportSchema.parse(reportJson);
    });

    it('has no field that could hold a box, crop, pixel, track, detection or frame time', () => {
      const keys = new Set<string>();
      const walk = (value: unknown) => {
        if (Array.isArray(value)) value.forEach(walk);
        else if (value && typeof value === 'object') for (const [key, child] of Object.entries(value)) keys.add(key) && walk(child);
      };
      walk(report);
      const forbidden = /^(box|boxes|bbox|x|y|width|height|crops?|pixels?|image|tracks?|trackIds?|handle|detections?|scores?|pts|ptsSeconds|frames|frameIndex|timestamps?|points?)$/i;
      expect([...keys].filter((key) => forbidden.test(key))).toEqual([]);
    });

    it('has values only where the report format (docs/report.md) puts them', () => {
      expect(unlistedLeaves(reportJson)).toEqual([]);
      // The only coordinates are the configured zones and lines, exactly as configured: none come from detections.
      expect({ zones: report.settings.zones, lines: report.settings.lines }).toEqual(SITE_CONFIG);
    });

    it('has no time finer than a window: each window runs from a multiple of the window length to the next, the last to the clip’s end', () => {
      expect(report.windows.length).toBe(3);
      for (const window of report.windows) {
        expect(window.startSeconds % WINDOW_SECONDS).toBe(0);
        expect(window.endSeconds).toBe(window.startSeconds + WINDOW_SECONDS);
      }
    });

    it('writes the same in the CSV: window bounds and aggregates, no other column', async () => {
      const [header, ...rows] = (await readFile(path.join(outDir, 'report.csv'), 'utf8')).trim().split('\n');
      expect(header).toBe('window_start_s,window_end_s,window_s,covered_s,status,kind,name,class,statistic,direction,value,standard_deviation,epsilon,area_m2,withheld_reason');
      const bounds = new Set(report.windows.map((w) => `${w.startSeconds},${w.endSeconds}`));
      for (const row of rows) expect(bounds.has(row.split(',').slice(0, 2).join(','))).toBe(true);
    });

    it('draws a chart with no picture in it: no embedded image in the SVG, and the PNG is that SVG', async () => {
      const svg = await readFile(path.join(outDir, 'report.svg'), 'utf8');
      expect(svg).not.toMatch(/<image|data:image|base64|xlink:href/i);
      const svgWidth = Number(/<svg[^>]* width="(\d+)"/.exec(svg)?.[1]);
      const svgHeight = Number(/<svg[^>]* height="(\d+)"/.exec(svg)?.[1]);
      const png = await sharp(path.join(outDir, 'report.png')).metadata();
      expect([png.format, png.width, png.height]).toEqual(['png', svgWidth, svgHeight]);
    });

    it('says nothing about boxes or detections on the terminal either', () => {
      const said = `${run.stdout}\n${run.stderr}`;
      expect(said).not.toMatch(/\bb?box(es)?\b/i);
      // Log fields are written key=value: none may carry a detection's score, track or position.
      expect(said).not.toMatch(/\b(score|track\w*|x|y|width|height|pts\w*)=/i);
    });
  });
});

describe('frame buffers after detection (real detector pool, 2 workers, real frames)', () => {
  let pool: DetectorPool;

  beforeAll(async () => {
    pool = await startDetectorPool({ backend: 'auto', ...DETECTION_LIMITS }, 2);
  });

  afterAll(() => pool?.close());

  const isZero = (pixels: Uint8Array) => pixels.every((value) => value === 0);

  /** Decodes 4 s of `input` from `startSeconds`, keeping each frame and the pixel buffer the decoder gave it. */
  function recorded(input: string, startSeconds: number, fps: number) {
    const decoded: Array<{ frame: Frame; original: Uint8Array }> = [];
    async function* frames() {
      for await (const frame of decodeFrames({ ffmpeg: await testFfmpeg(), input, startSeconds, durationSeconds: 4, fps, maxWidth: 640 })) {
        decoded.push({ frame, original: frame.pixels });
        yield frame;
      }
    }
    return { decoded, frames };
  }

  it('are zero-filled once the detector returns, the decoder’s copy is gone, and nothing past the drop stage holds pixels', async () => {
    // 76–80 s of the indoor clip: one man at the table, so the detector has something to find.
    const { decoded, frames: recordedFrames } = recorded(FOOTAGE.indoor, 76, 2);
    const returnedBuffers: Array<{ pixels: Uint8Array; zeroWhenReturned: boolean }> = [];
    const watchedPool: FrameDetector = {
      async detect(frame) {
        const detections = await pool.detect(frame);
        returnedBuffers.push({ pixels: frame.pixels, zeroWhenReturned: isZero(frame.pixels) });
        return detections;
      },
    };
    const analysed: AnalysedFrame[] = [];
    for await (const frame of analyseFrames({ detector: watchedPool, framesInFlight: 2, readAheadFrames: 1 }, recordedFrames())) analysed.push(frame);

    expect(analysed).toHaveLength(8);
    // The pixels were intact when the detector ran: it found the man in every frame.
    for (const frame of analysed) expect(frame.detections.some((d) => d.cocoClass === 'person' && d.score >= 0.5)).toBe(true);
    // The decoder's buffers went to the worker by transfer: none is readable here any more, so no copy was left.
    for (const { original } of decoded) expect(original.byteLength).toBe(0);
    // What came back from the worker was already zero, and is the frame's full size (zeroed, not truncated).
    for (const { pixels, zeroWhenReturned } of returnedBuffers) {
      expect(zeroWhenReturned).toBe(true);
      expect(pixels.length).toBe(640 * 360 * 3);
    }
    // Past the drop stage the frame holds no pixels, and what goes downstream has no field for any.
    for (const { frame } of decoded) expect(frame.pixels.length).toBe(0);
    for (const frame of analysed) expect(Object.keys(frame).sort()).toEqual(['detections', 'index', 'ptsSeconds']);
  });

  it('are zero-filled the same way when the motion gate skips the detector, and nothing past the drop stage holds pixels', async () => {
    // 15–19 s of the parking lot: nothing moves, so the gate skips most frames.
    const { decoded, frames: recordedFrames } = recorded(FOOTAGE.parkinglot, 15, 5);
    const motionGate = new MotionGate();
    const analysed: AnalysedFrame[] = [];
    for await (const frame of analyseFrames({ detector: pool, framesInFlight: 2, readAheadFrames: 1, motionGate }, recordedFrames())) analysed.push(frame);

    expect(analysed).toHaveLength(20);
    const skipped = analysed.filter((frame) => frame.skipped);
    expect(skipped.length).toBe(motionGate.counts.skipped);
    expect(skipped.length).toBeGreaterThan(10);
    for (const { frame, original } of decoded) {
      // Detected: the buffer went to a worker (transfer) and is unreadable here. Skipped: the same buffer, zeroed.
      expect(original.byteLength === 0 || isZero(original)).toBe(true);
      expect(frame.pixels.length).toBe(0);
    }
    expect(decoded.filter(({ original }) => original.byteLength > 0)).toHaveLength(skipped.length);
    for (const frame of analysed) expect(Object.keys(frame).sort()).toEqual(frame.skipped ? ['detections', 'index', 'ptsSeconds', 'skipped'] : ['detections', 'index', 'ptsSeconds']);
  });

  it('are zero-filled too when detection fails', async () => {
    const pixels = new Uint8Array(300).fill(200);
    // 10 × 20 × 3 is 600 bytes, not 300: the worker's tensor cannot be built and the frame fails.
    const frame: Frame = { index: 7, ptsSeconds: 1.4, width: 10, height: 20, pixels };
    await expect(pool.detect(frame)).rejects.toThrow(/detection failed on frame 7/);
    expect(pixels.byteLength).toBe(0);
    expect(frame.pixels.length).toBe(300);
    expect(isZero(frame.pixels)).toBe(true);
  });
});
