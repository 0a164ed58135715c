/**
 * `npm run bench:fleet [-- --boxes 100 --windows 30 --districts 10 --recording FILE]`: a city's load on its
 * aggregator, measured end to end through a real broker.
 *
 *   1. Recorded releases: every box's windows, made by the real release stage (a real plan, each box's own ledger),
 *      written to a recording (JSON lines of {site, window}); or an existing recording given with --recording.
 *   2. A persistent mosquitto on 127.0.0.1 and a `veil aggregate` child process with the boxes in districts of equal
 *      size; a feed client on the aggregator notes when each window comes out of it (checked, stored, totalled).
 *   3. Window boundaries, as a live city makes them: at each, every box publishes its window at once (QoS 1, own
 *      persistent session); the next boundary starts when all of them are out. End-to-end delay per window: from
 *      the box's publish call to the window on the aggregator's feed (median, p95).
 *   4. A backlog, as after an outage: every box publishes the rest of its windows as fast as the broker takes them;
 *      messages per second through the aggregator, and its CPU time per window (from /proc), which sizes a city.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { releasedWindowSchema, type ReleasedWindow } from '../stages/released.ts';
import { FEED_PATH, FEED_SUBPROTOCOL } from '../streams/feedServer.ts';
import type { ServerMessage } from '../streams/feedMessages.ts';
import { connectBox, publishWindows, releaseCameras, windowId } from '../test/helpers/fleet.ts';
import { brokerAccepts, MOSQUITTO, writeMosquittoConfig } from '../test/helpers/mosquittoConfig.ts';

const WINDOW_SECONDS = 60;
const PRIVACY = {
  epsilon: 1,
  releases: [
    { statistic: 'crossings', windowSeconds: WINDOW_SECONDS, share: 0.5 },
    { statistic: 'peakOccupancy', windowSeconds: WINDOW_SECONDS, share: 0.25 },
    { statistic: 'meanOccupancy', windowSeconds: WINDOW_SECONDS, share: 0.25 },
  ],
};
const TOKEN = 'fleet-bench-feed-token-5c1a9';
const VEIL_BIN = path.resolve(import.meta.dirname, '../pipeline/veil.mjs');
/** Linux's clock ticks per second, the unit of /proc/PID/stat's CPU times. */
const CLOCK_TICKS_PER_SECOND = 100;

const recordedSchema = z.strictObject({ site: z.string(), window: releasedWindowSchema });
type Recorded = z.infer<typeof recordedSchema>;

const { values: flags } = parseArgs({
  options: {
    boxes: { type: 'string', default: '100' },
    windows: { type: 'string', default: '30' },
    districts: { type: 'string', default: '10' },
    recording: { type: 'string' },
    /**
     * How often mosquitto writes its persistence file, in seconds; 0 (the tests' setting): on every change, so a
     * killed broker loses nothing it acknowledged. Mosquitto's own default is 1800.
     */
    'broker-autosave': { type: 'string', default: '0' },
  },
});
const boxCount = Number(flags.boxes);
const windowCount = Number(flags.windows);
const districtCount = Number(flags.districts);
const autosaveSeconds = Number(flags['broker-autosave']);
const brokerPersistence = autosaveSeconds === 0 ? [] : ['autosave_on_changes false', `autosave_interval ${autosaveSeconds}`];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(what: string, timeoutSeconds: number, probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench: waited ${timeoutSeconds} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function record(folder: string): Promise<Recorded[]> {
  const cameras = Array.from({ length: boxCount }, (_, index) => ({
    site: `site-${String(Math.floor(index / 10)).padStart(3, '0')}`,
    camera: `cam-${index % 10}`,
    exact: (span: { startSeconds: number }) => ({
      zones: { square: { person: { meanOccupancy: 3 + (index % 7), peakOccupancy: 5 + (index % 7) }, vehicle: { meanOccupancy: 1, peakOccupancy: 2 } } },
      lines: { main: { person: { forward: index % 5, backward: 1 }, vehicle: { forward: 20 + ((span.startSeconds / WINDOW_SECONDS) % 9), backward: 12 } } },
    }),
  }));
  const released = releaseCameras(folder, cameras, PRIVACY, windowCount * WINDOW_SECONDS, { zones: ['square'], lines: ['main'] });
  return released.flatMap((box) => box.windows.map((window) => ({ site: box.site, window })));
}

async function main(): Promise<void> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'veil-fleet-bench-'));
  const children: ChildProcess[] = [];
  const clients: MqttClient[] = [];
  try {
    const recordingFile = flags.recording ?? path.join(folder, 'recording.jsonl');
    if (!flags.recording) {
      const startedMs = Date.now();
      const made = await record(path.join(folder, 'boxes'));
      await writeFile(recordingFile, made.map((entry) => JSON.stringify(entry)).join('\n'));
      console.log(`recorded ${made.length} released windows of ${boxCount} boxes through the release stage in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
    }
    const recording = (await readFile(recordingFile, 'utf8')).split('\n').filter(Boolean).map((line) => recordedSchema.parse(JSON.parse(line)));
    const boxes = new Map<string, { site: string; camera: string; windows: ReleasedWindow[] }>();
    for (const { site, window } of recording) {
      const key = `${site}/${window.camera}`;
      if (!boxes.has(key)) boxes.set(key, { site, camera: window.camera, windows: [] });
      boxes.get(key)!.windows.push(window);
    }
    const fleet = [...boxes.values()];
    const payloadBytes = recording.reduce((sum, { window }) => sum + Buffer.byteLength(JSON.stringify({ v: 1, type: 'window', window })), 0) / recording.length;

    const port = await freePort();
    const broker = spawn(MOSQUITTO, ['-c', await writeMosquittoConfig(path.join(folder, 'broker'), port, brokerPersistence)], { stdio: 'ignore' });
    children.push(broker);
    await until('mosquitto to listen', 10, () => brokerAccepts(port));

    const perDistrict = Math.ceil(fleet.length / districtCount);
    const districts = Array.from({ length: districtCount }, (_, d) => ({ name: `district-${d}`, cameras: fleet.slice(d * perDistrict, (d + 1) * perDistrict).map((box) => `${box.site}/${box.camera}`) })).filter((d) => d.cameras.length > 0);
    const cityFile = path.join(folder, 'city.yaml');
    await writeFile(cityFile, stringify({ broker: { url: `mqtt://127.0.0.1:${port}`, clientId: 'bench-city' }, stateDir: path.join(folder, 'city'), logFormat: 'json', feed: { port: 0 }, districts }));
    const aggregator = spawn(process.execPath, [VEIL_BIN, 'aggregate', '--config', cityFile], { env: { ...process.env, VEIL_FEED_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(aggregator);
    let log = '';
    aggregator.stderr!.setEncoding('utf8').on('data', (text: string) => (log += text));
    await until('veil aggregate to listen and subscribe', 60, () => log.includes('"connected to the broker"'));
    const feedPort = Number(/"message":"feed, dashboard[^\n]*"port":(\d+)/.exec(log)![1]);

    const arrivedMs = new Map<string, number>();
    let districtMessages = 0;
    const ws = new WebSocket(`ws://127.0.0.1:${feedPort}${FEED_PATH}`, FEED_SUBPROTOCOL, { headers: { Authorization: `Bearer ${TOKEN}` } });
    // Read as plain JSON: the feed checked each message against its schema on the way out, and checking it again
    // here would load the machine the aggregator runs on.
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as ServerMessage;
      if (message.type === 'window') arrivedMs.set(windowId(message.window.camera, message.window), performance.now());
      else if (message.type === 'district') districtMessages += 1;
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    for (const box of fleet) clients.push(await connectBox(`mqtt://127.0.0.1:${port}`, box.site, box.camera));

    const publishedMs = new Map<string, number>();
    const publishAt = (index: number, windows: readonly ReleasedWindow[]) => {
      const box = fleet[index]!;
      for (const window of windows) publishedMs.set(windowId(`${box.site}/${box.camera}`, window), performance.now());
      return publishWindows(clients[index]!, box.site, windows);
    };
    const delays = (ids: string[]) => ids.map((id) => arrivedMs.get(id)! - publishedMs.get(id)!).sort((a, b) => a - b);
    const idsOf = (pick: (windows: ReleasedWindow[]) => ReleasedWindow[]) => fleet.flatMap((box) => pick(box.windows).map((w) => windowId(`${box.site}/${box.camera}`, w)));

    // 3. Boundaries: every box's k-th window at once.
    const boundaries = Math.floor(windowCount / 2);
    for (let k = 0; k < boundaries; k += 1) {
      await Promise.all(fleet.map((box, index) => publishAt(index, box.windows.slice(k, k + 1))));
      const ids = idsOf((windows) => windows.slice(k, k + 1));
      await until(`boundary ${k} at the aggregator`, 60, () => ids.every((id) => arrivedMs.has(id)));
    }
    const boundaryDelays = delays(idsOf((windows) => windows.slice(0, boundaries)));

    // 4. A backlog from every box at once.
    const cpuBefore = cpuSeconds(aggregator.pid!);
    const brokerCpuBefore = cpuSeconds(broker.pid!);
    const floodStartMs = performance.now();
    await Promise.all(fleet.map((box, index) => publishAt(index, box.windows.slice(boundaries))));
    const floodIds = idsOf((windows) => windows.slice(boundaries));
    await until('the backlog at the aggregator', 300, () => floodIds.every((id) => arrivedMs.has(id)));
    const floodSeconds = (Math.max(...floodIds.map((id) => arrivedMs.get(id)!)) - floodStartMs) / 1000;
    const aggregatorCpu = cpuSeconds(aggregator.pid!) - cpuBefore;
    const brokerCpu = cpuSeconds(broker.pid!) - brokerCpuBefore;
    const floodDelays = delays(floodIds);
    const storeFile = path.join(folder, 'city', 'fleet.sqlite');
    const storeBytes = [storeFile, `${storeFile}-wal`].reduce((sum, file) => sum + (statSync(file, { throwIfNoEntry: false })?.size ?? 0), 0);

    const ms = (value: number) => `${value.toFixed(1)} ms`;
    const persistence = autosaveSeconds === 0 ? 'broker saves on every change' : `broker saves every ${autosaveSeconds} s`;
    console.log(`\nveil aggregate, ${fleet.length} boxes in ${districts.length} districts, ${recording.length} windows (${payloadBytes.toFixed(0)} bytes each on the wire), ${persistence}, ${os.cpus().length} CPUs`);
    console.log(`  boundaries (${boundaries} × ${fleet.length} windows at once): end-to-end delay median ${ms(percentile(boundaryDelays, 0.5))}, p95 ${ms(percentile(boundaryDelays, 0.95))}`);
    console.log(`  backlog (${floodIds.length} windows at once): ${(floodIds.length / floodSeconds).toFixed(0)} messages/s through the aggregator; delay median ${ms(percentile(floodDelays, 0.5))}, p95 ${ms(percentile(floodDelays, 0.95))}`);
    console.log(`  aggregator CPU ${ms((aggregatorCpu / floodIds.length) * 1000)} per window (check, store, district totals, feed); mosquitto CPU ${ms((brokerCpu / floodIds.length) * 1000)} per window`);
    console.log(`  district totals sent: ${districtMessages}; store ${(storeBytes / recording.length).toFixed(0)} bytes per window`);
    ws.close();
  } finally {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    for (const child of children.reverse()) {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    }
    await rm(folder, { recursive: true, force: true });
  }
}

await main();
