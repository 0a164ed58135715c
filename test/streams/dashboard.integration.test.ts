/**
 * The reference dashboard in a real headless Chromium (Debian's, no browser download), against the real feed server
 * on loopback: it loads, authenticates, draws the replayed windows and redraws as live ones arrive.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { districtWindow, secureDistrictWindow } from '../../pipeline/districtTotals.ts';
import { createFleetMetrics } from '../../pipeline/fleetMetrics.ts';
import { createLogger } from '../../pipeline/log.ts';
import { createWindowConflicts } from '../../pipeline/windowConflicts.ts';
import type { ReleasedWindow } from '../../stages/released.ts';
import { CameraStateRegistry } from '../../streams/cameraState.ts';
import type { FeedServer } from '../../streams/feedServer.ts';
import { FEED_TOKEN, startTestFeed } from './feedFixtures.ts';
import { CROSSINGS_WINDOW_SECONDS, releasedWindow, WINDOW_SECONDS } from './releasedWindowFixture.ts';

const SCREENSHOT_DIRECTORY = 'test-output';

let browser: Browser;
let feed: FeedServer | undefined;
let page: Page | undefined;
const pageProblems: string[] = [];

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  await page?.close();
  await feed?.close();
  page = undefined;
  feed = undefined;
  pageProblems.length = 0;
});

async function openPage(url: string): Promise<Page> {
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
  // A CSP violation or a script error shows up here; the dashboard must produce neither.
  page.on('console', (message) => {
    if (message.type() === 'error') pageProblems.push(message.text());
  });
  page.on('pageerror', (error) => pageProblems.push(error.message));
  await page.goto(url);
  return page;
}

/** Waits for the element; a failure carries what the page logged, which is usually why it never appeared. */
async function shows(locator: Locator): Promise<void> {
  try {
    await locator.waitFor({ timeout: 15_000 });
  } catch (error) {
    throw new Error(`${(error as Error).message}\nThe page logged: ${JSON.stringify(pageProblems, null, 2)}`);
  }
}

const MINUTES_PER_CROSSINGS_WINDOW = CROSSINGS_WINDOW_SECONDS / WINDOW_SECONDS;

/**
 * Publishes a camera's minutes `from` … `to` − 1 as a live camera would: each minute's occupancy window, and a
 * crossings window whenever its 15 minutes are complete.
 */
function publishMinutes(publish: (window: ReleasedWindow) => void, camera: string, from: number, to: number, shape: { zoneCount: number; withheldMinute?: number }) {
  for (let minute = from; minute < to; minute += 1) {
    const status = minute === shape.withheldMinute ? 'withheld' : 'released';
    publish(releasedWindow({ camera, index: minute, zoneCount: shape.zoneCount, status }));
    if ((minute + 1) % MINUTES_PER_CROSSINGS_WINDOW === 0) {
      publish(releasedWindow({ camera, index: (minute + 1) / MINUTES_PER_CROSSINGS_WINDOW - 1, zoneCount: shape.zoneCount, windowSeconds: CROSSINGS_WINDOW_SECONDS }));
    }
  }
}

/** The crowd chart's pixels, to tell whether new data was actually drawn. */
const crowdCanvas = (camera: string) =>
  page!.locator(`[data-camera="${camera}"] .crowd-chart canvas`).evaluate((canvas: HTMLCanvasElement) => canvas.toDataURL());

describe('dashboard', () => {
  it('loads, connects, draws the replayed windows and updates from live ones', async () => {
    const cameraStates = new CameraStateRegistry();
    cameraStates.set('gate', 'streaming');
    cameraStates.set('yard', 'reconnecting', 'rtsp://viewer:s3cret@10.1.2.3/live: Connection timed out');
    const started = await startTestFeed({ cameraStates, replayWindows: 100 });
    feed = started.feed;
    publishMinutes(started.publish, 'gate', 0, 30, { zoneCount: 3 });
    publishMinutes(started.publish, 'yard', 0, 30, { zoneCount: 2, withheldMinute: 9 });

    const dashboard = await openPage(`${feed.url}/?token=${FEED_TOKEN}`);
    await shows(dashboard.locator('#connection[data-state="live"]'));
    // Each series in its own chart: 30 one-minute occupancy windows, 2 fifteen-minute crossings windows.
    await shows(dashboard.locator('[data-camera="gate"] .crowd-chart[data-points="30"] canvas'));
    await shows(dashboard.locator('[data-camera="yard"] .traffic-chart[data-points="2"] canvas'));
    expect(new URL(dashboard.url()).search).toBe('');

    const before = await crowdCanvas('gate');
    publishMinutes(started.publish, 'gate', 30, 45, { zoneCount: 3 });
    await shows(dashboard.locator('[data-camera="gate"] .crowd-chart[data-points="45"]'));
    await shows(dashboard.locator('[data-camera="gate"] .traffic-chart[data-points="3"]'));
    expect(await crowdCanvas('gate')).not.toBe(before);

    const gate = dashboard.locator('[data-camera="gate"]');
    const yard = dashboard.locator('[data-camera="yard"]');
    expect(await gate.locator('.badge').textContent()).toBe('streaming');
    expect(await yard.locator('.badge').textContent()).toBe('reconnecting');
    expect(await yard.locator('.camera-error').textContent()).toBe('rtsp://***@10.1.2.3/live: Connection timed out');
    // The latest window's footage: a visit there meets two one-minute windows (ε 0.25 + 0.25 each for mean and
    // peak occupancy) and one crossings window (ε 1): 2 × 0.5 + 1 = the whole ε of 2 per visit, and no more.
    expect(await gate.locator('.gauge-value').textContent()).toBe('2.00');
    expect(await gate.locator('.gauge-unit').textContent()).toBe('ε spent of 2.00 per visit');
    expect(await gate.locator('.gauge').getAttribute('data-level')).toBe('ok');
    // Each statistic's ε and the s.d. of one value, as the discrete Laplace gives them (scale t = sensitivity / ε,
    // variance 2e^(−1/t) / (1 − e^(−1/t))²): crossings t = 1/1 → 1.357; peak with 3 zones t = 3/0.25 → 16.97.
    const terms = await gate.locator('.budget-terms').textContent();
    expect(terms).toContain('crossings / 15 minε 1.00 · ± 1.4');
    expect(terms).toContain('peak occupancy / 1 minε 0.25 · ± 17');
    expect(terms).toContain('mean occupancy / 1 minε 0.25 · ± 17');
    // Sums carry √(Σσ²): three zones' means ± √3 · 16.97 = 29; both directions of the line ± √2 · 1.357 = 1.9.
    expect(await gate.locator('.crowd-headline').textContent()).toMatch(/^\d+(\.\d)? ± 29 persons on average last 1 min · busiest: [\w-]+, peak \d+ ± 17$/);
    expect(await gate.locator('.traffic-headline').textContent()).toMatch(/^\d+ ± 1\.9 vehicles crossed last 15 min/);
    // The 95% bands of values near 0 reach below it, and so does the scale.
    expect(Number(await gate.locator('.crowd-chart').getAttribute('data-y-min'))).toBeLessThan(0);
    expect(await yard.locator('.camera-footer').textContent()).toMatch(/1 withheld/);

    cameraStates.set('gate', 'failed', 'gave up after 10 attempts');
    await shows(gate.locator('.badge[data-state="failed"]'));

    mkdirSync(SCREENSHOT_DIRECTORY, { recursive: true });
    await dashboard.screenshot({ path: `${SCREENSHOT_DIRECTORY}/dashboard.png`, fullPage: true });
    expect(pageProblems).toEqual([]);
  });

  it('shows each camera\'s drift score from /healthz, and its warning', async () => {
    const cameraStates = new CameraStateRegistry();
    cameraStates.set('gate', 'streaming');
    cameraStates.set('yard', 'streaming');
    const hour = { windowStart: '2026-11-30T08:00:00.000Z', windowEnd: '2026-11-30T09:00:00.000Z', status: 'released' as const, histograms: { score: [3, 9, 40, 80, 150, 300, 260, 120], size: [10, 90, 400, 350, 100, 12] }, standardDeviation: 5.6, epsilon: 0.5, threshold: 0.25, baseline: 'calibration: gate.mp4' };
    cameraStates.setDrift('gate', { ...hour, psi: { score: 0.043, size: 0.021 } });
    const warning = 'drift: the detection scores (PSI 0.61) moved beyond 0.25 from the baseline: check the lens, the lighting and the camera\'s aim';
    cameraStates.setDrift('yard', { ...hour, psi: { score: 0.61, size: 0.08 }, warning });
    feed = (await startTestFeed({ cameraStates })).feed;
    const dashboard = await openPage(`${feed.url}/?token=${FEED_TOKEN}`);
    await shows(dashboard.locator('[data-camera="gate"] .camera-drift:not([hidden])'));
    expect(await dashboard.locator('[data-camera="gate"] .camera-drift').textContent()).toMatch(/^Drift .+–.+: PSI scores 0\.04, box sizes 0\.02 \(threshold 0\.25\) · baseline calibration: gate\.mp4$/);
    const yard = dashboard.locator('[data-camera="yard"] .camera-drift[data-warning="true"]');
    await shows(yard);
    expect(await yard.textContent()).toBe(warning);
    expect(pageProblems).toEqual([]);
  });

  it('shows veil aggregate\'s districts and fleet accuracy table, sent at connection and live', async () => {
    const cameras = ['north/gate', 'north/yard', 'south/bridge'];
    const district = { name: 'centre', cameras: cameras.map((camera) => ({ camera })) };
    const crossings = cameras.map((camera) => releasedWindow({ camera, windowSeconds: CROSSINGS_WINDOW_SECONDS }));
    const evaluation = { camera: 'north/gate', evaluatedAt: '2026-11-30T01:00:00.000Z', clipSeconds: 60, fps: 5, lines: [{ line: 'overpass', category: 'vehicle' as const, error: -4, tolerance: 2, withinTolerance: false }] };
    const started = await startTestFeed({
      snapshot: () => [{ v: 1, type: 'district', district: districtWindow(district, crossings.slice(0, 2)) }, { v: 1, type: 'accuracy', cameras: [evaluation] }],
    });
    feed = started.feed;
    const dashboard = await openPage(`${feed.url}/?token=${FEED_TOKEN}`);
    const row = dashboard.locator('#districts tbody tr');
    await shows(row.locator('td', { hasText: 'waiting for south/bridge' }));
    expect(await row.locator('td[data-complete="false"]').count()).toBe(1);
    feed.broadcast({ v: 1, type: 'district', district: districtWindow(district, crossings) });
    await shows(row.locator('td[data-complete="true"]', { hasText: '3 released' }));
    // Three cameras' forward vehicles, each ± 1.357 (crossings at ε 1): the sum is ± √3 · 1.357 = 2.4.
    const forward = crossings.reduce((sum, w) => sum + w.lines['main-road']!.classes.vehicle!.forward, 0);
    expect(await row.locator('td').nth(1).textContent()).toBe('sum of the cameras\' releases');
    expect(await row.locator('td').nth(3).textContent()).toBe(`${Math.max(0, forward)} ± 2.4`);
    expect(await dashboard.locator('#accuracy tbody tr').textContent()).toMatch(/^north\/gate.*1 min5overpassvehicle-4± 2outside tolerance$/);
    expect(pageProblems).toEqual([]);
  });

  it('marks district totals by secure aggregation apart from plain sums, a row each, with ε, δ and the boxes in the round', async () => {
    const cameras = ['north/gate', 'north/yard', 'south/bridge'];
    const crossings = cameras.map((camera) => releasedWindow({ camera, windowSeconds: CROSSINGS_WINDOW_SECONDS }));
    const plain = districtWindow({ name: 'centre', cameras: cameras.map((camera) => ({ camera })) }, crossings);
    const settings = { district: 'centre', fleet: 'city', boxes: ['east', 'north', 'south'], dropoutsTolerated: 1, windowSeconds: CROSSINGS_WINDOW_SECONDS, epsilon: 0.5, delta: 1e-6, linesPerBox: 1, classes: ['person' as const, 'vehicle' as const] };
    const round = `crossings-${crossings[0]!.startSeconds}-${CROSSINGS_WINDOW_SECONDS}`;
    // The round's sum is [person forward, person backward, vehicle forward, vehicle backward]; east dropped out.
    const secure = secureDistrictWindow('centre', settings, { type: 'result', status: 'released', round, sum: ['3', '4', '17', '2'], boxes: ['north', 'south'] });
    const withheld = secureDistrictWindow('harbour', settings, { type: 'result', status: 'withheld', round, reason: '1 of 3 boxes answered phase "advertise"; 2 needed' });
    // σ² = Δ₂²/(2ρ) with Δ₂ = 1 and √ρ = √(ln(1/δ) + ε) − √(ln(1/δ)) (Bun & Steinke 2016, Prop. 1.3); each of the
    // 3 boxes adds σ²/(3 − 1 tolerated dropout), and 2 boxes' shares make the sum: s.d. √(2 · σ²/2) = σ.
    const rootRho = Math.sqrt(Math.log(1e6) + 0.5) - Math.sqrt(Math.log(1e6));
    const sigma = 1 / Math.sqrt(2 * rootRho * rootRho);
    const started = await startTestFeed({ snapshot: () => [{ v: 1, type: 'district', district: plain }] });
    feed = started.feed;
    const dashboard = await openPage(`${feed.url}/?token=${FEED_TOKEN}`);
    const rows = dashboard.locator('#districts tbody tr');
    await shows(rows.locator('td[data-method="sum"]'));
    // Live after the plain total of the same district and window: it must not replace it.
    feed.broadcast({ v: 1, type: 'district', district: secure });
    feed.broadcast({ v: 1, type: 'district', district: withheld });
    await shows(rows.locator('td[data-method="secure"]', { hasText: 'withheld' }));
    const cellsOf = (method: string, district: string) => rows.filter({ hasText: district }).filter({ has: dashboard.locator(`td[data-method="${method}"]`) }).locator('td').allTextContents();
    const secureCells = await cellsOf('secure', 'centre');
    expect(secureCells[1]).toBe('secure aggregation, ε 0.5, δ 0.000001');
    expect(secureCells.slice(3, 5)).toEqual([`17 ± ${Number(sigma.toPrecision(2))}`, `2 ± ${Number(sigma.toPrecision(2))}`]);
    expect(secureCells[7]).toBe('2 boxes in the sum, without east');
    const plainCells = await cellsOf('sum', 'centre');
    expect(plainCells[1]).toBe('sum of the cameras\' releases');
    expect(plainCells[7]).toBe('3 released');
    const withheldCells = await cellsOf('secure', 'harbour');
    expect(withheldCells[1]).toBe('secure aggregation, ε 0.5, δ 0.000001 · withheld: 1 of 3 boxes answered phase "advertise"; 2 needed');
    expect(withheldCells.slice(3, 7)).toEqual(['—', '—', '—', '—']);
    expect(withheldCells[7]).toBe('round withheld (3 boxes)');
    expect(await rows.count()).toBe(3);
    // Set apart at a glance, not only in words: the secure cells are styled as such and the plain one is not.
    const colour = (method: string) => rows.locator(`td[data-method="${method}"]`).first().evaluate((cell) => getComputedStyle(cell).color);
    expect(await colour('secure')).not.toBe(await colour('sum'));
    mkdirSync(SCREENSHOT_DIRECTORY, { recursive: true });
    await dashboard.locator('#districts').screenshot({ path: `${SCREENSHOT_DIRECTORY}/dashboard-districts.png` });
    expect(pageProblems).toEqual([]);
  });

  it('names a box kept out of a round and why, and lists the fleet\'s problems from /healthz', async () => {
    const settings = { district: 'centre', fleet: 'city', boxes: ['east', 'north', 'south'], dropoutsTolerated: 1, windowSeconds: CROSSINGS_WINDOW_SECONDS, epsilon: 0.5, delta: 1e-6, linesPerBox: 1, classes: ['person' as const, 'vehicle' as const] };
    const round = `crossings-${1_764_460_800}-${CROSSINGS_WINDOW_SECONDS}`;
    const secure = secureDistrictWindow('centre', settings, { type: 'result', status: 'released', round, sum: ['3', '4', '17', '2'], boxes: ['east', 'north'] }, [{ box: 'south', reason: 'settings differ: epsilon' }]);
    const problem = { message: 'district "centre": box "south" runs with epsilon 0.6, the city with 0.5: write the same in both', district: 'centre', box: 'south', field: 'epsilon', boxValue: '0.6', cityValue: '0.5' };
    // Two boxes publishing as site "south": the aggregator's own problem for it, from a conflict it recorded.
    const conflicts = createWindowConflicts({ log: createLogger('json', () => {}), metrics: createFleetMetrics(new Registry()) });
    conflicts.record('south/road', 60);
    const [conflict] = conflicts.problems();
    feed = (await startTestFeed({ snapshot: () => [{ v: 1, type: 'district', district: secure }], fleetProblems: () => [problem, conflict!] })).feed;
    const dashboard = await openPage(`${feed.url}/?token=${FEED_TOKEN}`);
    await shows(dashboard.locator('#fleet-problems li[data-box="south"][data-field="epsilon"]'));
    await shows(dashboard.locator('#fleet-problems li[data-camera="south/road"]'));
    expect(await dashboard.locator('#fleet-problems li').allTextContents()).toEqual([problem.message, conflict!.message]);
    expect(conflict!.message).toContain('two boxes may publish as mqtt.site "south"');
    const members = dashboard.locator('#districts tbody td').nth(7);
    await shows(members);
    expect(await members.textContent()).toBe('2 boxes in the sum, without south (settings differ: epsilon)');
    expect(pageProblems).toEqual([]);
  });

  it('says so when the token is refused', async () => {
    feed = (await startTestFeed()).feed;
    const dashboard = await openPage(`${feed.url}/?token=not-the-token`);
    await shows(dashboard.locator('#connection[data-state="failed"]'));
    expect(await dashboard.locator('.connection-text').textContent()).toMatch(/check the token/);
    expect(await dashboard.locator('#token-button').isVisible()).toBe(true);
    // The refused handshake is the one error Chromium logs; anything else would be the page's fault.
    expect(pageProblems.filter((problem) => !/WebSocket connection .* failed/.test(problem))).toEqual([]);
  });
});
