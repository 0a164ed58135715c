/**
 * Pixel buffers handed from frame to frame. A decoded frame is a buffer of width × height × 3 bytes (0.9 MB at
 * 640 × 480); allocating one per frame costs little by itself, but each frame lives a while (read ahead, in a
 * detector worker, back) and survives into the old generation of the heap, so the collector ends up running a full
 * mark-compact every few frames on the thread that decodes. A buffer the drop stage has finished with comes back here
 * and carries the next frame instead.
 *
 *   decoder ──take()──▶ frame ──▶ detector worker (transfer) ──▶ back (transfer) ──▶ drop stage ──give()──┐
 *      ▲                                                                                                 │
 *      └──────────────────────────────── zero-filled buffer ◀────────────────────────────────────────────┘
 *
 * Privacy: a buffer here holds no picture. `give` zero-fills what it keeps, whatever its caller did before, so the
 * only bytes a frame ever leaves behind are zeros; at most `capacity` buffers are kept, the rest are left to the
 * garbage collector (zero-filled too).
 */
export class FrameBuffers {
  #free: Uint8Array[] = [];

  /**
   * @param capacity buffers kept for reuse: the most frames alive at once (being decoded, read ahead, in detection,
   *   waiting for their turn) is enough. A whole number, at least 1; RangeError otherwise.
   */
  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`FrameBuffers: capacity must be a whole number of buffers, at least 1, got ${capacity}`);
  }

  /** Buffers waiting to be reused. */
  get available(): number {
    return this.#free.length;
  }

  /** A zero-filled buffer of `byteLength` bytes: one given back earlier when its size matches, else a new one. */
  take(byteLength: number): Uint8Array {
    const reused = this.#free.pop();
    if (reused?.byteLength === byteLength) return reused;
    // A new picture size (the first frame, or a new stream): buffers of the old size are no use any more.
    this.#free = [];
    return new Uint8Array(byteLength);
  }

  /**
   * Zero-fills `pixels` and keeps it for a later `take`, unless `capacity` buffers are already kept. A buffer that
   * was transferred away (byteLength 0: a worker that died kept it) is ignored.
   */
  give(pixels: Uint8Array): void {
    if (pixels.byteLength === 0) return;
    pixels.fill(0);
    if (this.#free.length < this.capacity) this.#free.push(pixels);
  }
}
