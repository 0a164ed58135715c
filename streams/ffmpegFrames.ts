/**
 * Decodes any input ffmpeg reads (a file, an RTSP/HTTP URL, a V4L2 device) into raw RGB frames in memory.
 * Sampling (`fps`) and scaling happen inside ffmpeg; the bytes come through a pipe and are never written anywhere.
 * Each frame carries its presentation time from the stream (ffmpeg's showinfo filter), not a counter: some clips
 * store odd nominal frame rates, and their timestamps are the only truth.
 *
 * One output size for the whole stream: the size of the first frame (after scaling to `maxWidth`). A stream whose
 * picture size changes part-way (an NVR export after a camera's resolution was changed) is scaled back to that size
 * inside ffmpeg, so a frame's bytes always match its header; the change is reported once as a warning. Stretching,
 * not padding, keeps zones and counting lines (normalised coordinates) on the same part of the scene.
 *
 * Damage is judged by how ffmpeg exited and by how much of the input was decoded, never by a word in its log: a
 * warning at the join of two glued recordings is reported (`onWarning`) and decoding goes on; a copy cut short is an
 * error once its frames run out well before the duration its container states.
 *
 * The generator applies back-pressure: while the consumer is busy, the pipe fills and ffmpeg waits.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Frame } from './frame.ts';
import type { FfmpegBinary } from './ffmpegBinary.ts';
import type { FrameBuffers } from './frameBuffers.ts';
import { orientationFilter, type Orientation } from './orientation.ts';
import { redactCredentials } from './redact.ts';

export interface DecodeOptions {
  ffmpeg: FfmpegBinary;
  /** A file path, a URL ffmpeg understands, or a V4L2 device path. */
  input: string;
  /** Analysis rate: frames per second of stream time handed to the detector. */
  fps: number;
  /** Frames wider than this are scaled down (aspect kept): the detector works at 300×300 anyway. */
  maxWidth: number;
  /** Turns the picture upright first (a camera mounted sideways); see streams/orientation.ts. */
  orientation?: Orientation;
  /** Extra ffmpeg input options (transport, looping, pacing); see streams/cameraSource.ts. */
  inputOptions?: string[];
  /** Decode only part of the input: start offset and length in seconds. */
  startSeconds?: number;
  durationSeconds?: number;
  /** Called once the input's duration is known (not for live streams). */
  onDuration?: (seconds: number) => void;
  /**
   * Called with each warning ffmpeg gives that did not stop the decode (a corrupt packet at a join, a size change),
   * for a person: at most MAX_WARNINGS_REPORTED of them, then once with how many more there were.
   */
  onWarning?: (warning: string) => void;
  /** Stops decoding at once (ffmpeg is killed); the generator then ends without an error. */
  signal?: AbortSignal;
  /** Where each frame's pixel buffer comes from: buffers of dead frames, given back by the drop stage. Default: new ones. */
  buffers?: FrameBuffers;
}

export class DecodeError extends Error {}

const SHOWINFO = /\] n:\s*\d+ .*?pts_time:(-?[\d.]+).*? s:(\d+)x(\d+)/;
const DURATION = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/;
/** `-loglevel level+info` tags each line with its level; these are the ones a person should hear about. */
const WARNING_LEVEL = /\[(warning|error|fatal|panic)\] /;
/** With -reinit_filter 0, ffmpeg 5+ says these for every frame whose size differs from the first one's. */
const SIZE_CHANGE = /incoming frame - w: (\d+) h: (\d+)/;
const SIZE_CHANGE_FOLLOW_UP = /Changing video frame properties on the fly/;
/** A lossy RTSP stream warns all day long: the log gets the first ones and a count, not a flood. */
const MAX_WARNINGS_REPORTED = 20;
/** Last lines of ffmpeg's log kept to explain a failure. */
const STDERR_LINES_KEPT = 50;
/**
 * Frames that end this much before the container's stated duration mean the copy was cut short. Generous, because
 * a container's duration is its longest stream's: the audio of a phone clip may run a second past its video.
 */
const TRUNCATION_SLACK_SECONDS = 2;

export function isNetworkOrDevice(input: string) {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(input) || input.startsWith('/dev/');
}

/** A log line without ffmpeg's "[demuxer @ 0x…]" context and level tags: the address means nothing to a person. */
function plainLine(line: string): string {
  return line.trim().replace(/^(\[[^\]]+\]\s*)+/, '');
}

/** Turns ffmpeg's last words into a sentence for a person: what is wrong with which input, and what to do. */
export function explainFailure(input: string, stderrLines: string[]): string {
  return redactCredentials(explainUnredacted(input, stderrLines));
}

function explainUnredacted(input: string, stderrLines: string[]): string {
  const said = stderrLines.join('\n');
  const lastLine = stderrLines.filter((line) => !SHOWINFO.test(line) && line.trim()).slice(-1)[0] ?? 'no output';
  const last = plainLine(lastLine);
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
  // -2 keeps the aspect ratio with an even height; min() never upscales a small camera. The size is evaluated once,
  // on the first frame (scale's default eval=init), which is what pins it when -reinit_filter 0 keeps this graph.
  return `scale='min(${maxWidth},iw)':-2:flags=fast_bilinear`;
}

/**
 * showinfo logs each frame's time and size, which is all Veil reads from it. Its checksums (an Adler-32 and the mean
 * and deviation of every plane) cost over a quarter of ffmpeg's time per frame (measured on the bundled sample and the shared indoor clip) and tell nothing Veil uses. The
 * `checksum` option exists in every ffmpeg Veil meets, the bundled 4.1 build included.
 */
const FRAME_HEADERS = 'showinfo=checksum=0';

/** ffmpeg's arguments: one video stream, sampled and scaled, as packed RGB on stdout; a level tag on each log line. */
function decoderArguments(options: DecodeOptions): string[] {
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+info',
    // Keep the first filter graph when the picture size changes: the scale filter then pins the output size.
    '-reinit_filter', '0',
    ...(options.startSeconds ? ['-ss', String(options.startSeconds)] : []),
    ...(options.inputOptions ?? []),
    '-i', options.input,
    '-map', '0:v:0', '-an', '-sn', '-dn',
    ...(options.durationSeconds ? ['-t', String(options.durationSeconds)] : []),
    '-vf', [orientationFilter(options.orientation), `fps=${options.fps}`, scaleFilter(options.maxWidth), `format=rgb24,${FRAME_HEADERS}`].filter(Boolean).join(','),
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
}

interface FrameHeader {
  ptsSeconds: number;
  width: number;
  height: number;
}

/** A queue of frame headers parsed from stderr, awaited by the byte reader. */
class HeaderQueue {
  private readonly items: FrameHeader[] = [];
  private waiter?: () => void;
  private closed = false;
  push(item: FrameHeader) {
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

/** What ffmpeg's log said, sorted: frame headers, the duration, warnings, and the last lines to explain a failure. */
class DecoderLog {
  readonly headers = new HeaderQueue();
  readonly recent: string[] = [];
  durationSeconds?: number;
  private lastPtsSeconds = 0;
  /** The size every frame is handed out at: the first frame's. */
  private outputSize?: string;
  private warnings = 0;
  private readonly sizesReported = new Set<string>();

  constructor(private readonly options: DecodeOptions) {}

  line(line: string) {
    const header = SHOWINFO.exec(line);
    if (header) {
      this.lastPtsSeconds = Number(header[1]);
      this.outputSize ??= `${header[2]}x${header[3]}`;
      this.headers.push({ ptsSeconds: this.lastPtsSeconds, width: Number(header[2]), height: Number(header[3]) });
      return;
    }
    // With -reinit_filter 0, ffmpeg 5+ says this twice for every frame of a new size: reported once, kept out of the
    // lines that explain a failure.
    const resized = SIZE_CHANGE.exec(line);
    if (resized) {
      const size = `${resized[1]}x${resized[2]}`;
      if (!this.sizesReported.has(size)) {
        this.sizesReported.add(size);
        const atSeconds = (this.options.startSeconds ?? 0) + this.lastPtsSeconds;
        this.warn(`the picture size changed to ${size} after ${atSeconds.toFixed(1)} s; frames are scaled to the stream's first size, ${this.outputSize ?? 'unknown'}, so zones and lines keep their places`);
      }
      return;
    }
    if (SIZE_CHANGE_FOLLOW_UP.test(line)) return;
    this.recent.push(line);
    if (this.recent.length > STDERR_LINES_KEPT) this.recent.shift();
    const duration = DURATION.exec(line);
    if (duration && this.durationSeconds === undefined) {
      this.durationSeconds = Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]);
      this.options.onDuration?.(this.durationSeconds);
    }
    // ffmpeg starts some lines with the input's name, which the warning already carries.
    if (WARNING_LEVEL.test(line)) this.warn(plainLine(line).replace(`${this.options.input}: `, ''));
  }

  private warn(warning: string) {
    this.warnings += 1;
    if (this.warnings <= MAX_WARNINGS_REPORTED) this.options.onWarning?.(`${redactCredentials(this.options.input)}: ${redactCredentials(warning)}`);
  }

  /** Once the decode is over: how many warnings were not passed on. */
  reportUnsaid() {
    const unsaid = this.warnings - MAX_WARNINGS_REPORTED;
    if (unsaid > 0) this.options.onWarning?.(`${redactCredentials(this.options.input)}: ${unsaid} more ffmpeg warning(s) not shown`);
  }
}

/** Fails early, before a detector is loaded, for the commonest mistake: a clip path that does not exist. */
export function assertInputExists(input: string): void {
  if (!isNetworkOrDevice(input) && !existsSync(input)) throw new DecodeError(`clip not found: ${input}. Check the path (relative paths start from ${process.cwd()}).`);
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process could not be started at all. */
  spawnError?: Error;
}

/**
 * Yields the input's frames, sampled to `fps`, at one size (see the module's comment).
 *
 * Throws DecodeError, with a sentence for a person, when: the file does not exist; ffmpeg exits with an error (not a
 * video, no video stream, a stream that can't be reached or is cut); a file's frames end more than
 * TRUNCATION_SLACK_SECONDS before its stated duration (a truncated copy); nothing at all was decoded (e.g. a start
 * past the clip's end, with the clip's length in the message). Frames decoded before a failure are yielded first.
 */
export async function* decodeFrames(options: DecodeOptions): AsyncGenerator<Frame> {
  const { input } = options;
  assertInputExists(input);

  // An input seek (-ss before -i) restarts ffmpeg's timestamps at 0; frames keep the clip's own time.
  const startOffsetSeconds = options.startSeconds ?? 0;
  const log = new DecoderLog(options);
  const child = spawn(options.ffmpeg.path, decoderArguments(options), { stdio: ['ignore', 'pipe', 'pipe'] });
  // 'close' comes once the process has exited and its pipes are drained: every log line has been read by then, so a
  // normal end is never mistaken for a failure however late the exit status arrives.
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
  });
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => log.line(line));
  const stop = () => child.kill('SIGKILL');
  options.signal?.addEventListener('abort', stop, { once: true });
  let frameIndex = 0;
  let lastPtsSeconds: number | undefined;
  let frame: Frame | undefined;
  let filled = 0;
  let stoppedByConsumer = true;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        if (!frame) {
          const header = await log.headers.next();
          if (!header) throw new DecodeError(`ffmpeg sent frame bytes without a frame header for ${redactCredentials(input)}`);
          const byteLength = header.width * header.height * 3;
          const pixels = options.buffers?.take(byteLength) ?? new Uint8Array(byteLength);
          frame = { index: frameIndex++, ptsSeconds: startOffsetSeconds + header.ptsSeconds, width: header.width, height: header.height, pixels };
          filled = 0;
        }
        const take = Math.min(frame.pixels.length - filled, chunk.length - offset);
        frame.pixels.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === frame.pixels.length) {
          const complete = frame;
          frame = undefined;
          lastPtsSeconds = complete.ptsSeconds;
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
    log.headers.close();
    if (stoppedByConsumer) child.kill('SIGKILL');
  }
  const exit = await exited;
  log.reportUnsaid();
  if (options.signal?.aborted) return;
  if (exit.spawnError) throw new DecodeError(`could not start ffmpeg (${options.ffmpeg.path}) to decode ${redactCredentials(input)}. Check that it is an ffmpeg executable, or pass another with --ffmpeg.`);
  if (exit.code !== 0) throw new DecodeError(explainFailure(input, log.recent));
  const problem = incompleteDecode(options, log.durationSeconds, lastPtsSeconds, lastWarning(log.recent));
  if (problem) throw new DecodeError(redactCredentials(problem));
}

/** "; ffmpeg: <its last warning>" when it gave one, for an error raised after a clean exit. */
function lastWarning(lines: string[]): string {
  const warning = lines.filter((line) => WARNING_LEVEL.test(line)).at(-1);
  return warning ? `; ffmpeg: ${plainLine(warning)}` : '';
}

/** Why a decode that ffmpeg ended cleanly still fell short of the input, or undefined when it did not. */
function incompleteDecode(options: DecodeOptions, durationSeconds: number | undefined, lastPtsSeconds: number | undefined, ffmpegSaid: string): string | undefined {
  const { input } = options;
  const startSeconds = options.startSeconds ?? 0;
  if (lastPtsSeconds === undefined) {
    if (durationSeconds !== undefined && startSeconds >= durationSeconds) {
      return `${input} is ${durationSeconds.toFixed(1)} s long: there is nothing to decode from ${startSeconds} s on. Give a start within the clip (--start).`;
    }
    return `ffmpeg decoded no frame from ${input} (it exited without an error${ffmpegSaid}).`;
  }
  if (durationSeconds === undefined || isNetworkOrDevice(input)) return undefined;
  const expectedEndSeconds = Math.min(durationSeconds, startSeconds + (options.durationSeconds ?? Infinity));
  // The last frame stands for one sampling interval.
  const decodedEndSeconds = lastPtsSeconds + 1 / options.fps;
  if (decodedEndSeconds >= expectedEndSeconds - TRUNCATION_SLACK_SECONDS) return undefined;
  return `${input} is truncated or damaged (its frames end at ${decodedEndSeconds.toFixed(1)} s of the ${durationSeconds.toFixed(1)} s it says it lasts${ffmpegSaid}). Re-copy or re-export the clip.`;
}
