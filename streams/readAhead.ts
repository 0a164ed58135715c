/**
 * Keeps up to `count` items of a source read ahead of its consumer. Between the decoder and the detector this hides
 * the time ffmpeg takes to hand over the next frame (a frame is larger than the pipe's buffer, so ffmpeg cannot
 * write one before it is asked for): a free detector worker finds a frame waiting. The bound keeps back-pressure:
 * at most `count` extra frames are ever held. What was read ahead for a consumer that stops early goes to `discard`.
 */
export interface ReadAheadOptions<T> {
  /** Items held ahead of the consumer; 0 passes items straight through. */
  count: number;
  /** Receives each item read ahead for a consumer that stopped before taking it. */
  discard: (item: T) => void;
}

export async function* readAhead<T>({ count, discard }: ReadAheadOptions<T>, source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const ahead: Array<Promise<IteratorResult<T>>> = [];
  try {
    for (;;) {
      while (ahead.length < count + 1) {
        const next = iterator.next();
        // Awaited in order below; this only stops a failure being reported as unhandled meanwhile.
        next.catch(() => undefined);
        ahead.push(next);
      }
      const next = await ahead.shift()!;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Items read ahead for a consumer that stopped early (frames: their pixels) are discarded, not left behind.
    for (const next of await Promise.allSettled(ahead.splice(0))) if (next.status === 'fulfilled' && !next.value.done) discard(next.value.value);
    await iterator.return?.();
  }
}
