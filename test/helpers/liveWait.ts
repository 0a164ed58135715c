/**
 * Bounded waiting for live tests: poll a condition until it holds or a deadline passes. A live system gets there
 * "eventually"; a fixed sleep is either too short on a loaded machine or wastes time on an idle one.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Fast enough to see a camera's 0.5–1 s `reconnecting` spell, slow enough not to load a 2-core machine. */
const POLL_INTERVAL_MS = 100;

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Resolves with the first truthy value `probe` returns. A probe that throws (a port not yet open, a missing field)
 * counts as "not yet"; its last error is in the timeout's message, which says what was awaited.
 */
export async function eventually<T>(what: string, timeoutSeconds: number, probe: () => T | Promise<T>): Promise<Truthy<T>> {
  const deadlineMs = Date.now() + timeoutSeconds * 1000;
  let lastProblem = 'the condition never held';
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as Truthy<T>;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() > deadlineMs) throw new Error(`waited ${timeoutSeconds} s for ${what}; last: ${lastProblem}`);
    await sleep(POLL_INTERVAL_MS);
  }
}

/** `promise`, or a rejection naming `what` once `timeoutSeconds` have passed without it settling. */
export async function withinSeconds<T>(what: string, timeoutSeconds: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${timeoutSeconds} s for ${what}`)), timeoutSeconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
