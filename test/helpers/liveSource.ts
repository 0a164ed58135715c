/**
 * Network cameras for live tests, on 127.0.0.1. MJPEG: a real ffmpeg serving a looping clip as HTTP multipart MJPEG,
 * the way many IP cameras do; ffmpeg's own HTTP server (`-listen 1`) serves one client and exits when that client
 * goes, so a test that wants the camera back starts another on the same port. RTSP: a real RTSP server with ffmpeg
 * publishing to it.
 */
import { connect, createServer } from 'node:net';
import { locateFfmpeg } from '../../streams/ffmpegBinary.ts';
import { spawnTracked, type TrackedChild } from './liveChildren.ts';
import { eventually } from './liveWait.ts';

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

export interface RtspServer {
  /** Where a camera config points: rtsp://127.0.0.1:CLIENT_PORT/cam. */
  url: string;
  /** Ends the server and its publisher, as a power cut at the camera would. */
  stop(): Promise<void>;
}

export interface RtspPorts {
  /** Where clients (Veil) connect. */
  clientPort: number;
  /** Where the publisher (ffmpeg, standing in for the camera's encoder) pushes the stream. */
  sourcePort: number;
}

/**
 * A real RTSP server on 127.0.0.1 (Debian's rtsp-server-perl, an RTSP/RTP relay) with ffmpeg publishing `clip` to it,
 * looping, paced at its own frame rate, as H.264. The server answers 400 to TCP-interleaved RTP, so its clients read
 * over UDP. Resolves once the server accepts connections; the stream is there a moment after the publisher starts.
 */
export async function serveRtsp(clip: string, ports: RtspPorts): Promise<RtspServer> {
  // RTP and RTCP pairs start at an even port; a free TCP port says nothing of UDP, but on loopback it is a fair guess.
  const rtpStartPort = (await unusedPort()) & ~1;
  const server = spawnTracked(
    'rtsp-server-perl',
    ['-c', String(ports.clientPort), '-s', String(ports.sourcePort), '--client_listen_address', '127.0.0.1', '--source_listen_address', '127.0.0.1', '--rtp_start_port', String(rtpStartPort)],
    { stdio: 'ignore' },
  );
  await waitForTcp(ports.sourcePort, server);
  const ffmpeg = await locateFfmpeg();
  const publisher = spawnTracked(
    ffmpeg.path,
    ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip, '-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '10', '-f', 'rtsp', `rtsp://127.0.0.1:${ports.sourcePort}/cam`],
    { stdio: 'ignore' },
  );
  return {
    url: `rtsp://127.0.0.1:${ports.clientPort}/cam`,
    stop: async () => {
      await Promise.all([publisher.kill(), server.kill()]);
    },
  };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects if `owner` exits first. */
async function waitForTcp(port: number, owner: TrackedChild): Promise<void> {
  await eventually(`a server listening on 127.0.0.1:${port}`, 20, async () => {
    if (!owner.running()) throw new Error(`the process meant to listen on ${port} exited`);
    return new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  });
}
