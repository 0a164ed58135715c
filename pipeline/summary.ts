/** The one-screen summary printed at the end of a batch run: totals over the clip, from the released windows only. */
import path from 'node:path';
import type { Report } from '../streams/report.ts';

function round(value: number) {
  return Number(value.toFixed(1));
}

export function printSummary(report: Report, files: string[], out: NodeJS.WritableStream): void {
  const released = report.windows.filter((w) => w.status === 'released');
  const withheld = report.windows.length - released.length;
  const lines: string[] = [
    '',
    `Veil report — ${path.basename(report.clip.input)}`,
    `  ${report.framesAnalysed} frames analysed at ${report.settings.fps} frames/s, ${report.windows.length} window(s) of ${report.settings.windowSeconds} s` +
      (withheld ? `, ${withheld} withheld (privacy budget exhausted)` : ''),
  ];
  // The last window's block: the budget as it stands after the whole run.
  const privacy = report.windows.at(-1)?.privacy;
  if (!report.private) lines.push('  !!! NOT PRIVATE: calibration run (--epsilon off), exact counts. Do not publish this report. !!!');
  else if (privacy) {
    lines.push(`  privacy: ${privacy.mechanism}, ε = ${privacy.epsilon} per window, budget left ${round(privacy.budget.epsilonLeft)} of ${privacy.budget.epsilonPerPeriod} per ${privacy.budget.periodSeconds / 3600} h`);
    if (privacy.noiseStandardDeviation !== undefined) {
      lines.push(`  noise: each released value is off by about ${privacy.noiseStandardDeviation} objects (1 s.d.); raise --epsilon or count fewer classes for less`);
    }
  }
  for (const zone of report.settings.zones) {
    for (const name of ['person', 'vehicle'] as const) {
      const stats = released.map((w) => w.zones[zone.name]?.classes[name]).filter((s) => s !== undefined);
      if (!stats.length) continue;
      const mean = stats.reduce((sum, s) => sum + s.meanOccupancy, 0) / stats.length;
      const peak = Math.max(...stats.map((s) => s.peakOccupancy));
      lines.push(`  zone ${zone.name}: ${name === 'person' ? 'people' : 'vehicles'} mean ${round(mean)}, peak ${peak}`);
    }
  }
  for (const line of report.settings.lines) {
    for (const name of ['person', 'vehicle'] as const) {
      const counts = released.map((w) => w.lines[line.name]?.classes[name]).filter((c) => c !== undefined);
      const forward = counts.reduce((sum, c) => sum + c.forward, 0);
      const backward = counts.reduce((sum, c) => sum + c.backward, 0);
      lines.push(`  line ${line.name}: ${name === 'person' ? 'people' : 'vehicles'} forward ${forward}, backward ${backward}`);
    }
  }
  lines.push(`  written: ${files.join(', ')}`, '');
  out.write(lines.join('\n'));
}
