/**
 * One live camera, supervised. Its ffmpeg is started, watched and restarted on its own; nothing here can stop or
 * slow another camera.
 *
 *   starting ─▶ streaming ─(ffmpeg dies / stream ends / no frame for stallSeconds)─▶ reconnecting ─(back-off)─▶ starting
 *
 * Frames: ffmpeg ─▶ LatestFrameQueue (1–2 frames, drop oldest) ─▶ blind-detector watch ─▶ frame chain (detect, drop) ─▶ CameraAnalysis ─▶ release ─▶ publish.
 * With `drift:` configured, CameraAnalysis also closes drift windows, which the DriftMonitor releases at the same moments.
 * Live time is wall-clock time at a frame's arrival, so windows line up with the clock (08:00–08:15).
 *
 * Publication follows the clock alone: a window goes out PUBLISH_DELAY_SECONDS after its end, never when a frame
 * happens to close it, so when a window is published says nothing about how busy the detector was (issue 8). The
 * frame counters on /metrics move at the same moments, by the window's totals.
 *
 * Only whole windows are released: a window the camera did not stream through from start to end (the first after a
 * start or a reconnect, the one an outage cut into) is discarded, like the open window at shutdown — published, it
 * would read as a whole window's count and spend budget on part of one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DetectorPool } from '../models/detectorPool.ts';
import type { CameraStateRegistry } from '../streams/cameraState.ts';
import { describeSource, liveInput, type CameraSource } from '../streams/cameraSource.ts';
import type { FfmpegBinary } from '../streams/ffmpegBinary.ts';
import { decodeFrames } from '../streams/ffmpegFrames.ts';
import type { Orientation } from '../streams/orientation.ts';
import { LatestFrameQueue } from '../streams/latestFrames.ts';
import { MotionGate, type MotionGateSettings } from '../stages/motion.ts';
import type { WindowAggregate } from '../stages/aggregates.ts';
import { BlindDetectorWatch, describeBlindDetector, type BlindDetectorState } from '../stages/blindDetector.ts';
import type { ReleasedWindow } from '../stages/released.ts';
import { CameraAnalysis, type AnalysisSettings } from './analysis.ts';
import { analyseFrames } from './frameChain.ts';
import type { Logger } from './log.ts';
import { recordWindowFrames, type VeilMetrics } from '../streams/metrics.ts';
import type { DriftMonitor } from './driftMonitor.ts';

export interface LiveCameraSettings extends AnalysisSettings {
  id: string;
  source: CameraSource;
  fps: number;
  maxWidth: number;
  orientation?: Orientation;
  motionGate: MotionGateSettings;
  /** Frames held for a busy detector; more would only add latency. */
  queueFrames: number;
  /** No frame for this long means the camera is stalled: its ffmpeg is killed and restarted. */
  stallSeconds: number;
  backoff: { initialSeconds: number; maxSeconds: number };
  /** Consecutive failures after which the camera is marked `failed` and left alone; undefined: retry for ever. */
  giveUpAfterFailures?: number;
}

export interface LiveCameraParts {
  ffmpeg: FfmpegBinary;
  detector: DetectorPool;
  states: CameraStateRegistry;
  metrics: VeilMetrics;
  log: Logger;
  release: (aggregate: WindowAggregate) => ReleasedWindow;
  publish: (window: ReleasedWindow) => void;
  /** The camera's drift monitor (`drift:` in its config); absent: no drift histograms are kept. */
  drift?: DriftMonitor;
}

/**
 * A window is published this long after its end: frames stamped just before the boundary may still be in the queue
 * (≤ 2 frames) or the detector (≤ a second even on a slow box). A later frame of a closed window is dropped.
 */
export const PUBLISH_DELAY_SECONDS = 3;

/** A span of wall-clock time in which frames flowed: from the first frame of an ffmpeg run to its last. */
interface StreamingSpell {
  startSeconds: number;
  /** The last frame's time; undefined while frames still flow. */
  endSeconds?: number;
}

/** Spells kept for judging windows: enough for the windows awaiting publication, which span at most a few seconds. */
const SPELLS_KEPT = 8;

/** Exponential back-off with "equal jitter": half fixed, half random, so cameras that failed together don't retry in step. */
export function backoffSeconds(failures: number, initialSeconds: number, maxSeconds: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxSeconds, initialSeconds * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + (ceiling / 2) * random();
}

export class LiveCamera {
  private readonly analysis: CameraAnalysis;
  /** Windows a frame closed, waiting for their publication time. */
  private closed: WindowAggregate[] = [];
  private readonly spells: StreamingSpell[] = [];
  /** Frames since the last publication moment, added to /metrics at the next one. */
  private frames = { decoded: 0, analysed: 0, dropped: 0 };
  private readonly motionGate: MotionGate;
  /**
   * Whether the detector can see this camera's scene. One per camera, not per ffmpeg run: a camera that cannot be
   * seen stays so across reconnects, and its warning stays on /healthz until the detector finds objects again.
   */
  private readonly blindWatch: BlindDetectorWatch;

  constructor(private readonly settings: LiveCameraSettings, private readonly parts: LiveCameraParts) {
    this.analysis = new CameraAnalysis({ ...settings, driftWindowSeconds: parts.drift?.windowSeconds }, 'wall');
    this.motionGate = new MotionGate(settings.motionGate);
    this.blindWatch = new BlindDetectorWatch({ scoreThreshold: settings.scoreThreshold });
  }

  /** Runs until `signal` aborts (or a non-looping file ends). Never throws: failures become restarts. */
  async supervise(signal: AbortSignal): Promise<void> {
    const { id } = this.settings;
    const { states, log } = this.parts;
    const clock = this.startPublicationClock();
    let failures = 0;
    try {
      while (!signal.aborted) {
        // A retry stays 'reconnecting' until frames flow: flickering to 'starting' would hide an outage on /healthz.
        if (failures === 0) states.set(id, 'starting');
        log.info(failures === 0 ? 'camera starting' : 'camera retrying', { camera: id, attempt: failures + 1 });
        try {
          const ended = await this.streamOnce(signal, () => {
            failures = 0;
            states.set(id, 'streaming');
            log.info('camera streaming', { camera: id });
          });
          if (ended === 'source ended') {
            log.info('camera source ended (file without loop)', { camera: id });
            break;
          }
        } catch (error) {
          if (signal.aborted) break;
          failures += 1;
          const reason = (error as Error).message;
          if (this.parts.detector.liveWorkerCount === 0) {
            // Restarting the camera can't help: every detector thread is gone. `veil run` exits so its supervisor
            // (systemd's Restart=on-failure) starts a fresh process.
            states.set(id, 'failed', reason);
            log.error('camera stopped: no detector left', { camera: id, reason });
            return;
          }
          if (this.settings.giveUpAfterFailures !== undefined && failures >= this.settings.giveUpAfterFailures) {
            states.set(id, 'failed', `gave up after ${failures} consecutive failures: ${reason}`);
            log.error('camera failed, giving up', { camera: id, reason, failures });
            return;
          }
          const delaySeconds = backoffSeconds(failures, this.settings.backoff.initialSeconds, this.settings.backoff.maxSeconds);
          states.set(id, 'reconnecting', reason);
          log.warn('camera lost, reconnecting', { camera: id, reason, attempt: failures, retry_in_s: Number(delaySeconds.toFixed(1)) });
          await sleep(delaySeconds * 1000, undefined, { signal }).catch(() => undefined);
        }
      }
      states.set(id, 'stopped');
    } finally {
      clock.stop();
    }
  }

  /**
   * Wakes at every window boundary plus PUBLISH_DELAY_SECONDS (windows are aligned to the Unix epoch, so these are
   * fixed instants of the wall clock) and publishes what ended by the boundary.
   */
  private startPublicationClock(): { stop(): void } {
    let timer: NodeJS.Timeout | undefined;
    const scheduleNext = () => {
      const nowSeconds = Date.now() / 1000;
      // The next boundary of any released window length (e.g. every minute for occupancy, every 15 for crossings).
      const lengths = this.parts.drift ? [...this.settings.windowLengths, this.parts.drift.windowSeconds] : this.settings.windowLengths;
      const boundarySeconds = Math.min(...lengths.map((length) => (Math.floor((nowSeconds - PUBLISH_DELAY_SECONDS) / length) + 1) * length));
      const wakeSeconds = boundarySeconds + PUBLISH_DELAY_SECONDS;
      timer = setTimeout(() => {
        this.publishEndedBy(boundarySeconds);
        scheduleNext();
      }, Math.max(0, (wakeSeconds - nowSeconds) * 1000));
    };
    scheduleNext();
    return { stop: () => clearTimeout(timer) };
  }

  private publishEndedBy(boundarySeconds: number) {
    const { metrics, log } = this.parts;
    this.closed.push(...this.analysis.closeIfEnded(boundarySeconds));
    // Windows of several lengths wait here, so the ones ended by now are picked out, not taken from the front.
    const due = this.closed.filter((window) => window.endSeconds <= boundarySeconds);
    this.closed = this.closed.filter((window) => window.endSeconds > boundarySeconds);
    for (const window of due) {
      if (this.streamedThrough(window)) this.publish(window);
      else log.info('window discarded: the camera did not stream through all of it', { camera: this.settings.id, start: window.startSeconds, end: window.endSeconds });
    }
    // After the camera's own windows of this moment: their spends check the ledger's clock, which drift's would fail.
    const drift = this.parts.drift;
    if (drift) {
      drift.add(this.analysis.closeDriftIfEnded(boundarySeconds));
      drift.publishEndedBy(boundarySeconds);
    }
    recordWindowFrames(metrics, this.settings.id, this.frames);
    this.frames = { decoded: 0, analysed: 0, dropped: 0 };
  }

  /** Whether one spell of streaming covered the whole window: a partial window is never released as a whole one. */
  private streamedThrough(window: WindowAggregate): boolean {
    return this.spells.some((spell) => spell.startSeconds <= window.startSeconds && (spell.endSeconds === undefined || spell.endSeconds >= window.endSeconds));
  }

  /** One ffmpeg process, from start to its end. Throws when the camera failed; returns why it ended otherwise. */
  private async streamOnce(signal: AbortSignal, onFirstFrame: () => void): Promise<'stopped' | 'source ended'> {
    const { detector } = this.parts;
    const source = liveInput(this.settings.source, this.parts.ffmpeg);
    const attempt = new AbortController();
    const stopAttempt = () => attempt.abort();
    signal.addEventListener('abort', stopAttempt, { once: true });
    const queue = new LatestFrameQueue(this.settings.queueFrames, () => (this.frames.dropped += 1));
    let spell: StreamingSpell | undefined;
    let lastFrameMs = Date.now();
    let stalled = false;
    const watchdog = setInterval(() => {
      if (Date.now() - lastFrameMs > this.settings.stallSeconds * 1000) {
        stalled = true;
        attempt.abort();
      }
    }, 250);

    // The pump reads ffmpeg as fast as the camera sends; the queue, not ffmpeg, absorbs a slow detector.
    const pump = (async () => {
      let frames = 0;
      try {
        for await (const frame of decodeFrames({ ffmpeg: this.parts.ffmpeg, input: source.input, inputOptions: source.inputOptions, fps: this.settings.fps, maxWidth: this.settings.maxWidth, orientation: this.settings.orientation, signal: attempt.signal, onWarning: (warning) => this.parts.log.warn('camera stream warning', { camera: this.settings.id, warning }) })) {
          lastFrameMs = Date.now();
          frame.ptsSeconds = lastFrameMs / 1000;
          if (frames++ === 0) {
            spell = { startSeconds: frame.ptsSeconds };
            this.spells.push(spell);
            if (this.spells.length > SPELLS_KEPT) this.spells.shift();
            onFirstFrame();
          }
          this.frames.decoded += 1;
          queue.push(frame);
        }
        if (stalled) throw new Error(`no frame for ${this.settings.stallSeconds} s (stalled)`);
        if (!signal.aborted && !source.endsNormally) throw new Error(`the stream ${describeSource(this.settings.source)} ended`);
        queue.end();
      } catch (error) {
        queue.discard();
        throw error;
      }
    })();
    pump.catch(() => undefined);

    try {
      // The queue is this camera's frame source; it holds the freshest frames, so nothing is read ahead of it.
      // The watch looks at the frames the detector gets (not the ones the queue dropped), before it takes them over.
      for await (const frame of analyseFrames({ detector, framesInFlight: detector.workerCount, readAheadFrames: 0, motionGate: this.motionGate }, this.blindWatch.pictures(queue.drain()))) {
        this.frames.analysed += 1;
        // A skipped frame tells the watch nothing about the detector: it did not look.
        if (!frame.skipped) this.noteBlindness(this.blindWatch.observe(frame));
        const added = this.analysis.add(frame);
        this.closed.push(...added.closed);
        this.parts.drift?.add(added.driftClosed);
      }
      await pump;
      return signal.aborted ? 'stopped' : 'source ended';
    } finally {
      if (spell) spell.endSeconds = lastFrameMs / 1000;
      clearInterval(watchdog);
      signal.removeEventListener('abort', stopAttempt);
      attempt.abort();
      queue.discard();
    }
  }

  /** Logs once when the detector turns blind to the scene, or seeing again, and keeps /healthz's warning in step. */
  private noteBlindness(change: BlindDetectorState | undefined) {
    if (change === undefined) return;
    const { id } = this.settings;
    const { states, log } = this.parts;
    const message = describeBlindDetector(change, id, 'wall');
    const shares = { camera: id, changing: Number(change.changingShare.toFixed(2)), detecting: Number(change.detectingShare.toFixed(2)) };
    if (change.blind) log.warn(message, shares);
    else log.info(message, shares);
    states.warn(id, change.blind ? message : undefined);
  }

  /**
   * A failed release (the ledger refuses, the disk is full) is this window's problem, not the camera's: it is logged
   * and the camera goes on, rather than being restarted as if the stream had failed or crashing the process.
   */
  private publish(aggregate: WindowAggregate) {
    try {
      this.parts.publish(this.parts.release(aggregate));
    } catch (error) {
      this.parts.log.error('window not released', { camera: this.settings.id, start: aggregate.startSeconds, end: aggregate.endSeconds, reason: (error as Error).message });
    }
  }
}
