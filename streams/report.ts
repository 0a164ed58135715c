/**
 * The batch report: `report.json` (schema below, documented in docs/report.md), `report.csv` (one row per window ×
 * zone × class and per window × line × class) and `report.svg` / `report.png` (see reportChart.ts). These are the only
 * files a batch run writes. Like the feed, the report holds released windows only: no box, no detection coordinate,
 * no per-frame time.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { COUNTED_CLASSES } from '../models/detection.ts';
import { countingLineSchema } from '../stages/lines.ts';
import { releasedWindowSchema, type ReleasedWindow } from '../stages/released.ts';
import { zoneSchema } from '../stages/zones.ts';
import { renderChartSvg, svgToPng } from './reportChart.ts';

export const reportSchema = z.strictObject({
  veilVersion: z.string(),
  /** `private: false` only for `--epsilon off` calibration runs: such a report must not be published. */
  private: z.boolean(),
  clip: z.strictObject({ input: z.string(), durationSeconds: z.number().nonnegative().optional() }),
  settings: z.strictObject({
    fps: z.number(),
    windowSeconds: z.number(),
    maxWidth: z.number(),
    scoreThreshold: z.number(),
    classes: z.array(z.enum(COUNTED_CLASSES)),
    zones: z.array(zoneSchema),
    lines: z.array(countingLineSchema),
    detector: z.strictObject({ backend: z.string(), backendReason: z.string(), model: z.string(), workers: z.number().int() }),
    /** What one object can contribute to a line's count in one window: the bound the privacy stage relies on. */
    maxCrossingsPerObjectPerLine: z.number().int().positive(),
  }),
  framesAnalysed: z.number().int().nonnegative(),
  windows: z.array(releasedWindowSchema),
});
export type Report = z.infer<typeof reportSchema>;

const CSV_HEADER = ['window_start_s', 'window_end_s', 'status', 'kind', 'name', 'class', 'mean_occupancy', 'peak_occupancy', 'mean_density_per_m2', 'peak_density_per_m2', 'forward', 'backward', 'epsilon'];

function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function reportCsv(windows: readonly ReleasedWindow[]): string {
  const rows: Array<Array<string | number | undefined>> = [CSV_HEADER];
  for (const window of windows) {
    const head = [window.startSeconds, window.endSeconds, window.status];
    if (window.status === 'withheld') rows.push([...head, '', '', '', '', '', '', '', '', '', window.privacy.epsilon]);
    for (const [zone, release] of Object.entries(window.zones)) {
      for (const [name, stats] of Object.entries(release.classes)) {
        rows.push([...head, 'zone', zone, name, stats.meanOccupancy, stats.peakOccupancy, stats.meanDensityPerSquareMetre, stats.peakDensityPerSquareMetre, '', '', window.privacy.epsilon]);
      }
    }
    for (const [line, release] of Object.entries(window.lines)) {
      for (const [name, counts] of Object.entries(release.classes)) {
        rows.push([...head, 'line', line, name, '', '', '', '', counts.forward, counts.backward, window.privacy.epsilon]);
      }
    }
  }
  return rows.map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

export interface WrittenReport {
  files: string[];
}

export async function writeReport(outDir: string, report: Report): Promise<WrittenReport> {
  const checked = reportSchema.parse(report);
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
  return { files: written };
}
