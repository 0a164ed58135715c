/**
 * The report's chart, as a person would want to read it: one panel per release series and what it holds — people
 * per zone (mean as a line, peak dashed) and vehicles crossing each line (bars per direction), or vehicles per zone
 * when there is no line — each value drawn with its 95% interval (± 1.96 s.d. of that value: a band around lines
 * (lighter for peaks), a whisker on bars), on a scale that goes below 0 when noised values do (released values are unbiased,
 * not clamped). A value noise alone could explain (withinNoise, the summary's own judgement) is drawn hollow: a
 * hollow point, an outlined bar, so that noise on a street with no vehicles does not read as traffic. A window the
 * clip covers only in part (isPartial) is hatched and labelled with the seconds it covers ("6 of 900 s"): its values
 * count those seconds only, under a title that says "per 900 s window". Series of different window lengths (e.g. occupancy per 60 s, crossings per 900 s) get their own
 * panels, since their values are not comparable. Withheld windows are shaded. Plain SVG (opens in any browser),
 * plus a PNG rendered from it by sharp for places that show only images.
 */
import path from 'node:path';
import sharp from 'sharp';
import { classesOf } from '../models/detection.ts';
import { NOISE_BAND_STANDARD_DEVIATIONS, withinNoise, type Figure } from '../stages/privacy/figures.ts';
import type { ReleasedClass, ReleasedWindow } from '../stages/released.ts';
import type { Report } from './report.ts';
import { clockLabel, coveredSeconds, crossingsReading, isPartial, meanOccupancyReading, peakReading, seriesOf, type Reading, type ReleaseSeries } from './reportFigures.ts';

const WIDTH = 960;
const PANEL_HEIGHT = 260;
/** Below the panels: the notes, 16 px a line, then the run's settings. */
const footerHeight = (notes: number) => 38 + 16 * notes;
const MARGIN = { left: 64, right: 180, top: 44, bottom: 40 };
const PALETTE = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4b5563'];
/** A normal's two-sided 95% quantile: the intervals drawn are value ± 1.96 s.d. */
const Z_95 = 1.96;

interface PlottedSeries {
  label: string;
  colour: string;
  /** One figure per window of the panel; undefined where the window holds none (withheld). */
  figures: Array<Figure | undefined>;
  style: 'line' | 'dashed' | 'bars';
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The round step (1, 2, 2.5 or 5 × 10ᵏ) at or above `value`. */
function niceStep(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((step) => step * magnitude).find((candidate) => candidate >= value * (1 - 1e-12)) ?? value;
}

/**
 * The y axis: round ticks from 0 (or below it, when an interval reaches below 0: released values are unbiased and
 * may be negative) to above the highest interval, about four steps in all.
 */
function valueAxis(series: readonly PlottedSeries[]): { low: number; high: number; step: number } {
  const figures = series.flatMap((s) => s.figures).filter((item) => item !== undefined);
  const top = Math.max(1, ...figures.map((item) => item.value + Z_95 * item.standardDeviation));
  const bottom = Math.min(0, ...figures.map((item) => item.value - Z_95 * item.standardDeviation));
  const step = niceStep((top - bottom) / 4);
  return { low: Math.floor(bottom / step) * step, high: Math.ceil(top / step) * step, step };
}


/** Contiguous runs of defined figures, so a line or band breaks at a withheld window instead of bridging it. */
function runs(figures: ReadonlyArray<Figure | undefined>): Array<Array<{ index: number; item: Figure }>> {
  const out: Array<Array<{ index: number; item: Figure }>> = [[]];
  figures.forEach((item, index) => {
    if (item) out.at(-1)!.push({ index, item });
    else if (out.at(-1)!.length > 0) out.push([]);
  });
  return out.filter((run) => run.length > 0);
}

/** Names a drawn value's series and window, so a reader of the SVG (or a test) can tell which value a mark is. */
const markOf = (s: PlottedSeries, window: ReleasedWindow) => `data-series="${escapeXml(s.label)}" data-window-start="${window.startSeconds}"`;

function panel(title: string, unit: string, top: number, windows: readonly ReleasedWindow[], series: PlottedSeries[], recordedAt?: string): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const { low, high, step } = valueAxis(series);
  const slot = plotWidth / Math.max(1, windows.length);
  const x = (i: number) => MARGIN.left + slot * (i + 0.5);
  const y = (v: number) => top + MARGIN.top + plotHeight * ((high - v) / (high - low));
  const parts: string[] = [`<text x="${MARGIN.left}" y="${top + 26}" class="title">${escapeXml(title)}</text>`];
  for (let tick = Math.round(low / step); tick <= Math.round(high / step); tick++) {
    const value = tick * step;
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(value)}" y2="${y(value)}" class="${tick === 0 ? 'zero' : 'grid'}"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${y(value) + 4}" class="tick" text-anchor="end">${Number(value.toFixed(2))}</text>`);
  }
  parts.push(`<text transform="translate(16 ${top + MARGIN.top + plotHeight / 2}) rotate(-90)" class="tick" text-anchor="middle">${escapeXml(unit)}</text>`);
  const labelEvery = Math.max(1, Math.ceil(windows.length / 12));
  windows.forEach((window, i) => {
    // To the second where minutes would blur it: short windows, and one an excerpt starts off the minute (08:00:10Z).
    const toTheSecond = window.windowSeconds < 60 || window.startSeconds % 60 !== 0;
    if (i % labelEvery === 0) parts.push(`<text x="${x(i)}" y="${top + PANEL_HEIGHT - 18}" class="tick" text-anchor="middle">${clockLabel(window.startSeconds, window.clock, recordedAt, toTheSecond)}</text>`);
    if (window.status === 'withheld') parts.push(`<rect x="${x(i) - slot / 2}" y="${top + MARGIN.top}" width="${slot}" height="${plotHeight}" class="withheld"/>`);
    else if (isPartial(window)) {
      const where = `data-window-start="${window.startSeconds}"`;
      parts.push(`<rect x="${x(i) - slot / 2}" y="${top + MARGIN.top}" width="${slot}" height="${plotHeight}" class="partial" fill="url(#partial-hatch)" ${where}/>`);
      parts.push(`<text x="${x(i)}" y="${top + MARGIN.top + 12}" class="partial-label" text-anchor="middle" ${where}>${coveredSeconds(window)} of ${window.windowSeconds} s</text>`);
    }
  });
  const barSeries = series.filter((s) => s.style === 'bars');
  const barWidth = (slot * 0.8) / Math.max(1, barSeries.length);
  const whisker = (cx: number, item: Figure) => {
    if (item.standardDeviation <= 0) return;
    const [upper, lower] = [y(item.value + Z_95 * item.standardDeviation), y(item.value - Z_95 * item.standardDeviation)];
    const cap = Math.min(4, barWidth / 3);
    parts.push(`<path d="M${cx} ${upper}V${lower}M${cx - cap} ${upper}h${2 * cap}M${cx - cap} ${lower}h${2 * cap}" class="interval"/>`);
  };
  series.forEach((s, index) => {
    if (s.style === 'bars') {
      const offset = barSeries.indexOf(s);
      s.figures.forEach((item, i) => {
        if (!item) return;
        const left = x(i) - slot * 0.4 + offset * barWidth;
        const [from, to] = [y(Math.max(0, item.value)), y(Math.min(0, item.value))];
        const paint = withinNoise(item) ? `fill="${s.colour}" fill-opacity="0.15" stroke="${s.colour}" stroke-width="1.5" class="bar within-noise"` : `fill="${s.colour}" class="bar"`;
        parts.push(`<rect x="${left}" y="${from}" width="${Math.max(1, barWidth - 2)}" height="${to - from}" ${paint} rx="2" ${markOf(s, windows[i]!)}/>`);
        whisker(left + Math.max(1, barWidth - 2) / 2, item);
      });
    } else {
      for (const run of runs(s.figures)) {
        if (run.some(({ item }) => item.standardDeviation > 0)) {
          const upper = run.map(({ index: i, item }) => `${x(i)},${y(item.value + Z_95 * item.standardDeviation)}`);
          const lower = run.map(({ index: i, item }) => `${x(i)},${y(item.value - Z_95 * item.standardDeviation)}`).reverse();
          parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${s.colour}" class="band${s.style === 'dashed' ? ' light' : ''}"/>`);
        }
        const dash = s.style === 'dashed' ? ' stroke-dasharray="6 4"' : '';
        parts.push(`<polyline points="${run.map(({ index: i, item }) => `${x(i)},${y(item.value)}`).join(' ')}" fill="none" stroke="${s.colour}" stroke-width="${s.style === 'line' ? 2.5 : 1.5}"${dash}/>`);
        for (const { index: i, item } of run) {
          const paint = withinNoise(item) ? `fill="#ffffff" stroke="${s.colour}" stroke-width="1.5" class="point within-noise"` : `fill="${s.colour}" class="point"`;
          parts.push(`<circle cx="${x(i)}" cy="${y(item.value)}" r="${s.style === 'line' ? 3.5 : 2.5}" ${paint} ${markOf(s, windows[i]!)}/>`);
        }
      }
    }
    const legendY = top + MARGIN.top + 14 + index * 20;
    parts.push(
      s.style === 'dashed'
        ? `<line x1="${WIDTH - MARGIN.right + 14}" x2="${WIDTH - MARGIN.right + 30}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${s.colour}" stroke-width="2" stroke-dasharray="4 3"/>`
        : `<rect x="${WIDTH - MARGIN.right + 16}" y="${legendY - 10}" width="12" height="12" fill="${s.colour}" rx="2"/>`,
    );
    parts.push(`<text x="${WIDTH - MARGIN.right + 34}" y="${legendY}" class="legend">${escapeXml(s.label)}</text>`);
  });
  // Below the series: what hollow marks and hatched windows mean, for the panels that draw them.
  let legendY = top + MARGIN.top + 14 + series.length * 20 + 6;
  const legendX = WIDTH - MARGIN.right;
  if (series.some((s) => s.figures.some((item) => item !== undefined && withinNoise(item)))) {
    parts.push(
      barSeries.length
        ? `<rect x="${legendX + 16}" y="${legendY - 10}" width="12" height="12" fill="#6b7280" fill-opacity="0.15" stroke="#6b7280" stroke-width="1.5" rx="2"/>`
        : `<circle cx="${legendX + 22}" cy="${legendY - 4}" r="3.5" fill="#ffffff" stroke="#6b7280" stroke-width="1.5"/>`,
      `<text x="${legendX + 34}" y="${legendY}" class="legend">hollow: within the noise</text>`,
      `<text x="${legendX + 34}" y="${legendY + 14}" class="tick">(&lt; ${NOISE_BAND_STANDARD_DEVIATIONS} s.d. from 0)</text>`,
    );
    legendY += 40;
  }
  if (windows.some((window) => window.status === 'released' && isPartial(window))) {
    parts.push(
      `<rect x="${legendX + 16}" y="${legendY - 10}" width="12" height="12" fill="url(#partial-hatch)" stroke="#9ca3af"/>`,
      `<text x="${legendX + 34}" y="${legendY}" class="legend">hatched: partial</text>`,
      `<text x="${legendX + 34}" y="${legendY + 14}" class="tick">(clip covers only part)</text>`,
    );
  }
  if (!series.length) parts.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${top + MARGIN.top + plotHeight / 2}" class="tick" text-anchor="middle">nothing configured to show</text>`);
  return parts.join('\n');
}

/** The vehicles as released: the category when it was, else each released vehicle class (summed by the readings). */
function vehicleClasses(windows: readonly ReleasedWindow[]): ReleasedClass[] {
  const present = new Set(windows.flatMap((w) => [...Object.values(w.zones), ...Object.values(w.lines)].flatMap((place) => Object.keys(place.classes))));
  return present.has('vehicle') ? ['vehicle'] : classesOf('vehicle').filter((name) => present.has(name));
}

const readAll = (windows: readonly ReleasedWindow[], reading: Reading) => windows.map(reading);

interface PanelSpec {
  title: string;
  unit: string;
  series: PlottedSeries[];
}

/** What one release series shows: a people panel for occupancy, a vehicles panel for crossings (or zones). */
function panelsOf(report: Report, release: ReleaseSeries): PanelSpec[] {
  const { windows, windowSeconds, statistics } = release;
  const zones = report.settings.zones.map((zone) => zone.name);
  const per = `per ${windowSeconds} s window`;
  const panels: PanelSpec[] = [];
  if (zones.length && (statistics.includes('meanOccupancy') || statistics.includes('peakOccupancy'))) {
    const people = zones.flatMap((zone, index) => {
      const colour = PALETTE[index % PALETTE.length]!;
      return [
        ...(statistics.includes('meanOccupancy') ? [{ label: `${zone} mean`, colour, figures: readAll(windows, meanOccupancyReading(zone, ['person'])), style: 'line' as const }] : []),
        ...(statistics.includes('peakOccupancy') ? [{ label: `${zone} peak`, colour, figures: readAll(windows, peakReading(zone, 'person')), style: 'dashed' as const }] : []),
      ];
    });
    panels.push({ title: `People per zone, ${per} (mean: line, peak: dashed)`, unit: 'people', series: people });
    const vehicles = vehicleClasses(windows);
    if (!report.settings.lines.length && vehicles.length && statistics.includes('meanOccupancy')) {
      panels.push({
        title: `Vehicles per zone, ${per} (mean)`,
        unit: 'vehicles (mean)',
        series: zones.map((zone, index) => ({ label: zone, colour: PALETTE[(index + 3) % PALETTE.length]!, figures: readAll(windows, meanOccupancyReading(zone, vehicles)), style: 'line' as const })),
      });
    }
  }
  if (statistics.includes('crossings') && report.settings.lines.length) {
    const vehicles = vehicleClasses(windows);
    panels.push({
      title: `Vehicles crossing each line, ${per}`,
      unit: 'vehicles',
      series: report.settings.lines.flatMap((line, index) =>
        (['forward', 'backward'] as const).map((direction, d) => ({
          label: `${line.name} ${direction}`,
          colour: PALETTE[(index * 2 + d) % PALETTE.length]!,
          figures: vehicles.length ? readAll(windows, crossingsReading(line.name, vehicles, direction)) : windows.map(() => undefined),
          style: 'bars' as const,
        })),
      ),
    });
  }
  return panels;
}

/** The chart as an SVG document: one panel per (series, what it holds), then the privacy terms and run settings. */
export function renderChartSvg(report: Report): string {
  const releases = seriesOf(report);
  const panels = releases.flatMap((release) => panelsOf(report, release).map((spec) => ({ spec, windows: release.windows })));
  const first = report.windows.find((w) => w.status === 'released') ?? report.windows[0];
  const privacyNotes = report.private
    ? [
        `Differentially private: ${first?.privacy.mechanism ?? 'n/a'}, ε = ${first?.privacy.budget.epsilonPerEvent ?? 'n/a'} per track visit.` +
          (report.windows.some((w) => w.status === 'withheld') ? ' Shaded windows were withheld (privacy budget spent).' : ''),
        'Bands and whiskers: 95% interval (± 1.96 s.d.) of each value. Values are unbiased and may fall below 0.',
        `Hollow points and bars: within the noise, less than ${NOISE_BAND_STANDARD_DEVIATIONS} s.d. from 0 (as the summary marks them): there may be none at all.`,
      ]
    : ['NOT PRIVATE — calibration run (--epsilon off): exact counts, never publish this chart.'];
  const partial = report.windows.find((window) => window.status === 'released' && isPartial(window));
  const notes = [
    ...privacyNotes,
    ...(partial ? [`Hatched windows: the clip covers only part of them (e.g. ${coveredSeconds(partial)} of ${partial.windowSeconds} s); their values count those seconds only.`] : []),
  ];
  const height = PANEL_HEIGHT * Math.max(1, panels.length) + footerHeight(notes.length);
  const body = panels.length
    ? panels.map(({ spec, windows }, index) => panel(index === 0 ? `${spec.title} — ${path.basename(report.clip.input)}` : spec.title, spec.unit, index * PANEL_HEIGHT, windows, spec.series, report.clip.recordedAt))
    : [panel(`${path.basename(report.clip.input)}`, '', 0, [], [])];
  const settings = releases.map((release) => `${release.statistics.join(', ')} per ${release.windowSeconds} s`).join('; ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>.title{font-size:16px;font-weight:600;fill:#111827}.tick{font-size:11px;fill:#6b7280}.legend{font-size:12px;fill:#374151}.grid{stroke:#e5e7eb}.zero{stroke:#6b7280}.withheld{fill:#9ca3af;opacity:0.25}.partial{opacity:0.35}.partial-label{font-size:11px;font-weight:600;fill:#4b5563}.band{opacity:0.15}.band.light{opacity:0.07}.interval{stroke:#111827;stroke-width:1.2;fill:none;opacity:0.8}.note{font-size:12px;fill:${report.private ? '#374151' : '#b91c1c'};font-weight:${report.private ? 400 : 700}}</style>
<defs><pattern id="partial-hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="8" stroke="#9ca3af" stroke-width="3"/></pattern></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
${body.join('\n')}
${notes.map((text, i) => `<text x="${MARGIN.left}" y="${height - 8 - 16 * (notes.length - i)}" class="note">${escapeXml(text)}</text>`).join('\n')}
<text x="${MARGIN.left}" y="${height - 8}" class="tick">${escapeXml(`Veil ${report.veilVersion} · ${settings} · ${report.settings.fps} frames/s analysed · ${report.framesAnalysed} frames`)}</text>
</svg>
`;
}

export function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
