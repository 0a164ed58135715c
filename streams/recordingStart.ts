/**
 * When a recording starts, in the camera's own clock: the container's `creation_time` tag (MP4/MOV and most NVR
 * exports write it; AVI usually has none), read from ffmpeg's description of the input. The privacy ledger places
 * batch footage in time with it, so that the same span of footage has one budget whatever file it is in.
 *
 *   await readRecordingStart(ffmpeg, 'clip.mp4');   // Date | undefined
 */
import { execFile } from 'node:child_process';
import type { FfmpegBinary } from './ffmpegBinary.ts';

// ffmpeg prints the container's metadata first ("Input #0 … Metadata: … creation_time : 2024-02-03T19:52:00.000000Z");
// the first match is the container's, later ones are per stream.
const CREATION_TIME = /^\s*creation_time\s*:\s*(\S+)\s*$/m;
const DESCRIBE_TIMEOUT_MS = 30_000;

/**
 * The recording's start from its container metadata, or undefined when it has none (or ffmpeg can't read the input:
 * the decoder reports that properly later). Never throws.
 */
export function readRecordingStart(ffmpeg: FfmpegBinary, input: string): Promise<Date | undefined> {
  return new Promise((resolve) => {
    // `ffmpeg -i INPUT` with no output describes the input on stderr and exits 1 ("At least one output file …").
    execFile(ffmpeg.path, ['-hide_banner', '-nostdin', '-i', input], { timeout: DESCRIBE_TIMEOUT_MS }, (_error, _stdout, stderr) => {
      const match = CREATION_TIME.exec(String(stderr));
      const date = match ? new Date(match[1]!) : undefined;
      resolve(date && Number.isFinite(date.getTime()) && date.getTime() > 0 ? date : undefined);
    });
  });
}
