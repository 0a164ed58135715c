/**
 * A pool of detector worker threads behind one `detect(frame)`. Frames are handed to whichever worker is free;
 * the caller keeps order (see stages/detect.ts). After `detect` resolves, `frame.pixels` holds the buffer the worker
 * returned, already zero-filled there, for the drop stage to release.
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
  readonly workerCount: number;
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

class DetectorThread {
  private readonly pending = new Map<number, PendingFrame>();
  private nextId = 0;

  private constructor(private readonly worker: Worker, private readonly onInference: (seconds: number) => void) {
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => this.failAll(new Error(`detector worker exited with code ${code}`)));
  }

  static start(options: DetectorOptions, onInference: (seconds: number) => void) {
    const worker = new Worker(WORKER_ENTRY, { workerData: options });
    return new Promise<{ thread: DetectorThread; description: DetectorDescription }>((resolve, reject) => {
      const onFirst = (reply: WorkerReply) => {
        worker.off('error', reject);
        if (reply.kind === 'ready') resolve({ thread: new DetectorThread(worker, onInference), description: reply.description });
        else {
          void worker.terminate();
          reject(new Error(reply.kind === 'failed' ? reply.message : 'detector worker answered before it was ready'));
        }
      };
      worker.once('message', onFirst);
      worker.once('error', reject);
    });
  }

  get busy() {
    return this.pending.size;
  }

  detect(frame: Frame): Promise<Detection[]> {
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
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  close() {
    return this.worker.terminate();
  }
}

class WorkerDetectorPool implements DetectorPool {
  onInference?: (seconds: number) => void;
  private readonly threads: DetectorThread[] = [];
  description!: DetectorDescription;

  get workerCount() {
    return this.threads.length;
  }

  async grow(options: DetectorOptions, workers: WorkerCount) {
    const report = (seconds: number) => this.onInference?.(seconds);
    // The first worker tells which backend this box has; the size of the pool depends on it.
    const first = await DetectorThread.start(options, report);
    this.threads.push(first.thread);
    this.description = first.description;
    const selfThreaded = first.description.backend.tfjsBackend === 'tensorflow';
    const wanted = workers === 'auto' ? (selfThreaded ? 1 : Math.min(MAX_AUTO_WORKERS, os.availableParallelism())) : workers;
    const rest = await Promise.all(Array.from({ length: wanted - 1 }, () => DetectorThread.start(options, report)));
    this.threads.push(...rest.map((started) => started.thread));
  }

  detect(frame: Frame) {
    const idlest = this.threads.reduce((best, thread) => (thread.busy < best.busy ? thread : best));
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
