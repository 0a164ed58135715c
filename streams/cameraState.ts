/**
 * Where each camera stands, as the supervisor reports it: one record per camera, read by /healthz, sent on the feed
 * and mirrored in the `veil_camera_up` gauge by whoever listens.
 *
 *   const states = new CameraStateRegistry();
 *   const stop = states.onChange((s) => log.info('camera state', s));
 *   states.set('gate', 'starting');
 *   states.set('gate', 'reconnecting', 'ffmpeg exited with code 1');
 *
 *   starting ──▶ streaming ──▶ reconnecting ──▶ starting ──▶ …
 *                                   │
 *                                   └──▶ failed (gave up)        any ──▶ stopped (shutdown)
 */

import { redactCredentials } from './redact.ts';

export const CAMERA_STATES = ['starting', 'streaming', 'reconnecting', 'failed', 'stopped'] as const;
export type CameraStateName = (typeof CAMERA_STATES)[number];

export interface CameraState {
  camera: string;
  state: CameraStateName;
  /** When the camera entered `state`, ISO 8601. */
  since: string;
  /** How many times the camera went into `reconnecting`, since the process started. */
  restarts: number;
  /** The last error the supervisor reported, credentials removed; kept after the camera recovers. */
  lastError?: string;
  /**
   * What an operator should look at although the camera streams, e.g. a detector that cannot see the scene (see
   * stages/blindDetector.ts); present only while it holds, and kept across state transitions.
   */
  warning?: string;
  /** The drift monitor's latest window (pipeline/driftMonitor.ts); present once one was released or withheld. */
  drift?: CameraDrift;
}

/**
 * A camera's drift, as /healthz shows it: everything here comes from released (noised) histograms or from settings,
 * never from exact counts (docs/drift.md).
 */
export interface CameraDrift {
  /** The latest drift window, ISO 8601. */
  windowStart: string;
  windowEnd: string;
  status: 'released' | 'withheld';
  /** Released: the noised histograms (tracks per bin, SCORE_BIN_EDGES and SIZE_BIN_EDGES of stages/drift.ts). */
  histograms?: { score: number[]; size: number[] };
  /** Released: the noise s.d. on each bin, in tracks, and the ε the window cost. */
  standardDeviation?: number;
  epsilon?: number;
  /** The population stability index per feature of the released histograms against the baseline, when computed. */
  psi?: { score: number; size: number };
  /** PSI above this raises `warning`. */
  threshold: number;
  /** Which baseline the window was compared with, or how far the camera's own is built. */
  baseline: string;
  /** Why there is no PSI (the baseline is still being built, too few tracks, the window withheld). */
  note?: string;
  /** A sentence for an operator while the PSI is above the threshold. */
  warning?: string;
}

export type CameraStateListener = (state: Readonly<CameraState>) => void;


export class CameraStateRegistry {
  private readonly statesByCamera = new Map<string, CameraState>();
  private readonly listeners = new Set<CameraStateListener>();
  private readonly removalListeners = new Set<(camera: string) => void>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Records a transition; `detail` (an error's message) becomes `lastError`. Listeners hear every call. */
  set(camera: string, state: CameraStateName, detail?: string): CameraState {
    const previous = this.statesByCamera.get(camera);
    const next: CameraState = {
      camera,
      state,
      since: previous?.state === state ? previous.since : this.now().toISOString(),
      restarts: (previous?.restarts ?? 0) + (state === 'reconnecting' && previous?.state !== 'reconnecting' ? 1 : 0),
    };
    const lastError = detail === undefined ? previous?.lastError : redactCredentials(detail);
    if (lastError !== undefined) next.lastError = lastError;
    if (previous?.warning !== undefined) next.warning = previous.warning;
    if (previous?.drift !== undefined) next.drift = previous.drift;
    this.statesByCamera.set(camera, next);
    for (const listener of this.listeners) listener(next);
    return next;
  }

  /**
   * Sets a camera's `warning` (a sentence for an operator), or clears it with undefined; the state, `since` and
   * `restarts` are left as they are. Listeners are not told: they follow state transitions (the feed's status
   * messages, the `veil_camera_up` gauge), and a warning is no transition. /healthz reads it with the state.
   * @throws Error when `camera` has no state yet: a warning describes a camera the supervisor has started.
   */
  warn(camera: string, warning: string | undefined): void {
    const current = this.statesByCamera.get(camera);
    if (current === undefined) throw new Error(`camera "${camera}" has no state yet: set() it before warning about it`);
    const { warning: _previous, ...rest } = current;
    this.statesByCamera.set(camera, warning === undefined ? rest : { ...rest, warning: redactCredentials(warning) });
  }

  /**
   * Sets a camera's latest drift reading; like a warning, no transition, so listeners are not told.
   * @throws Error when `camera` has no state yet.
   */
  setDrift(camera: string, drift: CameraDrift): void {
    const current = this.statesByCamera.get(camera);
    if (current === undefined) throw new Error(`camera "${camera}" has no state yet: set() it before its drift`);
    this.statesByCamera.set(camera, { ...current, drift });
  }

  /**
   * Forgets a camera, e.g. one whose retained status a city cleared from its broker (a retired box): it leaves all()
   * and /healthz. Returns whether it was known; removal listeners hear a camera that was.
   */
  remove(camera: string): boolean {
    if (!this.statesByCamera.delete(camera)) return false;
    for (const listener of this.removalListeners) listener(camera);
    return true;
  }

  get(camera: string): CameraState | undefined {
    return this.statesByCamera.get(camera);
  }

  /** Every camera ever set, sorted by name. */
  all(): CameraState[] {
    return [...this.statesByCamera.values()].sort((a, b) => a.camera.localeCompare(b.camera));
  }

  /** Returns the function that removes the listener. */
  onChange(listener: CameraStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `listener` hears each camera remove() forgets; returns the function that removes the listener. */
  onRemove(listener: (camera: string) => void): () => void {
    this.removalListeners.add(listener);
    return () => this.removalListeners.delete(listener);
  }
}
