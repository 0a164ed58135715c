/**
 * Decodes any input ffmpeg reads (a file, an RTSP/HTTP URL, a V4L2 device) into raw RGB frames in memory.
 * Sampling (`fps`) and scaling happen inside ffmpeg; the bytes come through a pipe and are never written anywhere.
 * Each frame carries its presentation time from the stream (ffmpeg's showinfo filter), not a counter: some clips
 * store odd nominal frame rates, and their timestamps are the only truth.
 *
 * The generator applies back-pressure: while the consumer is busy, the pipe fills and ffmpeg waits.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import ffmpeg from 'fluent-ffmpeg';
import type { Frame } from './frame.ts';
import type { FfmpegBinary } from './ffmpegBinary.ts';
import { redactCredentials } from './redact.ts';

export interface DecodeOptions {
  ffmpeg: FfmpegBinary;
  /** A file path, a URL ffmpeg understands, or a V4L2 device path. */
  input: string;
  /** Analysis rate: frames per second of stream time handed to the detector. */
  fps: number;
  /** Frames wider than this are scaled down (aspect kept): the detector works at 300×300 anyway. */
  maxWidth: number;
  /** Extra ffmpeg input options (transport, looping, pacing); see streams/cameraSource.ts. */
  inputOptions?: string[];
  /** Decode only part of the input: start offset and length in seconds. */
  startSeconds?: number;
  durationSeconds?: number;
  /** Called once the input's duration is known (not for live streams). */
  onDuration?: (seconds: number) => void;
  /** Stops decoding at once (ffmpeg is killed); the generator then ends without an error. */
  signal?: AbortSignal;
}

export class DecodeError extends Error {}

const SHOWINFO = /\] n:\s*\d+ .*?pts_time:(-?[\d.]+).*? s:(\d+)x(\d+)/;
const DURATION = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/;
/** Lines in which ffmpeg reports a damaged or unreadable input, as opposed to progress chatter. */
const MAX_DAMAGE_LINES = 50;
const DAMAGE = /(partial file|Invalid NAL|error while decoding|Invalid data found|corrupt|moov atom not found|Truncat)/i;

export function isNetworkOrDevice(input: string) {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(input) || input.startsWith('/dev/');
}

/** Turns ffmpeg's last words into a sentence for a person: what is wrong with which input, and what to do. */
export function explainFailure(input: string, stderrLines: string[]): string {
  return redactCredentials(explainUnredacted(input, stderrLines));
}

function explainUnredacted(input: string, stderrLines: string[]): string {
  const said = stderrLines.join('\n');
  const lastLine = stderrLines.filter((line) => !SHOWINFO.test(line) && line.trim()).slice(-1)[0] ?? 'no output';
  // Drop ffmpeg's "[demuxer @ 0x…]" prefix: the address means nothing to a person.
  const last = lastLine.trim().replace(/^\[[^\]]+\]\s*/, '');
  if (/No such file or directory/.test(said)) return `${input}: no such file or device.`;
  const damaged = /moov atom not found|Truncat|partial file/i.test(said);
  if (damaged && (isNetworkOrDevice(input) || startsLikeVideo(input))) return `${input} is truncated or damaged (ffmpeg: ${last}). Re-copy or re-export the clip.`;
  if (isNetworkOrDevice(input) && /Invalid data found|End of file|Connection reset|Broken pipe/.test(said)) return `the stream ${input} was cut off or sent data ffmpeg could not read (ffmpeg: ${last}).`;
  if (/Invalid data found when processing input/.test(said)) return `${input} is not a video ffmpeg can read (ffmpeg: Invalid data found when processing input). Check that it is a video file and not something renamed.`;
  if (/matches no streams|does not contain any stream/.test(said)) return `${input} has no video stream.`;
  if (/Connection refused|Connection timed out|Server returned|Network is unreachable|401 Unauthorized|404 Not Found/.test(said)) return `could not read the stream ${input} (ffmpeg: ${last}).`;
  return `ffmpeg could not decode ${input}: ${last}`;
}

/** True when the file opens with a video container's signature, so a decode failure means damage, not a wrong file. */
function startsLikeVideo(file: string): boolean {
  const head = Buffer.alloc(12);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const ascii = head.toString('latin1');
  return ascii.slice(4, 8) === 'ftyp' || ascii.startsWith('RIFF') || head.readUInt32BE(0) === 0x1a45dfa3 || head[0] === 0x47;
}

function scaleFilter(maxWidth: number) {
  // -2 keeps the aspect ratio with an even height; min() never upscales a small camera.
  return `scale='min(${maxWidth},iw)':-2:flags=fast_bilinear`;
}

/** A queue of frame headers parsed from stderr, awaited by the byte reader. */
class HeaderQueue {
  private readonly items: Array<{ ptsSeconds: number; width: number; height: number }> = [];
  private waiter?: () => void;
  private closed = false;
  push(item: { ptsSeconds: number; width: number; height: number }) {
    this.items.push(item);
    this.waiter?.();
  }
  close() {
    this.closed = true;
    this.waiter?.();
  }
  async next() {
    while (!this.items.length && !this.closed) await new Promise<void>((resolve) => (this.waiter = resolve));
    return this.items.shift();
  }
}

/** Fails early, before a detector is loaded, for the commonest mistake: a clip path that does not exist. */
export function assertInputExists(input: string): void {
  if (!isNetworkOrDevice(input) && !existsSync(input)) throw new DecodeError(`clip not found: ${input}. Check the path (relative paths start from ${process.cwd()}).`);
}

export async function* decodeFrames(options: DecodeOptions): AsyncGenerator<Frame> {
  const { input } = options;
  assertInputExists(input);

  // An input seek (-ss before -i) restarts ffmpeg's timestamps at 0; frames keep the clip's own time.
  const startOffsetSeconds = options.startSeconds ?? 0;
  const headers = new HeaderQueue();
  const recentStderr: string[] = [];
  const damage: string[] = [];
  const command = ffmpeg(input)
    .setFfmpegPath(options.ffmpeg.path)
    .inputOptions(['-hide_banner', '-nostats', ...(options.startSeconds ? ['-ss', String(options.startSeconds)] : []), ...(options.inputOptions ?? [])])
    .outputOptions([
      '-map', '0:v:0', '-an', '-sn', '-dn',
      ...(options.durationSeconds ? ['-t', String(options.durationSeconds)] : []),
      '-vf', `fps=${options.fps},${scaleFilter(options.maxWidth)},format=rgb24,showinfo`,
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-loglevel', 'info',
    ])
    .on('stderr', (line: string) => {
      const header = SHOWINFO.exec(line);
      if (header) {
        headers.push({ ptsSeconds: Number(header[1]), width: Number(header[2]), height: Number(header[3]) });
        return;
      }
      recentStderr.push(line);
      if (recentStderr.length > 50) recentStderr.shift();
      // Kept like recentStderr: a lossy RTSP stream reports damage all day long.
      if (DAMAGE.test(line) && damage.length < MAX_DAMAGE_LINES) damage.push(line.trim());
      const duration = DURATION.exec(line);
      if (duration && options.onDuration) options.onDuration(Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]));
    });

  const finished = new Promise<Error | undefined>((resolve) => {
    command.on('end', () => resolve(undefined)).on('error', (error: Error) => resolve(error));
  });
  const output = command.pipe();
  const stop = () => command.kill('SIGKILL');
  options.signal?.addEventListener('abort', stop, { once: true });
  let frameIndex = 0;
  let frame: Frame | undefined;
  let filled = 0;
  let stoppedByConsumer = true;
  try {
    for await (const chunk of output as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        if (!frame) {
          const header = await headers.next();
          if (!header) throw new DecodeError(`ffmpeg sent frame bytes without a frame header for ${input}`);
          frame = { index: frameIndex++, ptsSeconds: startOffsetSeconds + header.ptsSeconds, width: header.width, height: header.height, pixels: new Uint8Array(header.width * header.height * 3) };
          filled = 0;
        }
        const take = Math.min(frame.pixels.length - filled, chunk.length - offset);
        frame.pixels.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === frame.pixels.length) {
          const complete = frame;
          frame = undefined;
          yield complete;
        }
      }
      // The pipe's chunk held pixels too: clear it rather than leave it to the garbage collector.
      chunk.fill(0);
    }
    stoppedByConsumer = false;
  } finally {
    options.signal?.removeEventListener('abort', stop);
    frame?.pixels.fill(0);
    headers.close();
    if (stoppedByConsumer) command.kill('SIGKILL');
  }
  const failure = await finished;
  if (options.signal?.aborted) return;
  if (failure) throw new DecodeError(explainFailure(input, recentStderr));
  if (damage.length) throw new DecodeError(explainFailure(input, damage));
}
