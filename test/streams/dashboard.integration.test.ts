/**
 * The reference dashboard in a real headless Chromium (Debian's, no browser download), against the real feed server
 * on loopback: it loads, authenticates, draws the replayed windows and redraws as live ones arrive.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CameraStateRegistry } from '../../streams/cameraState.ts';
import type { FeedServer } from '../../streams/feedServer.ts';
import { FEED_TOKEN, startTestFeed } from './feedFixtures.ts';
import { releasedWindow } from './releasedWindowFixture.ts';

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

/** The crowd chart's pixels, to tell whether new data was actually drawn. */
const crowdCanvas = (camera: string) =>
  page!.locator(`[data-camera="${camera}"] .crowd-chart canvas`).evaluate((canvas: HTMLCanvasElement) => canvas.toDataURL());

describe('dashboard', () => {
  it('loads, connects, draws the replayed windows and updates from live ones', async () => {
    const cameraStates = new CameraStateRegistry();
    cameraStates.set('gate', 'streaming');
    cameraStates.set('yard', 'reconnecting', 'rtsp://viewer:s3cret@10.1.2.3/live: Connection timed out');
    const started = await startTestFeed({ cameraStates, replayWindows: 30 });
    feed = started.feed;
    for (let index = 0; index < 12; index += 1) {
      feed.publishWindow(releasedWindow({ camera: 'gate', index, zoneCount: 3 }));
      feed.publishWindow(releasedWindow({ camera: 'yard', index, zoneCount: 2, status: index === 9 ? 'withheld' : 'released' }));
    }

    const dashboard = await openPage(`${feed.url}/?token=${FEED_TOKEN}`);
    await shows(dashboard.locator('#connection[data-state="live"]'));
    await shows(dashboard.locator('[data-camera="gate"] .crowd-chart[data-points="12"] canvas'));
    await shows(dashboard.locator('[data-camera="yard"] .traffic-chart[data-points="12"] canvas'));
    expect(new URL(dashboard.url()).search).toBe('');

    const before = await crowdCanvas('gate');
    for (let index = 12; index < 18; index += 1) feed.publishWindow(releasedWindow({ camera: 'gate', index, zoneCount: 3 }));
    await shows(dashboard.locator('[data-camera="gate"] .crowd-chart[data-points="18"]'));
    await shows(dashboard.locator('[data-camera="gate"] .traffic-chart[data-points="18"]'));
    expect(await crowdCanvas('gate')).not.toBe(before);

    const gate = dashboard.locator('[data-camera="gate"]');
    const yard = dashboard.locator('[data-camera="yard"]');
    expect(await gate.locator('.badge').textContent()).toBe('streaming');
    expect(await yard.locator('.badge').textContent()).toBe('reconnecting');
    expect(await yard.locator('.camera-error').textContent()).toBe('rtsp://***@10.1.2.3/live: Connection timed out');
    // Budget after window 17: 3 - 18 × 0.05 = 2.10 of 3 left.
    expect(await gate.locator('.gauge-value').textContent()).toBe('2.10');
    expect(await gate.locator('.gauge').getAttribute('data-level')).toBe('ok');
    // How far to trust a small number: the noise's spread, as the privacy block states it.
    expect(await gate.locator('.budget-terms').textContent()).toContain('± 5.7 (1 s.d.)');
    expect(await yard.locator('.camera-footer').textContent()).toMatch(/1 withheld/);

    cameraStates.set('gate', 'failed', 'gave up after 10 attempts');
    await shows(gate.locator('.badge[data-state="failed"]'));

    mkdirSync(SCREENSHOT_DIRECTORY, { recursive: true });
    await dashboard.screenshot({ path: `${SCREENSHOT_DIRECTORY}/dashboard.png`, fullPage: true });
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
