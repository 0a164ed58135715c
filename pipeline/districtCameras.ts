/**
 * Which of a box's cameras contribute to its securely aggregated district total, and which of their counting lines
 * each sums (`mqtt.secureAggregation` in site.yaml, docs/fleet.md). Box-only: the district settings the box publishes
 * and the city compares (pipeline/districtSettings.ts) never hold them.
 *
 *   secureAggregation:
 *     …                                        # the district's shared settings, linesPerBox: 2 among them
 *     cameras:                                 # several cameras of this box, summed into one vector
 *       - { camera: road, lines: [into-town] } # only this line of road
 *       - bridge                               # every line of bridge
 *
 * or for one camera `camera: road` and `lines: [into-town]` (left out: the box's only camera, all of its lines).
 * `linesPerBox` (L) bounds the lines summed over all of the box's cameras together: one person may be seen by several
 * of them, so the vector's sensitivity, (L·m)², counts every line on the box (stages/privacy/secureAggregationContribution.ts).
 */
import { z } from 'zod';

// Any text: contributingCameras checks it against the site's camera ids and names the ones there are.
const cameraId = z.string().min(1, 'a camera id from cameras:');
const lineNames = z.array(z.string().min(1, 'a line name from the camera\'s lines:')).min(1, 'name at least one line, or leave lines out to sum all of the camera\'s lines');

/** The box-only fields of `mqtt.secureAggregation` that say what the box sums. */
export const districtCamerasShape = {
  /** The contributing camera when there is one; left out, the box's only camera. */
  camera: cameraId.optional(),
  /** Its lines summed into the vector; left out, all of its lines. */
  lines: lineNames.optional(),
  /** Several contributing cameras, each an id (all its lines) or `{ camera, lines }`. */
  cameras: z
    .array(z.union([cameraId, z.strictObject({ camera: cameraId, lines: lineNames.optional() })], { error: 'each entry is a camera id, or { camera: ID, lines: [LINE, …] }' }))
    .min(1, 'list at least one camera, or leave cameras out')
    .optional(),
} as const;

export interface DistrictCamerasSettings {
  camera?: string;
  lines?: string[];
  cameras?: Array<string | { camera: string; lines?: string[] }>;
  linesPerBox: number;
}

/** A camera of the site config, as far as this module reads it. */
export interface SiteCameraLines {
  id: string;
  lines: ReadonlyArray<{ name: string }>;
}

/** A contributing camera and the lines of it the box sums. */
export interface ContributingCameraLines {
  id: string;
  lines: string[];
}

/** A problem with the settings: its path below `mqtt.secureAggregation`, and what to do, for a config error. */
export interface DistrictCamerasProblem {
  path: Array<string | number>;
  message: string;
}

/**
 * The cameras `settings` makes the box contribute, with their lines (every line of a camera whose lines are left
 * out), checked against the site's `cameras`; `problems` lists what is wrong, each at its field, and is empty when
 * the box can contribute: both forms written at once, a camera left unnamed on a box with several, an unknown or
 * repeated camera, an unknown line, a camera without lines, or more lines in all than `linesPerBox` (saying how
 * many more). `cameras` is meaningful only when there are no problems.
 */
export function contributingCameras(settings: DistrictCamerasSettings, siteCameras: readonly SiteCameraLines[]): { cameras: ContributingCameraLines[]; problems: DistrictCamerasProblem[] } {
  const problems: DistrictCamerasProblem[] = [];
  const known = siteCameras.map((camera) => camera.id).join(', ');
  if (settings.cameras && (settings.camera !== undefined || settings.lines !== undefined)) {
    problems.push({ path: ['cameras'], message: 'write either camera and lines (one camera) or cameras (several), not both: move the camera and its lines into cameras, e.g. cameras: [{ camera: road, lines: [into-town] }]' });
    return { cameras: [], problems };
  }
  // Each entry with the path its camera and lines are written at.
  const entries = settings.cameras
    ? settings.cameras.map((entry, index) => ({ ...(typeof entry === 'string' ? { camera: entry } : entry), at: ['cameras', index] as Array<string | number> }))
    : [{ camera: settings.camera ?? (siteCameras.length === 1 ? siteCameras[0]!.id : undefined), lines: settings.lines, at: [] as Array<string | number> }];
  const cameras: ContributingCameraLines[] = [];
  for (const { camera: id, lines, at } of entries) {
    if (id === undefined) {
      problems.push({ path: ['camera'], message: `name the contributing camera: this box has several (${known}); to contribute more than one, list them under cameras, e.g. cameras: [{ camera: ${siteCameras[0]!.id} }, { camera: ${siteCameras[1]!.id} }]` });
      continue;
    }
    const camera = siteCameras.find((candidate) => candidate.id === id);
    if (!camera) {
      problems.push({ path: [...at, 'camera'], message: `no camera "${id}" in cameras: name one of ${known}` });
      continue;
    }
    if (cameras.some((listed) => listed.id === id)) {
      problems.push({ path: [...at, 'camera'], message: `camera "${id}" is listed twice: list each camera once, with every line it sums` });
      continue;
    }
    const names = camera.lines.map((line) => line.name);
    const unknown = (lines ?? []).filter((line) => !names.includes(line));
    if (unknown.length > 0) problems.push({ path: [...at, 'lines'], message: `camera "${id}" has no line ${unknown.map((line) => `"${line}"`).join(', ')}: name one of ${names.join(', ') || '(none: it has no lines)'}` });
    else if (names.length === 0) problems.push({ path: [...at, 'camera'], message: `camera "${id}" has no counting lines, so no crossings to contribute: give it lines, or leave it out of the district` });
    cameras.push({ id, lines: lines ?? names });
  }
  const summed = cameras.reduce((sum, camera) => sum + camera.lines.length, 0);
  if (problems.length === 0 && summed > settings.linesPerBox) {
    const listed = cameras.map((camera) => `${camera.id}: ${camera.lines.join(', ')}`).join('; ');
    const where = settings.cameras ? 'the lines of cameras' : 'lines';
    problems.push({
      path: [settings.cameras ? 'cameras' : 'lines'],
      message: `the box sums ${summed} lines (${listed}), ${summed - settings.linesPerBox} more than linesPerBox = ${settings.linesPerBox}: name fewer in ${where}, or raise linesPerBox on every box and in city.yaml (the district's noise grows with it)`,
    });
  }
  return { cameras, problems };
}
