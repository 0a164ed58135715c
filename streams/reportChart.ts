/**
 * The report's chart, as a person would want to read it: people per zone over the clip (mean as a line, peak as a
 * light band) and vehicles — crossings per counting line when there are lines, occupancy otherwise. Plain SVG
 * (opens in any browser), plus a PNG rendered from it by sharp for places that show only images.
 */
import path from 'node:path';
import sharp from 'sharp';
import type { ReleasedWindow } from '../stages/released.ts';
import type { Report } from './report.ts';

const WIDTH = 960;
const PANEL_HEIGHT = 260;
const MARGIN = { left: 64, right: 180, top: 44, bottom: 40 };
const PALETTE = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4b5563'];

interface Series {
  label: string;
  colour: string;
  /** One value per window; `band` is drawn as a light area up to it (the peak). */
  values: number[];
  band?: number[];
  style: 'line' | 'bars';
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceMax(value: number): number {
  if (value <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((step) => step * magnitude).find((candidate) => candidate >= value) ?? value;
}

function formatClock(seconds: number, clock: ReleasedWindow['clock']): string {
  if (clock === 'wall') return new Date(seconds * 1000).toISOString().slice(11, 16);
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

function panel(title: string, unit: string, top: number, windows: readonly ReleasedWindow[], series: Series[]): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const yMax = niceMax(Math.max(0, ...series.flatMap((s) => [...s.values, ...(s.band ?? [])])));
  const slot = plotWidth / Math.max(1, windows.length);
  const x = (i: number) => MARGIN.left + slot * (i + 0.5);
  const y = (v: number) => top + MARGIN.top + plotHeight * (1 - v / yMax);
  const parts: string[] = [`<text x="${MARGIN.left}" y="${top + 26}" class="title">${escapeXml(title)}</text>`];
  for (let tick = 0; tick <= 4; tick++) {
    const value = (yMax * tick) / 4;
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(value)}" y2="${y(value)}" class="grid"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${y(value) + 4}" class="tick" text-anchor="end">${Number(value.toFixed(2))}</text>`);
  }
  parts.push(`<text transform="translate(16 ${top + MARGIN.top + plotHeight / 2}) rotate(-90)" class="tick" text-anchor="middle">${escapeXml(unit)}</text>`);
  const labelEvery = Math.max(1, Math.ceil(windows.length / 12));
  windows.forEach((window, i) => {
    if (i % labelEvery === 0) parts.push(`<text x="${x(i)}" y="${top + PANEL_HEIGHT - 18}" class="tick" text-anchor="middle">${formatClock(window.startSeconds, window.clock)}</text>`);
    if (window.status === 'withheld') parts.push(`<rect x="${x(i) - slot / 2}" y="${top + MARGIN.top}" width="${slot}" height="${plotHeight}" class="withheld"/>`);
  });
  const barSeries = series.filter((s) => s.style === 'bars');
  const barWidth = (slot * 0.8) / Math.max(1, barSeries.length);
  series.forEach((s, index) => {
    if (s.band) {
      const upper = s.band.map((v, i) => `${x(i)},${y(v)}`).join(' ');
      const lower = s.values.map((v, i) => `${x(i)},${y(v)}`).reverse().join(' ');
      parts.push(`<polygon points="${upper} ${lower}" fill="${s.colour}" opacity="0.15"/>`);
    }
    if (s.style === 'line') {
      parts.push(`<polyline points="${s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')}" fill="none" stroke="${s.colour}" stroke-width="2.5"/>`);
      s.values.forEach((v, i) => parts.push(`<circle cx="${x(i)}" cy="${y(v)}" r="3" fill="${s.colour}"/>`));
    } else {
      const offset = barSeries.indexOf(s);
      s.values.forEach((v, i) => parts.push(`<rect x="${x(i) - slot * 0.4 + offset * barWidth}" y="${y(v)}" width="${Math.max(1, barWidth - 2)}" height="${y(0) - y(v)}" fill="${s.colour}" rx="2"/>`));
    }
    const legendY = top + MARGIN.top + 14 + index * 20;
    parts.push(`<rect x="${WIDTH - MARGIN.right + 16}" y="${legendY - 10}" width="12" height="12" fill="${s.colour}" rx="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 34}" y="${legendY}" class="legend">${escapeXml(s.label)}</text>`);
  });
  if (!series.length) parts.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${top + MARGIN.top + plotHeight / 2}" class="tick" text-anchor="middle">nothing configured to show</text>`);
  return parts.join('\n');
}

function crowdSeries(windows: readonly ReleasedWindow[], zoneNames: string[]): Series[] {
  return zoneNames.map((zone, index) => ({
    label: zone,
    colour: PALETTE[index % PALETTE.length]!,
    values: windows.map((w) => w.zones[zone]?.classes.person?.meanOccupancy ?? 0),
    band: windows.map((w) => w.zones[zone]?.classes.person?.peakOccupancy ?? 0),
    style: 'line' as const,
  }));
}

function trafficSeries(windows: readonly ReleasedWindow[], report: Report): Series[] {
  if (!report.settings.lines.length) {
    return report.settings.zones.map((zone, index) => ({
      label: zone.name,
      colour: PALETTE[(index + 3) % PALETTE.length]!,
      values: windows.map((w) => w.zones[zone.name]?.classes.vehicle?.meanOccupancy ?? 0),
      style: 'line' as const,
    }));
  }
  return report.settings.lines.flatMap((line, index) =>
    (['forward', 'backward'] as const).map((direction, d) => ({
      label: `${line.name} ${direction}`,
      colour: PALETTE[(index * 2 + d) % PALETTE.length]!,
      values: windows.map((w) => w.lines[line.name]?.classes.vehicle?.[direction] ?? 0),
      style: 'bars' as const,
    })),
  );
}

export function renderChartSvg(report: Report): string {
  const windows = report.windows;
  const height = PANEL_HEIGHT * 2 + 70;
  const first = report.windows.find((w) => w.status === 'released') ?? report.windows[0];
  const privacyLine = report.private
    ? `Differentially private: ${first?.privacy.mechanism ?? 'n/a'}, ε = ${first?.privacy.epsilon ?? 'n/a'} per window. Values are noised` +
      (first?.privacy.noiseStandardDeviation === undefined ? '.' : ` (± ${first.privacy.noiseStandardDeviation} objects, 1 s.d.).`) +
      (windows.some((w) => w.status === 'withheld') ? ' Shaded windows were withheld (privacy budget exhausted).' : '')
    : 'NOT PRIVATE — calibration run (--epsilon off): exact counts, never publish this chart.';
  const body = [
    panel(`People per zone (line: mean, band: peak) — ${path.basename(report.clip.input)}`, 'people', 0, windows, crowdSeries(windows, report.settings.zones.map((z) => z.name))),
    panel(report.settings.lines.length ? 'Vehicles crossing each line, per window' : 'Vehicles per zone', report.settings.lines.length ? 'vehicles' : 'vehicles (mean)', PANEL_HEIGHT, windows, trafficSeries(windows, report)),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>.title{font-size:16px;font-weight:600;fill:#111827}.tick{font-size:11px;fill:#6b7280}.legend{font-size:12px;fill:#374151}.grid{stroke:#e5e7eb}.withheld{fill:#9ca3af;opacity:0.25}.note{font-size:12px;fill:${report.private ? '#374151' : '#b91c1c'};font-weight:${report.private ? 400 : 700}}</style>
<rect width="100%" height="100%" fill="#ffffff"/>
${body.join('\n')}
<text x="${MARGIN.left}" y="${height - 24}" class="note">${escapeXml(privacyLine)}</text>
<text x="${MARGIN.left}" y="${height - 8}" class="tick">${escapeXml(`Veil ${report.veilVersion} · window ${report.settings.windowSeconds} s · ${report.settings.fps} frames/s analysed · ${report.framesAnalysed} frames`)}</text>
</svg>
`;
}

export function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
