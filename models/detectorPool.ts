/**
 * A pool of detector worker threads behind one `detect(frame)`. Frames are handed to whichever worker is free;
 * the caller keeps order (see stages/detect.ts). After `detect` resolves, `frame.pixels` holds the buffer the worker
 * returned, already zero-filled there, for the drop stage to release.
 *
 * A worker can die (an uncaught error, out of memory, terminate): Node then drops every message posted to it without
 * a word and without taking the transferred buffer, so a frame sent there would never settle and its pixels would
 * stay in memory. A thread therefore remembers that it has exited, refuses frames from then on (zeroing their pixels
 * itself), and the pool sends frames only to live threads, failing every frame once none is left so the camera errors
 * out and restarts rather than stalling on a promise that never settles.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Frame } from '../streams/frame.ts';
import type { DetectorDescription, DetectorOptions } from './cocoSsd.ts';
import type { Detection } from './detection.ts';

export type WorkerRequest = { id: number; pixels: Uint8Array; width: number; height: number };
export type WorkerReply =
  | { kind: 'ready'; description: DetectorDescription }
  | { kind: 'failed'; message: string }
  | { kind: 'detected'; id: number; detections: Detection[]; pixels: Uint8Array; inferenceSeconds: number }
  | { kind: 'error'; id: number; message: string; pixels: Uint8Array };

export interface DetectorPool {
  readonly description: DetectorDescription;
  /** Workers started; the number of frames worth keeping in flight. */
  readonly workerCount: number;
  /** Workers that have not exited. Frames go only to these; with none left, `detect` rejects. */
  readonly liveWorkerCount: number;
  detect(frame: Frame): Promise<Detection[]>;
  /** Called with each frame's inference time, for the latency histogram. */
  onInference?: (seconds: number) => void;
  close(): Promise<void>;
}

/** 'auto': one worker per core for the single-threaded wasm/cpu backends; native TensorFlow threads itself. */
export type WorkerCount = number | 'auto';

const WORKER_ENTRY = new URL('./detectorWorker.mjs', import.meta.url);
/** Past four wasm workers the decoder and the rest of the pipeline start to starve on a small edge box. */
const MAX_AUTO_WORKERS = 4;

interface PendingFrame {
  frame: Frame;
  resolve: (detections: Detection[]) => void;
  reject: (error: Error) => void;
}

function describeExit(code: number, uncaught: Error | undefined) {
  return new Error(`detector worker exited with code ${code}${uncaught ? ` after an uncaught error: ${uncaught.message}` : ''}`);
}

class DetectorThread {
  private readonly pending = new Map<number, PendingFrame>();
  private nextId = 0;
  private exitedBecause: Error | undefined;

  private constructor(private readonly worker: Worker, private readonly onInference: (seconds: number) => void) {
    let uncaught: Error | undefined;
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    // An 'error' event is always followed by 'exit'; the frames fail there, with both the code and the cause.
    worker.on('error', (error) => (uncaught = error));
    worker.on('exit', (code) => {
      this.exitedBecause = describeExit(code, uncaught);
      this.failAll(this.exitedBecause);
    });
  }

  static start(options: DetectorOptions, onInference: (seconds: number) => void) {
    const worker = new Worker(WORKER_ENTRY, { workerData: options });
    return new Promise<{ thread: DetectorThread; description: DetectorDescription }>((resolve, reject) => {
      let uncaught: Error | undefined;
      const onError = (error: Error) => (uncaught = error);
      // A worker that exits while loading (process.exit, out of memory) never answers at all.
      const onExit = (code: number) => reject(describeExit(code, uncaught));
      const onFirst = (reply: WorkerReply) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (reply.kind === 'ready') resolve({ thread: new DetectorThread(worker, onInference), description: reply.description });
        else {
          // Ended before the caller hears of the failure, so a failed start leaves no thread behind.
          const failure = new Error(reply.kind === 'failed' ? reply.message : 'detector worker answered before it was ready');
          void worker.terminate().finally(() => reject(failure));
        }
      };
      worker.once('message', onFirst);
      worker.on('error', onError);
      worker.once('exit', onExit);
    });
  }

  /** Set once the worker has exited: why it can take no more frames. */
  get exited() {
    return this.exitedBecause;
  }

  get busy() {
    return this.pending.size;
  }

  detect(frame: Frame): Promise<Detection[]> {
    if (this.exited) return refuse(frame, this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { frame, resolve, reject });
      const request: WorkerRequest = { id, pixels: frame.pixels, width: frame.width, height: frame.height };
      this.worker.postMessage(request, [frame.pixels.buffer as ArrayBuffer]);
    });
  }

  private settle(reply: WorkerReply) {
    if (reply.kind !== 'detected' && reply.kind !== 'error') return;
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    waiting.frame.pixels = reply.pixels;
    if (reply.kind === 'detected') {
      this.onInference(reply.inferenceSeconds);
      waiting.resolve(reply.detections);
    } else waiting.reject(new Error(`detection failed on frame ${waiting.frame.index}: ${reply.message}`));
  }

  private failAll(error: Error) {
    for (const waiting of this.pending.values()) {
      // A frame posted after the thread died but before 'exit' arrived was never taken: its pixels are still here.
      // A frame the worker did take is detached here (filling it would throw); its bytes went with the worker's memory.
      zeroUnlessTransferred(waiting.frame);
      waiting.reject(error);
    }
    this.pending.clear();
  }

  close() {
    return this.worker.terminate();
  }
}

function zeroUnlessTransferred(frame: Frame) {
  if (frame.pixels.buffer.byteLength > 0) frame.pixels.fill(0);
}

/** Fails a frame no worker will see, so that its pixels are gone as surely as if it had been detected. */
function refuse(frame: Frame, error: Error): Promise<never> {
  zeroUnlessTransferred(frame);
  return Promise.reject(error);
}

class WorkerDetectorPool implements DetectorPool {
  onInference?: (seconds: number) => void;
  private readonly threads: DetectorThread[] = [];
  description!: DetectorDescription;

  get workerCount() {
    return this.threads.length;
  }

  get liveWorkerCount() {
    return this.threads.filter((thread) => !thread.exited).length;
  }

  async grow(options: DetectorOptions, workers: WorkerCount) {
    const report = (seconds: number) => this.onInference?.(seconds);
    // The first worker tells which backend this box has; the size of the pool depends on it.
    const first = await DetectorThread.start(options, report);
    this.threads.push(first.thread);
    this.description = first.description;
    const selfThreaded = first.description.backend.tfjsBackend === 'tensorflow';
    const wanted = workers === 'auto' ? (selfThreaded ? 1 : Math.min(MAX_AUTO_WORKERS, os.availableParallelism())) : workers;
    // allSettled, not all: when one fails the others may already run, and they join the pool so close() ends them.
    const rest = await Promise.allSettled(Array.from({ length: wanted - 1 }, () => DetectorThread.start(options, report)));
    for (const started of rest) if (started.status === 'fulfilled') this.threads.push(started.value.thread);
    const failed = rest.find((started) => started.status === 'rejected');
    if (failed) throw failed.reason;
  }

  detect(frame: Frame) {
    const live = this.threads.filter((thread) => !thread.exited);
    if (live.length === 0) {
      const causes = this.threads.map((thread) => thread.exited?.message).join('; ');
      return refuse(frame, new Error(`no detector worker is left: all ${this.threads.length} have exited (${causes}); restart Veil`));
    }
    const idlest = live.reduce((best, thread) => (thread.busy < best.busy ? thread : best));
    return idlest.detect(frame);
  }

  async close() {
    await Promise.all(this.threads.map((thread) => thread.close()));
  }
}

export async function startDetectorPool(options: DetectorOptions, workers: WorkerCount): Promise<DetectorPool> {
  const pool = new WorkerDetectorPool();
  try {
    await pool.grow(options, workers);
  } catch (error) {
    await pool.close();
    throw error;
  }
  return pool;
}
