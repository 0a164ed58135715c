/**
 * Where tests find the repository and the shared real footage (../shared/footage from the repo root, see its
 * README for what each clip shows and where it comes from).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const VEIL_BIN = path.join(REPO_ROOT, 'pipeline', 'veil.mjs');
export const FOOTAGE_DIR = path.resolve(REPO_ROOT, '../shared/footage');
/** Hard cases rebuilt from the footage (../shared/cases/README.md says what each one is). */
export const CASES_DIR = path.resolve(REPO_ROOT, '../shared/cases');

export const CASES = {
  /** The overpass clip, 320x240 for its first 16 s and 640x480 after, joined cleanly (MPEG-TS). */
  resolutionChange: path.join(CASES_DIR, 'overpass_resolution-change.ts'),
  /** The same two parts glued byte by byte: ffmpeg warns of a corrupt packet at the join. */
  resolutionChangeCatJoined: path.join(CASES_DIR, 'overpass_resolution-change_cat-joined.ts'),
} as const;

export const FOOTAGE = {
  /** 320×240, 28.3 s, stored at an odd ~60 fps: cars and trucks coming towards the camera. */
  overpass: path.join(FOOTAGE_DIR, 'traffic_overpass_cars-trucks_320x240.avi'),
  /** 320×240, 25 fps, 30 s: motorway, both carriageways. */
  highway: path.join(FOOTAGE_DIR, 'traffic_highway-camera_320x240.avi'),
  /** 768×432, 10 fps, 139.4 s, moov atom first: people walk to a table one at a time. */
  indoor: path.join(FOOTAGE_DIR, 'pedestrians_indoor_one-by-one_768x432.mp4'),
  /** 768×432, 12 fps, 38.3 s, moov atom last: a parking lot seen from high up. */
  parkinglot: path.join(FOOTAGE_DIR, 'parkinglot_person-bicycle-car_768x432.mp4'),
} as const;
