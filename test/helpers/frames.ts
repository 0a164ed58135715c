/** Real frames from real clips, decoded by Veil's own decoder with the ffmpeg found on this machine. */
import { locateFfmpeg, type FfmpegBinary } from '../../streams/ffmpegBinary.ts';
import { decodeFrames } from '../../streams/ffmpegFrames.ts';
import type { Frame } from '../../streams/frame.ts';

let ffmpeg: Promise<FfmpegBinary> | undefined;

/** The ffmpeg on PATH, located once per test file. */
export function testFfmpeg(): Promise<FfmpegBinary> {
  ffmpeg ??= locateFfmpeg();
  return ffmpeg;
}

export interface Excerpt {
  startSeconds?: number;
  durationSeconds?: number;
  fps: number;
  /** Default 640, as `veil batch` decodes. */
  maxWidth?: number;
}

export async function decodeExcerpt(input: string, excerpt: Excerpt): Promise<Frame[]> {
  const frames: Frame[] = [];
  const source = decodeFrames({ ...excerpt, ffmpeg: await testFfmpeg(), input, maxWidth: excerpt.maxWidth ?? 640 });
  for await (const frame of source) frames.push(frame);
  return frames;
}

/**
 * The frame shown at `seconds` into the clip. Decoding one frame per second from there returns the frame nearest
 * that instant (ffmpeg's fps filter rounds to the nearest input frame).
 */
export async function decodeFrameAt(input: string, seconds: number, maxWidth = 640): Promise<Frame> {
  const [frame] = await decodeExcerpt(input, { startSeconds: seconds, durationSeconds: 1, fps: 1, maxWidth });
  if (!frame) throw new Error(`no frame at ${seconds} s in ${input}`);
  return frame;
}

/** A copy that owns its pixels: the detector pool takes a frame's buffer away (transfer), so reuse needs copies. */
export function copyFrame(frame: Frame): Frame {
  return { ...frame, pixels: frame.pixels.slice() };
}
