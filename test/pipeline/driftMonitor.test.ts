/**
 * The drift monitor's start-up checks, on a real ledger in a temporary state folder: a `drift:` block that cannot work
 * is refused as a config error naming the field and a fix that works, before any footage is analysed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { COUNTED_CLASSES } from '../../models/detection.ts';
import { ConfigError } from '../../pipeline/config.ts';
import { DriftMonitor, driftSettingsSchema, suggestedDriftWindowSeconds } from '../../pipeline/driftMonitor.ts';
import { createLogger } from '../../pipeline/log.ts';
import { openPrivacy } from '../../pipeline/privacySetup.ts';
import { CameraStateRegistry } from '../../streams/cameraState.ts';
import { createVeilMetrics } from '../../streams/metrics.ts';

const closing: Array<() => void> = [];
afterEach(() => {
  for (const close of closing.splice(0)) close();
});

/** A monitor as `veil run` makes one for cameras[3] of site.yaml; what its constructor throws, or undefined. */
function startMonitor(drift: Record<string, unknown>, camera: { windowSeconds?: number } = {}): { error: unknown; stateDir: string } {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'veil-drift-monitor-'));
  closing.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const log = createLogger('json', () => {});
  const settings = driftSettingsSchema.parse(drift);
  const privacy = openPrivacy({ stateDir, createLedger: true, log });
  closing.push(() => privacy.close());
  const releaser = privacy.releaserFor({ id: 'gate', zones: [], lines: [{ name: 'door' }], classes: [...COUNTED_CLASSES], privacy: { epsilon: 1 }, drift: settings, ...camera }, { clockOffsetSeconds: 0, monotonic: true });
  try {
    new DriftMonitor({ camera: 'gate', settings, releaser, stateDir, states: new CameraStateRegistry(), metrics: createVeilMetrics(), log, where: 'config site.yaml, cameras[3]' });
    return { error: undefined, stateDir };
  } catch (error) {
    return { error, stateDir };
  }
}

describe('drift monitor start-up', () => {
  it('refuses a baseline that is someone else\'s file as a config error on cameras[i].drift.baseline, pointing to a new file and leaving it alone', () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'veil-drift-labels-'));
    closing.push(() => rmSync(folder, { recursive: true, force: true }));
    const labels = path.join(folder, 'hand-counts.json');
    const text = JSON.stringify({ clip: 'gate.mp4', lines: [{ name: 'door', crossings: { person: 12 } }] });
    writeFileSync(labels, text);
    const { error } = startMonitor({ share: 0.2, baseline: labels });
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(`config site.yaml, cameras[3].drift.baseline (camera "gate"): ${labels} is not a Veil drift baseline`);
    expect(message).toContain(`write a drift baseline to a new file with \`veil eval RECORDING.mp4 --drift-baseline ${path.join(folder, 'gate-drift-baseline.json')}\``);
    expect(message).not.toMatch(/remove|delete|overwrite|--drift-baseline [^ ]*hand-counts/);
    expect(readFileSync(labels, 'utf8')).toBe(text);
  });

  it('suggests a drift window that is a multiple of the camera\'s window lengths', () => {
    const { error } = startMonitor({ share: 0.2, windowSeconds: 25 }, { windowSeconds: 7 });
    expect(error).toBeInstanceOf(ConfigError);
    // 3600 / 7 = 514.3, so the nearest multiple of 7 to an hour is 514 · 7 = 3598.
    expect((error as Error).message).toBe('config site.yaml, cameras[3].drift.windowSeconds (camera "gate"): 25 s is not a whole number of the camera\'s windows (7 s): use a multiple of all of them, e.g. 3598');
  });

  it('refuses a baselineSeconds that is not a whole number of drift windows instead of rounding it', () => {
    const { error } = startMonitor({ share: 0.2, windowSeconds: 20, baselineSeconds: 30 }, { windowSeconds: 10 });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe('config site.yaml, cameras[3].drift.baselineSeconds (camera "gate"): 30 s is not a whole number of drift windows (drift.windowSeconds 20 s): use 20 or 40');
    expect(startMonitor({ share: 0.2, windowSeconds: 20, baselineSeconds: 40 }, { windowSeconds: 10 }).error).toBeUndefined();
  });
});

describe('suggestedDriftWindowSeconds', () => {
  it('is the least common multiple of the lengths times the whole number nearest to an hour', () => {
    // lcm(60, 7) = 420; 3600 / 420 = 8.57 → 9 · 420 = 3780.
    expect(suggestedDriftWindowSeconds([60, 7])).toBe(3780);
    // lcm(900, 3600) = 3600, once.
    expect(suggestedDriftWindowSeconds([900, 3600])).toBe(3600);
    // Longer than an hour: the lcm itself, lcm(5000, 3000) = 15000.
    expect(suggestedDriftWindowSeconds([5000, 3000])).toBe(15000);
    // Fractions: lcm(1/2, 3/2) = lcm(1, 3) / gcd(2, 2) = 3/2; 3600 / 1.5 = 2400 · 1.5 = 3600.
    expect(suggestedDriftWindowSeconds([0.5, 1.5])).toBe(3600);
  });
});
