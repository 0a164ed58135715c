/**
 * A frame reduced to the mean grey level of each block of a coarse grid: the picture's brightness at a resolution far
 * too low to show a person, cheap enough to take on every frame. The motion gate (stages/motion.ts) and the
 * blind-detector watch (stages/blindDetector.ts) each compare two such grids.
 */
import type { Frame } from '../streams/frame.ts';

/**
 * Writes into `into` (length columns · rows, row-major) the mean grey level, (R + G + B) / 3 on 0–255, of each block
 * of a `columns` × `rows` grid laid evenly over the frame's RGB `pixels` (3 bytes a pixel, rows top to bottom),
 * sampling every `step`-th pixel each way. Returns `into`. Throws a RangeError when `into` has the wrong length.
 */
export function greyBlockMeans<T extends Float32Array | Float64Array>({ width, height, pixels }: Frame, columns: number, rows: number, step: number, into: T): T {
  if (into.length !== columns * rows) throw new RangeError(`greyBlockMeans: a ${columns} × ${rows} grid needs ${columns * rows} cells, got ${into.length}`);
  into.fill(0);
  const samples = new Uint32Array(columns * rows);
  for (let y = 0; y < height; y += step) {
    const row = Math.floor((y * rows) / height) * columns;
    for (let x = 0; x < width; x += step) {
      const block = row + Math.floor((x * columns) / width);
      const offset = (y * width + x) * 3;
      into[block]! += pixels[offset]! + pixels[offset + 1]! + pixels[offset + 2]!;
      samples[block]! += 1;
    }
  }
  for (let block = 0; block < into.length; block++) into[block]! /= 3 * Math.max(samples[block]!, 1);
  return into;
}
