/**
 * A live camera can't wait for the detector: this queue holds at most `capacity` frames (one or two) and, when a new
 * frame arrives at a full queue, drops the OLDEST — the detector always gets the freshest view and no backlog ever
 * builds. A dropped frame is zero-filled on the spot and counted: a metric, not an error.
 */
import type { Frame } from './frame.ts';

export class LatestFrameQueue {
  private readonly frames: Frame[] = [];
  private waiter?: () => void;
  private ended = false;

  constructor(private readonly capacity: number, private readonly onDropped: () => void) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`a live frame queue holds at least one frame, got ${capacity}`);
  }

  get length() {
    return this.frames.length;
  }

  push(frame: Frame): void {
    if (this.ended) {
      frame.pixels.fill(0);
      return;
    }
    if (this.frames.length >= this.capacity) {
      this.frames.shift()!.pixels.fill(0);
      this.onDropped();
    }
    this.frames.push(frame);
    this.wake();
  }

  /** No more frames: the consumer finishes what is queued, then stops. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Ends at once: frames still queued are zero-filled and dropped. */
  discard(): void {
    for (const frame of this.frames.splice(0)) frame.pixels.fill(0);
    this.end();
  }

  async *drain(): AsyncGenerator<Frame> {
    for (;;) {
      const next = this.frames.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private wake() {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
