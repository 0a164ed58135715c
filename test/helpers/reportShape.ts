/**
 * The report's shape as an allow-list of leaf paths, written from the report format (docs/report.md), not from the
 * schema in streams/report.ts: a field the schema gains by mistake shows up here as a leaf nobody listed. Used on
 * calibration, private and withheld reports alike (issue 12, item 4).
 */

/**
 * Leaf paths of a JSON value: `a.b[]` for arrays; under a window's `zones`, `lines` and `classes`, the names a user
 * or the class list chose become `*`.
 */
export function leafPaths(value: unknown, at = '', named = false): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => leafPaths(item, `${at}[]`, false));
  if (value === null || typeof value !== 'object') return [at];
  return Object.entries(value).flatMap(([key, child]) => {
    const step = named ? '*' : key;
    return leafPaths(child, at ? `${at}.${step}` : step, ['zones', 'lines', 'classes'].includes(key) && at.startsWith('windows'));
  });
}

const STATISTICS = ['crossings', 'peakOccupancy', 'meanOccupancy'];

/** Every leaf docs/report.md allows in report.json. */
export const REPORT_LEAF_PATHS: ReadonlySet<string> = new Set([
  'veilVersion', 'private', 'clip.input', 'clip.durationSeconds', 'clip.camera', 'clip.recordedAt', 'clip.startSeconds', 'framesAnalysed',
  'settings.fps', 'settings.releases[].statistic', 'settings.releases[].windowSeconds', 'settings.maxWidth', 'settings.scoreThreshold', 'settings.classes[]',
  'settings.zones[].name', 'settings.zones[].polygon[][]', 'settings.zones[].areaSquareMetres',
  'settings.lines[].name', 'settings.lines[].from[]', 'settings.lines[].to[]',
  'settings.detector.backend', 'settings.detector.backendReason', 'settings.detector.model', 'settings.detector.workers',
  'settings.maxCrossingsPerObjectPerLine',
  'windows[].camera', 'windows[].startSeconds', 'windows[].endSeconds', 'windows[].windowSeconds', 'windows[].coveredSeconds', 'windows[].clock', 'windows[].status', 'windows[].withheldReason',
  'windows[].zones.*.areaSquareMetres',
  'windows[].zones.*.classes.*.meanOccupancy', 'windows[].zones.*.classes.*.peakOccupancy',
  'windows[].lines.*.classes.*.forward', 'windows[].lines.*.classes.*.backward',
  ...['private', 'mechanism', 'epsilon', 'delta', 'rhoSeconds', 'eventReachSeconds'].map((term) => `windows[].privacy.${term}`),
  ...STATISTICS.flatMap((statistic) => ['epsilon', 'sensitivity', 'standardDeviation'].map((term) => `windows[].privacy.statistics.${statistic}.${term}`)),
  ...['epsilonPerEvent', 'epsilonSpent', 'epsilonLeft', 'periodSeconds', 'epsilonPerPeriod', 'epsilonSpentInPeriod'].map((term) => `windows[].privacy.budget.${term}`),
]);

/** Only a calibration run (`private: false`) reports the detector's work: exact counts no private report may carry. */
export const CALIBRATION_ONLY_LEAF_PATHS: ReadonlySet<string> = new Set(['inferences.run', 'inferences.skipped']);

/**
 * The leaf paths of a parsed report.json that the report format does not list for a report of its kind (private or
 * calibration); [] for a report of the right shape.
 */
export function unlistedLeaves(reportJson: unknown): string[] {
  const calibration = (reportJson as { private?: unknown } | null)?.private === false;
  const listed = (leaf: string) => REPORT_LEAF_PATHS.has(leaf) || (calibration && CALIBRATION_ONLY_LEAF_PATHS.has(leaf));
  return [...new Set(leafPaths(reportJson))].filter((leaf) => !listed(leaf));
}
