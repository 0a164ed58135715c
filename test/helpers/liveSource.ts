/**
 * A network camera for live tests: a real ffmpeg serving a looping clip as HTTP multipart MJPEG, the way many IP
 * cameras do, on 127.0.0.1. ffmpeg's own HTTP server (`-listen 1`) serves one client and exits when that client
 * goes, so a test that wants the camera back starts another on the same port.
 */
import { createServer } from 'node:net';
import { locateFfmpeg } from '../../streams/ffmpegBinary.ts';
import { spawnTracked, type TrackedChild } from './liveChildren.ts';

/** A port nothing listens on at the moment of the call: for a source to come, or for a camera that is down. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('the test could not find a free TCP port');
  return address.port;
}

export interface MjpegSource {
  url: string;
  child: TrackedChild;
}

/**
 * Serves `clip` at http://127.0.0.1:PORT/cam, paced at its own frame rate (-re) and looping. Like a real MJPEG
 * camera, the stream carries no timestamps: its reader has only the clock to tell the frame rate.
 */
export async function serveMjpeg(clip: string, port: number): Promise<MjpegSource> {
  const ffmpeg = await locateFfmpeg();
  const url = `http://127.0.0.1:${port}/cam`;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip, '-an', '-vf', 'scale=320:-2', '-q:v', '7', '-f', 'mpjpeg', '-listen', '1', url];
  return { url, child: spawnTracked(ffmpeg.path, args, { stdio: 'ignore' }) };
}
