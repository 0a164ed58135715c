/**
 * `veil run` warns about a camera whose detector cannot see the scene, on /healthz and once in the log, and not about
 * one it sees. Real parts only: the CLI in its own process, two looping file cameras of the same overpass clip, one
 * turned a quarter turn inside ffmpeg as a camera mounted on its side would film it (the detector finds no vehicle
 * lying on its side), the real detector, /healthz over HTTP.
 *
 * The warning needs a whole stretch of the watch (20 s of stream time, stages/blindDetector.ts) in which the picture
 * moves and nothing is found, so this takes about half a minute after the detector has loaded.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { cameraHealth, fetchHealth } from '../helpers/liveEndpoints.ts';
import { FEED_TOKEN, startVeilRun, writeSiteConfig, type VeilRun } from '../helpers/liveVeil.ts';
import { eventually } from '../helpers/liveWait.ts';
import { FOOTAGE } from '../helpers/paths.ts';

/** Starting veil means loading the detector: seconds on an idle machine, more when other test files run beside. */
const START_TIMEOUT_SECONDS = 60;
/** The watch's stretch (20 s of stream time), the start of both streams, and a detector slowed by a busy machine. */
const WARNING_TIMEOUT_SECONDS = 120;

const sandbox = useLiveSandbox('veil-live-blind-');

describe('veil run with a camera mounted on its side and one upright', () => {
  let veil: VeilRun;
  let baseUrl: string;

  beforeAll(async () => {
    const configFile = await writeSiteConfig(sandbox(), 'site.yaml', {
      stateDir: 'state-blind',
      detector: { workers: 1 },
      feed: { port: 0 },
      cameras: [
        // The clip is upright; turning it makes it what a sideways camera sends, with no `orientation` to undo it.
        { id: 'sideways', source: { file: FOOTAGE.overpass, loop: true }, fps: 2, maxWidth: 320, orientation: 'rotate-90-clockwise' },
        { id: 'upright', source: { file: FOOTAGE.overpass, loop: true }, fps: 2, maxWidth: 320 },
      ],
    });
    veil = startVeilRun(configFile, { home: sandbox(), newLedger: true });
    baseUrl = await veil.listening(START_TIMEOUT_SECONDS);
  });

  it('shows the blind camera on /healthz and warns once in the log, and says nothing of the camera it sees', async () => {
    const answer = await eventually('/healthz: a warning on the sideways camera', WARNING_TIMEOUT_SECONDS, async () => {
      const health = await fetchHealth(baseUrl, FEED_TOKEN);
      return cameraHealth(health.health, 'sideways').warning !== undefined && health;
    });
    const sideways = cameraHealth(answer.health, 'sideways');
    // A warning, not a failure: the camera streams, and monitoring keyed on the status code is not woken for it.
    expect(sideways.state).toBe('streaming');
    expect(answer.httpStatus).toBe(200);
    expect(sideways.warning).toMatch(/^sideways: the detector has found almost nothing since \d{4}-\d\d-\d\dT.*orientation.*zoom.*lighting/);

    // The upright camera streamed as long (same start, same rate) and its detector finds the traffic: no warning.
    const upright = cameraHealth(answer.health, 'upright');
    expect(upright.state).toBe('streaming');
    expect(upright).not.toHaveProperty('warning');

    const warnings = veil.log().filter((entry) => entry.level === 'warn' && entry.message.includes('almost nothing'));
    expect(warnings.map((entry) => entry.camera)).toEqual(['sideways']);
    expect(warnings[0]!.message).toBe(sideways.warning);
    // What the watch measured, for the operator: the picture moved in most frames, nothing was found in any.
    expect(warnings[0]!.changing).toBeGreaterThanOrEqual(0.5);
    expect(warnings[0]!.detecting).toBeLessThanOrEqual(0.02);
  });
});
