/**
 * The detector tier at start-up, with real parts: real worker threads loading each tier, timed on a real frame of the
 * bundled sample decoded by real ffmpeg; `veil run` showing its choice on /healthz. Which tier `auto` takes for a given
 * speed is unit-tested (test/models/tierChoice.test.ts); here the needs are set so the answer cannot depend on how
 * fast or loaded this machine is.
 */
import { describe, expect, it } from 'vitest';
import { DETECTION_LIMITS } from '../../models/cocoSsd.ts';
import { startDetectorTier, type DetectorTierRequest } from '../../pipeline/detectorTier.ts';
import { createLogger } from '../../pipeline/log.ts';
import { bottomCentre } from '../../models/detection.ts';
import { decodeFrameAt, testFfmpeg } from '../helpers/frames.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { fetchHealth } from '../helpers/liveEndpoints.ts';
import { FEED_TOKEN, startVeilRun, writeSiteConfig } from '../helpers/liveVeil.ts';
import { createSandbox, runVeil } from '../helpers/veilCli.ts';
import { eventually } from '../helpers/liveWait.ts';
import { FOOTAGE } from '../helpers/paths.ts';

const sandbox = useLiveSandbox('veil-tier-');

/** What the tier start-up logged, one line each. */
let logged: string[] = [];

async function request(overrides: Partial<DetectorTierRequest>): Promise<DetectorTierRequest> {
  logged = [];
  return { detector: { backend: 'auto', ...DETECTION_LIMITS }, model: 'auto', workers: 1, needFramesPerSecond: 5, maxWidth: 640, ffmpeg: await testFfmpeg(), why: 'forced by --model', log: createLogger('text', (line) => logged.push(line)), ...overrides };
}

describe('startDetectorTier', () => {
  it('measures both offline tiers in real workers and keeps the most accurate when any speed will do', async () => {
    // 0.01 frames/s: a tier would have to take 85 s a frame (1000 / 0.01 × 0.85 ms) not to sustain it.
    const { pool, report } = await startDetectorTier(await request({ needFramesPerSecond: 0.01 }));
    await pool.close();
    // Timing takes seconds: the user is told before, not left with a silent terminal.
    expect(logged.join('')).toContain('timing the detector tiers on a frame of the bundled sample');
    expect(report.tier).toBe('lite_mobilenet_v2');
    expect(pool.description.model).toContain('lite_mobilenet_v2');
    expect(report.measured.map((m) => m.tier).sort()).toEqual(['centernet', 'lite_mobilenet_v2']);
    for (const { msPerFrame, capacityFps } of report.measured) expect(capacityFps).toBeCloseTo(1000 / msPerFrame, 0);
    expect(report.reason).toMatch(/^lite_mobilenet_v2: the most accurate, and it sustains it; need 0\.01 frames\/s with 1 worker\(s\).*; measured lite_mobilenet_v2 [\d.]+ ms\/frame/);
  });

  it('takes the faster of the measured tiers when none keeps up', async () => {
    const { pool, report } = await startDetectorTier(await request({ needFramesPerSecond: 1e6 }));
    await pool.close();
    const fastest = [...report.measured].sort((a, b) => b.capacityFps - a.capacityFps)[0]!;
    expect(report.tier).toBe(fastest.tier);
    expect(report.reason).toContain('no tier sustains the need');
  });

  it('loads a forced tier in real workers without measuring, says it was forced, and its pool detects', async () => {
    const { pool, report } = await startDetectorTier(await request({ model: 'centernet' }));
    try {
      expect(report).toMatchObject({ tier: 'centernet', reason: 'forced by --model centernet', measured: [] });
      expect(logged.join('')).not.toContain('timing');
      expect(pool.description.model).toContain('CenterNet');
      // The man at the table at 77 s, feet at about x 0.57 (hand-measured).
      const frame = await decodeFrameAt(FOOTAGE.indoor, 77);
      const people = (await pool.detect(frame)).filter((d) => d.cocoClass === 'person' && d.score >= 0.4);
      expect(people).toHaveLength(1);
      expect(Math.abs(bottomCentre(people[0]!.box).x - 0.57)).toBeLessThan(0.05);
    } finally {
      await pool.close();
    }
  });

  it('refuses coco-ssd mobilenet_v2 when its weights cannot be fetched, naming the offline tiers', async () => {
    // Port 1 on the loopback: nothing listens there, as nothing answers a box without a network.
    const unreachable = await request({ model: 'mobilenet_v2', detector: { backend: 'auto', modelUrl: 'http://127.0.0.1:1/model.json', ...DETECTION_LIMITS } });
    await expect(startDetectorTier(unreachable)).rejects.toThrow(
      /^coco-ssd mobilenet_v2 from http:\/\/127\.0\.0\.1:1\/model\.json could not be loaded \(.+\): weights from a URL need the network when Veil starts\. .*--model lite_mobilenet_v2 or centernet$/,
    );
  });
});

describe('veil run', () => {
  it('shows the tier it chose at start-up, and why, on /healthz', async () => {
    const configFile = await writeSiteConfig(sandbox(), 'site.yaml', {
      stateDir: 'state',
      detector: { model: 'auto', workers: 1 },
      feed: { port: 0 },
      cameras: [{ id: 'yard', source: { file: FOOTAGE.parkinglot, loop: true }, fps: 2, windowSeconds: 2, maxWidth: 320 }],
    });
    const veil = startVeilRun(configFile, { home: sandbox(), newLedger: true });
    const baseUrl = await veil.listening(120);
    const { health } = await eventually('/healthz to answer', 30, () => fetchHealth(baseUrl, FEED_TOKEN));
    expect(health.detector).toMatchObject({ needFramesPerSecond: 2, workers: 1 });
    expect(health.detector!.measured.map((m) => m.tier).sort()).toEqual(['centernet', 'lite_mobilenet_v2']);
    expect(['centernet', 'lite_mobilenet_v2']).toContain(health.detector!.tier);
    expect(health.detector!.reason).toMatch(new RegExp(`^${health.detector!.tier}: .*need 2 frames/s with 1 worker`));
    const ready = veil.log().find((entry) => entry.message === 'detector ready');
    expect(ready).toMatchObject({ tier: health.detector!.tier, tier_why: health.detector!.reason });
    expect(veil.log().some((entry) => entry.message.startsWith('timing the detector tiers on a frame of the bundled sample'))).toBe(true);
  });

  it('takes --model-url like --model, and refuses it with a tier it does not apply to, naming both, before anything starts', async () => {
    const cameras = [{ id: 'yard', source: { file: FOOTAGE.parkinglot }, fps: 2, windowSeconds: 2 }];
    const plainFile = await writeSiteConfig(sandbox(), 'site-plain.yaml', { cameras });
    const configFile = await writeSiteConfig(sandbox(), 'site-uint8.yaml', { detector: { model: 'centernet', weights: 'uint8' }, cameras });
    const cli = await createSandbox();
    try {
      const withFlag = await runVeil(['run', '--config', plainFile, '--model', 'centernet', '--model-url', '/nowhere/model.json'], cli);
      expect(withFlag.exitCode, withFlag.stderr).toBe(2);
      expect(withFlag.stderr).toContain('--model-url applies to mobilenet_v2 only');
      expect(withFlag.stderr).toContain('but --model is centernet');
      // The same refusal for the site config's own keys: uint8 weights with CenterNet.
      const fromKeys = await runVeil(['run', '--config', configFile], cli);
      expect(fromKeys.exitCode, fromKeys.stderr).toBe(2);
      expect(fromKeys.stderr).toContain(`detector.weights (config ${configFile}) uint8 applies to lite_mobilenet_v2 only`);
      expect(fromKeys.stderr).toContain(`but detector.model (config ${configFile}) is centernet`);
    } finally {
      await cli.remove();
    }
  });
});
