/**
 * One detector in one worker thread. Inference blocks its thread for tens of milliseconds a frame, so it runs here,
 * never on the thread that serves HTTP and WebSocket clients; and wasm runs one thread per backend instance in Node,
 * so parallel inference means one worker per core.
 *
 * The frame's bytes arrive by transfer (no copy), are zero-filled once the detector returns and go back by transfer,
 * so the only copy of the pixels is gone before the detections are even posted.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DetectorOptions } from './cocoSsd.ts';
import { loadDetector } from './detectors.ts';
import type { WorkerReply, WorkerRequest } from './detectorPool.ts';

if (!parentPort) throw new Error('detectorWorker must run in a worker thread');
const port = parentPort;
const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

try {
  const detector = await loadDetector(workerData as DetectorOptions);
  port.on('message', async (request: WorkerRequest) => {
    const startedNs = process.hrtime.bigint();
    try {
      const detections = await detector.detect(request.pixels, request.width, request.height);
      request.pixels.fill(0);
      const inferenceSeconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
      post({ kind: 'detected', id: request.id, detections, pixels: request.pixels, inferenceSeconds }, [request.pixels.buffer as ArrayBuffer]);
    } catch (error) {
      request.pixels.fill(0);
      post({ kind: 'error', id: request.id, message: (error as Error).message, pixels: request.pixels }, [request.pixels.buffer as ArrayBuffer]);
    }
  });
  post({ kind: 'ready', description: detector.description });
} catch (error) {
  post({ kind: 'failed', message: (error as Error).message });
}
