/**
 * `veil run` with a camera's drift monitored, end to end: the CLI in its own process, a looping file camera (the
 * overpass clip), the real detector, /healthz and /metrics over HTTP. Drift windows of 10 s, so that the camera's own
 * baseline (one released window) is built and the next window gets a score within a minute of streaming.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { populationStabilityIndex } from '../../stages/drift.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { cameraHealth, fetchHealth, fetchMetrics } from '../helpers/liveEndpoints.ts';
import { FEED_TOKEN, startVeilRun, writeSiteConfig, type VeilRun } from '../helpers/liveVeil.ts';
import { eventually } from '../helpers/liveWait.ts';
import { FOOTAGE } from '../helpers/paths.ts';

const START_TIMEOUT_SECONDS = 60;
/** Two or three 10 s windows after the first frame, each published 3 s after its end, on a busy machine. */
const SCORE_TIMEOUT_SECONDS = 120;

const sandbox = useLiveSandbox('veil-live-drift-');

interface Drift {
  status: string;
  histograms?: { score: number[]; size: number[] };
  psi?: { score: number; size: number };
  baseline: string;
}

describe('veil run with drift: on a camera', () => {
  let veil: VeilRun;
  let baseUrl: string;

  beforeAll(async () => {
    const configFile = await writeSiteConfig(sandbox(), 'site.yaml', {
      stateDir: 'state-drift',
      detector: { workers: 1 },
      feed: { port: 0 },
      cameras: [{ id: 'road', source: { file: FOOTAGE.overpass, loop: true }, fps: 2, maxWidth: 320, windowSeconds: 10, drift: { share: 0.2, windowSeconds: 10, baselineSeconds: 10, minTracks: 1 } }],
    });
    veil = startVeilRun(configFile, { home: sandbox(), newLedger: true });
    baseUrl = await veil.listening(START_TIMEOUT_SECONDS);
  });

  it('builds its baseline from released windows, then scores each window on /healthz and /metrics', async () => {
    const drift = await eventually('/healthz: a drift score for the camera', SCORE_TIMEOUT_SECONDS, async () => {
      const reading = cameraHealth((await fetchHealth(baseUrl, FEED_TOKEN)).health, 'road').drift as Drift | undefined;
      return reading?.psi !== undefined && reading;
    });
    expect(drift.status).toBe('released');
    expect(drift.baseline).toMatch(/^released windows: released drift windows from /);
    // The stored baseline is one released window's noised histograms; the score is their PSI against this window's.
    const baseline = JSON.parse(readFileSync(path.join(sandbox(), 'state-drift', 'drift-baseline-road.json'), 'utf8')) as { source: string; windows: number; histograms: { score: number[]; size: number[] } };
    expect(baseline).toMatchObject({ source: 'released', windows: 1 });
    expect(drift.psi!.score).toBeCloseTo(populationStabilityIndex(baseline.histograms.score, drift.histograms!.score)!, 12);
    const metrics = await fetchMetrics(baseUrl, FEED_TOKEN);
    const scores = metrics.get('veil_drift_psi')!.samples.filter((sample) => sample.labels.camera === 'road');
    expect(scores.map((sample) => sample.labels.feature).sort()).toEqual(['score', 'size']);
    // The camera's own windows go on being released beside drift's: neither spend refused the other's clock.
    const entries = veil.log();
    expect(entries.filter((entry) => entry.message === 'window withheld')).toEqual([]);
    expect(entries.filter((entry) => entry.message === 'window released').length).toBeGreaterThan(0);
    expect(entries.some((entry) => entry.message.startsWith('drift window released') && entry.camera === 'road')).toBe(true);
  });
});
