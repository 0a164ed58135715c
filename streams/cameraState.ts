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
}

export type CameraStateListener = (state: Readonly<CameraState>) => void;


export class CameraStateRegistry {
  private readonly statesByCamera = new Map<string, CameraState>();
  private readonly listeners = new Set<CameraStateListener>();

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
    this.statesByCamera.set(camera, next);
    for (const listener of this.listeners) listener(next);
    return next;
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
}
