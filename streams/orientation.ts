/**
 * How a camera's picture must be turned before detection. A camera mounted on its side (a corridor shot in portrait)
 * or upside down (ceiling mount) gives the detector people and cars lying down, which it was never trained on: on the
 * overpass clip turned 90° it finds no vehicle at all. The turn is done inside ffmpeg, before sampling and scaling,
 * so the detector, the zones and the lines all see the picture upright.
 *
 * Zones and lines are then drawn on the upright picture (what `ffmpeg -vf <filter>` shows), not on the raw one.
 */
import { z } from 'zod';

/** ffmpeg filters per orientation (transpose: 90° turns; hflip/vflip: mirror images; both: 180°). */
const FILTERS = {
  upright: undefined,
  'rotate-90-clockwise': 'transpose=clock',
  'rotate-90-counterclockwise': 'transpose=cclock',
  'rotate-180': 'hflip,vflip',
  'flip-horizontal': 'hflip',
  'flip-vertical': 'vflip',
} as const;

export const orientationSchema = z.enum(Object.keys(FILTERS) as [keyof typeof FILTERS, ...Array<keyof typeof FILTERS>], {
  error: `orientation is one of ${Object.keys(FILTERS).join(', ')}: the turn that makes the camera's picture upright`,
});
export type Orientation = z.infer<typeof orientationSchema>;

/** The ffmpeg video filter that makes a picture in `orientation` upright; undefined when it already is. */
export function orientationFilter(orientation: Orientation | undefined): string | undefined {
  return orientation === undefined ? undefined : FILTERS[orientation];
}
