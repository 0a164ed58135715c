/**
 * The batch report: `report.json` (schema below, documented in docs/report.md), `report.csv` (one row per released
 * value: window × zone or line × class × statistic, with the value's standard deviation) and `report.svg` /
 * `report.png` (see reportChart.ts). These are the only files a batch run writes. Like the feed, the report holds
 * released windows only: no box, no detection coordinate, no per-frame time.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { COUNTED_CLASSES } from '../models/detection.ts';
import { countingLineSchema } from '../stages/lines.ts';
import { STATISTICS, type Statistic } from '../stages/privacy/settings.ts';
import { releasedWindowSchema, type ReleasedWindow } from '../stages/released.ts';
import { zoneSchema } from '../stages/zones.ts';
import { renderChartSvg, svgToPng } from './reportChart.ts';
import { coveredSeconds, isPartial } from './reportFigures.ts';

/** A window of the report: as released, plus, on a partial one, the seconds of footage it covers. */
const reportWindowSchema = releasedWindowSchema.extend({ coveredSeconds: z.number().positive().optional() });

export const reportSchema = z.strictObject({
  veilVersion: z.string(),
  /** `private: false` only for `--epsilon off` calibration runs: such a report must not be published. */
  private: z.boolean(),
  clip: z.strictObject({
    input: z.string(),
    durationSeconds: z.number().nonnegative().optional(),
    /**
     * Private runs: the camera the footage came from and when its recording starts (ISO), which place it in the
     * ledger: a window's clip seconds count from recordedAt, the analysed footage from startSeconds after it.
     */
    camera: z.string().min(1).optional(),
    recordedAt: z.iso.datetime({ offset: true }).optional(),
    /** Where the analysed footage starts, in clip seconds: --start, 0 for the whole clip. */
    startSeconds: z.number().nonnegative().optional(),
  }),
  settings: z.strictObject({
    fps: z.number(),
    /** What was released, each statistic in windows of its own length (e.g. crossings per 900 s, occupancy per 60 s). */
    releases: z.array(z.strictObject({ statistic: z.enum(STATISTICS), windowSeconds: z.number().positive() })).min(1),
    maxWidth: z.number(),
    scoreThreshold: z.number(),
    classes: z.array(z.enum(COUNTED_CLASSES)),
    zones: z.array(zoneSchema),
    lines: z.array(countingLineSchema),
    detector: z.strictObject({ backend: z.string(), backendReason: z.string(), model: z.string(), workers: z.number().int() }),
    /** What one object can contribute to a line's count: the bound the privacy stage relies on. */
    maxCrossingsPerObjectPerLine: z.number().int().positive(),
  }),
  framesAnalysed: z.number().int().nonnegative(),
  /**
   * Calibration runs only (`private: false`): frames the detector ran on and frames the motion gate skipped. Exact
   * counts follow how much of the clip moved, so a private report never carries them (docs/frugality.md).
   */
  inferences: z.strictObject({ run: z.number().int().nonnegative(), skipped: z.number().int().nonnegative() }).optional(),
  windows: z.array(reportWindowSchema),
}).refine((report) => !(report.private && report.inferences), { message: 'a private report must not carry exact inference counts', path: ['inferences'] });
export type Report = z.infer<typeof reportSchema>;

const CSV_HEADER = [
  'window_start_s', 'window_end_s', 'window_s', 'covered_s', 'status', 'kind', 'name', 'class', 'statistic', 'direction',
  'value', 'standard_deviation', 'epsilon', 'area_m2', 'withheld_reason',
];

/** The CSV's name for each statistic (snake case, like its other columns). */
const CSV_STATISTIC: Record<Statistic, string> = { crossings: 'crossings', peakOccupancy: 'peak_occupancy', meanOccupancy: 'mean_occupancy' };

function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The windows as CSV, one row per released value: window × zone × class × occupancy statistic and window × line ×
 * class × direction, plus one row per withheld window. `covered_s` is the seconds of footage the window covers (less
 * than `window_s` where the clip starts or ends inside it). `value` is the unbiased noised value exactly as released (it
 * may be negative: sum rows before rounding or clamping); `standard_deviation` is its noise's s.d. in objects, so a
 * sum of n rows of one statistic has s.d. √(Σ standard_deviation²). `epsilon` is what that statistic's release
 * spent; `area_m2` lets a reader derive densities.
 */
export function reportCsv(windows: readonly ReleasedWindow[]): string {
  const rows: Array<Array<string | number | undefined>> = [CSV_HEADER];
  for (const window of windows) {
    const head = [window.startSeconds, window.endSeconds, window.windowSeconds, coveredSeconds(window), window.status];
    if (window.status === 'withheld') {
      rows.push([...head, '', '', '', '', '', '', '', window.privacy.epsilon, '', window.withheldReason]);
      continue;
    }
    const terms = window.privacy.statistics;
    const row = (kind: string, name: string, className: string, statistic: Statistic, direction: string, value: number | undefined, area?: number) =>
      rows.push([...head, kind, name, className, CSV_STATISTIC[statistic], direction, value, terms[statistic]?.standardDeviation ?? 0, terms[statistic]?.epsilon ?? 0, area, '']);
    for (const [zone, release] of Object.entries(window.zones)) {
      for (const [className, stats] of Object.entries(release.classes)) {
        for (const statistic of ['meanOccupancy', 'peakOccupancy'] as const) {
          if (stats[statistic] !== undefined) row('zone', zone, className, statistic, '', stats[statistic], release.areaSquareMetres);
        }
      }
    }
    for (const [line, release] of Object.entries(window.lines)) {
      for (const [className, counts] of Object.entries(release.classes)) {
        for (const direction of ['forward', 'backward'] as const) row('line', line, className, 'crossings', direction, counts[direction]);
      }
    }
  }
  return rows.map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

export interface WrittenReport {
  /** The report as written: checked, each partial window marked with its coveredSeconds. */
  report: Report;
  files: string[];
}

export async function writeReport(outDir: string, report: Report): Promise<WrittenReport> {
  const windows = report.windows.map((window) => (isPartial(window) ? { ...window, coveredSeconds: coveredSeconds(window) } : window));
  const checked = reportSchema.parse({ ...report, windows });
  await mkdir(outDir, { recursive: true });
  const svg = renderChartSvg(checked);
  const files = {
    'report.json': JSON.stringify(checked, null, 2) + '\n',
    'report.csv': reportCsv(checked.windows),
    'report.svg': svg,
  };
  const written: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(outDir, name);
    await writeFile(file, content);
    written.push(file);
  }
  const pngFile = path.join(outDir, 'report.png');
  await writeFile(pngFile, await svgToPng(svg));
  written.push(pngFile);
  return { report: checked, files: written };
}
