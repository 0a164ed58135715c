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
  // Sums in doubles: exact for any frame size (integers below 2^53), where 32-bit integers would overflow past 4K.
  const sums = new Float64Array(columns * rows);
  const samples = new Uint32Array(columns * rows);
  // Sampled x positions (every step-th pixel) fall in block column floor(x · columns / width): block column c takes
  // the samples from firstSample[c] up to firstSample[c + 1]. Worked out once per call, so the loop over the pixels,
  // which runs for every frame on the thread that feeds the detector, only adds.
  const sampledPerRow = Math.ceil(width / step);
  const firstSample = new Uint32Array(columns + 1).fill(sampledPerRow);
  for (let sample = sampledPerRow - 1; sample >= 0; sample--) firstSample[Math.floor((sample * step * columns) / width)] = sample;
  for (let column = columns - 1; column >= 0; column--) firstSample[column] = Math.min(firstSample[column]!, firstSample[column + 1]!);
  const sampleStride = step * 3;
  for (let y = 0; y < height; y += step) {
    const row = Math.floor((y * rows) / height) * columns;
    const rowOffset = y * width * 3;
    for (let column = 0; column < columns; column++) {
      const from = firstSample[column]!;
      const to = firstSample[column + 1]!;
      let sum = 0;
      for (let offset = rowOffset + from * sampleStride, end = rowOffset + to * sampleStride; offset < end; offset += sampleStride) sum += pixels[offset]! + pixels[offset + 1]! + pixels[offset + 2]!;
      sums[row + column]! += sum;
      samples[row + column]! += to - from;
    }
  }
  for (let block = 0; block < into.length; block++) into[block] = sums[block]! / (3 * Math.max(samples[block]!, 1));
  return into;
}
