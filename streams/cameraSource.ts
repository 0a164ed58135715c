/**
 * A camera's source, as the site config describes it, and the ffmpeg input options that read it live.
 *
 *   rtsp:  { rtsp: "rtsp://cam/stream", transport: tcp | udp }    TCP by default: UDP drops packets on busy networks
 *   http:  { http: "http://cam/mjpeg" }                           HTTP / MJPEG
 *   v4l2:  { device: "/dev/video0" }                              a local USB / CSI camera
 *   file:  { file: "clip.mp4", loop: true }                       read at its own speed, as a camera would send it
 */
import { z } from 'zod';
import type { FfmpegBinary } from './ffmpegBinary.ts';
import { redactCredentials } from './redact.ts';

/** ffmpeg waits this long on a silent network socket before failing, so a dead camera is noticed (µs for ffmpeg). */
const SOCKET_TIMEOUT_MICROSECONDS = 10_000_000;

export const cameraSourceSchema = z.union([
  z.strictObject({ rtsp: z.string().regex(/^rtsps?:\/\//, 'an RTSP source is a URL starting rtsp:// or rtsps://'), transport: z.enum(['tcp', 'udp']).default('tcp') }),
  z.strictObject({ http: z.string().regex(/^https?:\/\//, 'an HTTP source is a URL starting http:// or https://') }),
  z.strictObject({ device: z.string().startsWith('/dev/', 'a V4L2 device is a path like /dev/video0') }),
  z.strictObject({ file: z.string().min(1), loop: z.boolean().default(false) }),
], { error: 'a source is one of {rtsp: URL}, {http: URL}, {device: /dev/videoN} or {file: PATH, loop?: true}' });
export type CameraSource = z.infer<typeof cameraSourceSchema>;

export interface LiveInput {
  input: string;
  inputOptions: string[];
  /** A file that does not loop ends; every other source ending is a failure to recover from. */
  endsNormally: boolean;
}

/** libavformat 59 (ffmpeg 5.0) renamed RTSP's socket timeout `-stimeout` to `-timeout`, which before meant "listen". */
const RTSP_TIMEOUT_RENAMED_IN_LIBAVFORMAT = 59;

/** The ffmpeg input for `source`, with the options that read it live in the `ffmpeg` that will run (its version). */
export function liveInput(source: CameraSource, ffmpeg: Pick<FfmpegBinary, 'libavformatMajor'>): LiveInput {
  if ('rtsp' in source) {
    const timeoutOption = ffmpeg.libavformatMajor >= RTSP_TIMEOUT_RENAMED_IN_LIBAVFORMAT ? '-timeout' : '-stimeout';
    return { input: source.rtsp, inputOptions: ['-rtsp_transport', source.transport, timeoutOption, String(SOCKET_TIMEOUT_MICROSECONDS)], endsNormally: false };
  }
  // MJPEG over HTTP carries no timestamps and ffmpeg assumes 25 frames/s, so `fps` would sample a 60 fps camera 2.4×
  // too often and a 10 fps one 2.5× too rarely; arrival time is the only clock such a stream has.
  if ('http' in source) return { input: source.http, inputOptions: ['-rw_timeout', String(SOCKET_TIMEOUT_MICROSECONDS), '-reconnect', '0', '-use_wallclock_as_timestamps', '1'], endsNormally: false };
  if ('device' in source) return { input: source.device, inputOptions: ['-f', 'v4l2'], endsNormally: false };
  // -re paces a file at its native rate, so a demo file behaves like a camera rather than a batch job.
  return { input: source.file, inputOptions: ['-re', ...(source.loop ? ['-stream_loop', '-1'] : [])], endsNormally: !source.loop };
}

/** A source for logs and /healthz: the URL without credentials. */
export function describeSource(source: CameraSource): string {
  return redactCredentials('rtsp' in source ? source.rtsp : 'http' in source ? source.http : 'device' in source ? source.device : source.file);
}
