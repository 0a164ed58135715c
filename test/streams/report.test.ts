import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReleasedWindow } from '../../stages/released.ts';
import { renderChartSvg } from '../../streams/reportChart.ts';
import { reportCsv, writeReport, type Report } from '../../streams/report.ts';

const PRIVACY: ReleasedWindow['privacy'] = {
  private: true,
  mechanism: 'discrete-laplace',
  epsilon: 0.5,
  delta: 0,
  sensitivity: { meanOccupancyL1: 1, crossingsL1: 1 },
  rhoSeconds: 0,
  budget: { periodSeconds: 86_400, epsilonPerPeriod: 10, epsilonSpent: 0.5, epsilonLeft: 9.5 },
};

/** A released clip window: `people` in the zone 'door', `cars` over the line 'gate' (forward). */
function clipWindow(startSeconds: number, endSeconds: number, people: number, cars: number): ReleasedWindow {
  return {
    camera: 'clip:sha256:0123456789abcdef0123456789abcdef',
    startSeconds,
    endSeconds,
    clock: 'clip',
    status: 'released',
    zones: { door: { classes: { person: { meanOccupancy: people, peakOccupancy: Math.ceil(people) + 1 }, vehicle: { meanOccupancy: 0, peakOccupancy: 0 } } } },
    lines: { gate: { classes: { car: { forward: cars, backward: 0 }, vehicle: { forward: cars, backward: 0 } } } },
    privacy: PRIVACY,
  };
}

const WITHHELD: ReleasedWindow = { ...clipWindow(120, 150, 0, 0), status: 'withheld', withheldReason: 'budget exhausted', zones: {}, lines: {} };

function report(overrides: Partial<Report> = {}): Report {
  return {
    veilVersion: '0.1.0',
    private: true,
    clip: { input: '/clips/lobby.mp4', durationSeconds: 150 },
    settings: {
      fps: 5,
      windowSeconds: 60,
      maxWidth: 640,
      scoreThreshold: 0.5,
      classes: ['person', 'car'],
      zones: [{ name: 'door', polygon: [[0, 0], [1, 0], [1, 1]] }],
      lines: [{ name: 'gate', from: [0, 0.5], to: [1, 0.5] }],
      detector: { backend: 'wasm', backendReason: 'fastest available', model: 'coco-ssd lite_mobilenet_v2 (bundled, sha256 verified)', workers: 2 },
      maxCrossingsPerObjectPerLine: 1,
    },
    framesAnalysed: 750,
    windows: [clipWindow(0, 60, 2.5, 4), clipWindow(60, 120, 1, 7), WITHHELD],
    ...overrides,
  };
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'veil-report-'));
});

afterEach(() => rm(dir, { recursive: true, force: true }));

describe('writeReport', () => {
  it('writes report.json, .csv, .svg and .png into the folder (creating it), and returns their paths', async () => {
    const outDir = path.join(dir, 'nested', 'out');
    const { files } = await writeReport(outDir, report());
    expect(files).toEqual(['report.json', 'report.csv', 'report.svg', 'report.png'].map((name) => path.join(outDir, name)));
    expect(JSON.parse(await readFile(files[0]!, 'utf8'))).toEqual(report());
    const png = await sharp(files[3]!).metadata();
    expect(png.format).toBe('png');
    expect(png.width).toBe(960);
  });

  it('refuses a report whose window carries anything beyond the released aggregates, and writes nothing', async () => {
    const leaky = report();
    (leaky.windows[0] as unknown as Record<string, unknown>).boxes = [{ x: 0.1, y: 0.2, width: 0.1, height: 0.3 }];
    await expect(writeReport(path.join(dir, 'out'), leaky)).rejects.toThrow(/boxes/);
    await expect(access(path.join(dir, 'out'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a per-class statistic with extra fields and a count that is not a whole number', async () => {
    const withTrack = report();
    (withTrack.windows[0]!.zones.door!.classes.person as unknown as Record<string, unknown>).trackIds = [3, 8];
    await expect(writeReport(dir, withTrack)).rejects.toThrow(/trackIds/);
    const fractional = report();
    fractional.windows[0]!.lines.gate!.classes.car!.forward = 2.5;
    await expect(writeReport(dir, fractional)).rejects.toThrow();
  });
});

describe('reportCsv', () => {
  it('has one row per window × zone × class and per window × line × class, and one per withheld window', () => {
    const [header, ...rows] = reportCsv(report().windows).trim().split('\n');
    expect(header).toBe('window_start_s,window_end_s,status,kind,name,class,mean_occupancy,peak_occupancy,mean_density_per_m2,peak_density_per_m2,forward,backward,epsilon');
    expect(rows).toEqual([
      '0,60,released,zone,door,person,2.5,4,,,,,0.5',
      '0,60,released,zone,door,vehicle,0,0,,,,,0.5',
      '0,60,released,line,gate,car,,,,,4,0,0.5',
      '0,60,released,line,gate,vehicle,,,,,4,0,0.5',
      '60,120,released,zone,door,person,1,2,,,,,0.5',
      '60,120,released,zone,door,vehicle,0,0,,,,,0.5',
      '60,120,released,line,gate,car,,,,,7,0,0.5',
      '60,120,released,line,gate,vehicle,,,,,7,0,0.5',
      '120,150,withheld,,,,,,,,,,0.5',
    ]);
  });

  it('quotes a name holding a comma or a quote', () => {
    const window = clipWindow(0, 60, 1, 0);
    window.zones = { 'hall, "north"': window.zones.door! };
    expect(reportCsv([window])).toContain('zone,"hall, ""north""",person');
  });
});

describe('the report chart', () => {
  it('says loudly that a calibration report is not private', () => {
    const svg = renderChartSvg(report({ private: false, windows: [{ ...clipWindow(0, 60, 1, 1), privacy: { ...PRIVACY, private: false, mechanism: 'none', epsilon: 0 } }] }));
    expect(svg).toContain('NOT PRIVATE');
  });

  it('names the mechanism and ε of a private report, and shades withheld windows', () => {
    const svg = renderChartSvg(report());
    expect(svg).toContain('Differentially private: discrete-laplace, ε = 0.5 per window');
    expect(svg).not.toContain('NOT PRIVATE');
    expect(svg.match(/class="withheld"/g)).toHaveLength(2); // one per panel
  });

  it('escapes a clip name that looks like markup', () => {
    const svg = renderChartSvg(report({ clip: { input: '/clips/lobby<img src=x onerror=alert(1)>.mp4' } }));
    expect(svg).not.toContain('<img');
    expect(svg).toContain('lobby&#60;img');
  });
});
