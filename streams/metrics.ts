/**
 * What /metrics serves: prom-client's default process and Node.js metrics (CPU, resident memory, heap, event-loop
 * lag, GC, open handles) beside Veil's own, in the Prometheus text format.
 *
 *   const metrics = createVeilMetrics();
 *   recordWindowFrames(metrics, 'gate', { decoded: 120, analysed: 58, dropped: 60 });
 *   response.end(await metrics.registry.metrics());
 *
 * Nothing here may follow what a single frame showed. The detector's time per frame grows with the boxes in the
 * scene, so Veil exposes no per-frame latency; the frame counters move once per window, when the window is published,
 * by that window's totals (issue 8: no unnoised signal leaves). Labels name cameras only, never anything about a person.
 * The motion gate's run/skipped counts are not here: they follow how long the picture moved, which in an empty scene
 * says someone was there (docs/privacy.md §7); `veil eval` and calibration reports show them.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ReleasedWindow } from '../stages/released.ts';

/** The Content-Type of the registry's text, as Prometheus expects it (text format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

const REDUNDANT_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Every metric Veil exposes on /metrics; each call builds its own registry, so tests don't share counters. */
export function createVeilMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client also sums the per-type handle/request/resource gauges into gauges named *_total, which promtool
  // rejects (only counters end in _total); the per-type gauges stay, and a sum() over them gives the same figure.
  for (const name of REDUNDANT_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  const registers = [registry];
  return {
    registry,
    framesDecoded: new Counter({ name: 'veil_frames_decoded_total', help: 'Frames decoded from the camera stream, added once per published window.', labelNames: ['camera'] as const, registers }),
    framesAnalysed: new Counter({ name: 'veil_frames_analysed_total', help: 'Frames analysed: run through the detector, or skipped by the motion gate as still; added once per published window.', labelNames: ['camera'] as const, registers }),
    framesDropped: new Counter({ name: 'veil_frames_dropped_total', help: 'Decoded frames skipped because the detector was busy, added once per published window.', labelNames: ['camera'] as const, registers }),
    windowsReleased: new Counter({ name: 'veil_windows_released_total', help: 'Windows released with differential-privacy noise.', labelNames: ['camera'] as const, registers }),
    windowsWithheld: new Counter({ name: 'veil_windows_withheld_total', help: 'Windows withheld, e.g. because the budget ran out.', labelNames: ['camera'] as const, registers }),
    privacyBudgetEpsilonLeft: new Gauge({ name: 'veil_privacy_budget_epsilon_left', help: 'Epsilon left to an event touching the latest released window (0 is normal: each window takes its full share of the per-event epsilon).', labelNames: ['camera'] as const, registers }),
    feedClients: new Gauge({ name: 'veil_feed_clients', help: 'WebSocket feed clients connected.', registers }),
    cameraUp: new Gauge({ name: 'veil_camera_up', help: '1 while the camera is streaming, else 0.', labelNames: ['camera'] as const, registers }),
    mqttWindowsPublished: new Counter({ name: 'veil_mqtt_windows_published_total', help: 'Windows the MQTT broker acknowledged (PUBACK), including any sent again after an outage.', labelNames: ['camera'] as const, registers }),
    mqttWindowsPending: new Gauge({ name: 'veil_mqtt_windows_pending', help: 'Stored windows the MQTT broker has not acknowledged yet: the backlog an outage left.', labelNames: ['camera'] as const, registers }),
    driftPsi: new Gauge({ name: 'veil_drift_psi', help: 'Population stability index of the latest released drift window (noised histograms of tracks\' median detection scores and box sizes) against the camera\'s baseline, per feature (score, size); above 0.25 a significant shift (docs/drift.md).', labelNames: ['camera', 'feature'] as const, registers }),
    driftWarning: new Gauge({ name: 'veil_drift_warning', help: '1 while the camera\'s latest drift score is above its threshold, else 0.', labelNames: ['camera'] as const, registers }),
    mqttConnected: new Gauge({ name: 'veil_mqtt_connected', help: '1 while the camera\'s MQTT connection to the broker is up, else 0.', labelNames: ['camera'] as const, registers }),
  };
}

export type VeilMetrics = ReturnType<typeof createVeilMetrics>;

/**
 * One window's frame totals: decoded by ffmpeg, analysed (through the detector, or skipped by the motion gate),
 * dropped while the detector was busy.
 */
export interface WindowFrameCounts {
  decoded: number;
  analysed: number;
  dropped: number;
}

/** Adds one window's frame totals to the camera's counters: called when the window is published, never per frame. */
export function recordWindowFrames(metrics: VeilMetrics, camera: string, counts: WindowFrameCounts): void {
  metrics.framesDecoded.inc({ camera }, counts.decoded);
  metrics.framesAnalysed.inc({ camera }, counts.analysed);
  metrics.framesDropped.inc({ camera }, counts.dropped);
}

/** Counts one window the release stage closed, and the budget it left, whether or not it goes on a feed. */
export function recordWindowRelease(metrics: VeilMetrics, window: ReleasedWindow): void {
  const labels = { camera: window.camera };
  (window.status === 'released' ? metrics.windowsReleased : metrics.windowsWithheld).inc(labels);
  metrics.privacyBudgetEpsilonLeft.set(labels, window.privacy.budget.epsilonLeft);
}
