import { describe, expect, it } from 'vitest';
import {
  Counter,
  createVeilMetrics,
  Gauge,
  Histogram,
  INFERENCE_SECONDS_BUCKETS,
  MetricsRegistry,
  recordWindowRelease,
} from '../../pipeline/metrics.ts';
import { releasedWindow } from '../streams/releasedWindowFixture.ts';
import { parsePrometheusText, sampleValue } from './prometheusText.ts';

describe('Veil metrics', () => {
  it('exposes every metric the issue names, with HELP and TYPE, before anything happened', () => {
    const families = parsePrometheusText(createVeilMetrics().registry.render());
    expect(Object.fromEntries([...families.values()].map((f) => [f.name, f.type]))).toEqual({
      veil_frames_decoded_total: 'counter',
      veil_frames_analysed_total: 'counter',
      veil_frames_dropped_total: 'counter',
      veil_inference_seconds: 'histogram',
      veil_windows_released_total: 'counter',
      veil_windows_withheld_total: 'counter',
      veil_privacy_budget_epsilon_left: 'gauge',
      veil_feed_clients: 'gauge',
      veil_camera_up: 'gauge',
    });
    for (const family of families.values()) expect(family.help.length).toBeGreaterThan(10);
    // Unlabelled metrics show their zero; labelled ones have no series until a camera reports.
    expect(sampleValue(families, 'veil_feed_clients', 'veil_feed_clients')).toBe(0);
    expect(sampleValue(families, 'veil_inference_seconds', 'veil_inference_seconds_count')).toBe(0);
    expect(families.get('veil_frames_decoded_total')?.samples).toEqual([]);
  });

  it('keeps one series per camera', () => {
    const metrics = createVeilMetrics();
    metrics.framesDecoded.inc({ camera: 'gate' }, 25);
    metrics.framesDecoded.inc({ camera: 'gate' });
    metrics.framesDecoded.inc({ camera: 'yard' }, 3);
    metrics.cameraUp.set({ camera: 'gate' }, 1);
    metrics.cameraUp.set({ camera: 'gate' }, 0);
    const families = parsePrometheusText(metrics.registry.render());
    expect(sampleValue(families, 'veil_frames_decoded_total', 'veil_frames_decoded_total', { camera: 'gate' })).toBe(26);
    expect(sampleValue(families, 'veil_frames_decoded_total', 'veil_frames_decoded_total', { camera: 'yard' })).toBe(3);
    expect(families.get('veil_camera_up')?.samples).toEqual([
      { name: 'veil_camera_up', labels: { camera: 'gate' }, value: 0 },
    ]);
  });

  it('renders a histogram with cumulative buckets, +Inf, sum and count', () => {
    const metrics = createVeilMetrics();
    for (const seconds of [0.004, 0.04, 0.04, 0.12, 7]) metrics.inferenceSeconds.observe({}, seconds);
    const family = parsePrometheusText(metrics.registry.render()).get('veil_inference_seconds');
    const buckets = family?.samples.filter((s) => s.name === 'veil_inference_seconds_bucket') ?? [];
    expect(buckets.map((b) => b.labels.le)).toEqual([...INFERENCE_SECONDS_BUCKETS.map(String), '+Inf']);
    const count = (le: string) => buckets.find((b) => b.labels.le === le)?.value;
    expect([count('0.01'), count('0.05'), count('0.15'), count('5'), count('+Inf')]).toEqual([1, 3, 4, 4, 5]);
    expect(buckets.map((b) => b.value)).toEqual([...buckets.map((b) => b.value)].sort((a, b) => a - b));
    expect(family?.samples.find((s) => s.name === 'veil_inference_seconds_sum')?.value).toBeCloseTo(7.204, 10);
    expect(family?.samples.find((s) => s.name === 'veil_inference_seconds_count')?.value).toBe(5);
  });

  it('escapes label values and help text so any camera name stays one valid line', () => {
    const registry = new MetricsRegistry();
    const gauge = registry.register(new Gauge('test_gauge', 'Help with a \\ backslash\nand a newline.', ['camera']));
    const awkward = 'lobby "north"\\east\nwing';
    gauge.set({ camera: awkward }, 2.5);
    gauge.set({ camera: 'plain' }, -Infinity);
    const text = registry.render();
    expect(text).toContain('test_gauge{camera="lobby \\"north\\"\\\\east\\nwing"} 2.5\n');
    const family = parsePrometheusText(text).get('test_gauge');
    expect(family?.help).toBe('Help with a \\ backslash\nand a newline.');
    expect(family?.samples.map((s) => [s.labels.camera, s.value])).toEqual([
      [awkward, 2.5],
      ['plain', -Infinity],
    ]);
  });

  it('refuses what Prometheus would reject or misread, naming the metric', () => {
    const registry = new MetricsRegistry();
    expect(() => new Counter('veil-frames', 'dash')).toThrow(/veil-frames/);
    expect(() => new Counter('ok_total', 'reserved', ['__name'])).toThrow(/__name/);
    expect(() => new Histogram('h', 'le is the bucket label', [1], ['le'])).toThrow(/"le"/);
    expect(() => new Histogram('h', 'unsorted', [1, 0.5])).toThrow(/strictly increasing/);
    const counter = registry.register(new Counter('ok_total', 'fine', ['camera']));
    expect(() => registry.register(new Counter('ok_total', 'again'))).toThrow(/twice/);
    expect(() => counter.inc({ camera: 'gate' }, -1)).toThrow(/only go up/);
    expect(() => counter.inc({} as { camera: string })).toThrow(/needs label "camera"/);
  });

  it('counts released and withheld windows and follows the budget left', () => {
    const metrics = createVeilMetrics();
    recordWindowRelease(metrics, releasedWindow({ camera: 'gate', index: 0 }));
    recordWindowRelease(metrics, releasedWindow({ camera: 'gate', index: 1 }));
    recordWindowRelease(metrics, releasedWindow({ camera: 'gate', index: 2, status: 'withheld' }));
    const families = parsePrometheusText(metrics.registry.render());
    const gate = { camera: 'gate' };
    expect(sampleValue(families, 'veil_windows_released_total', 'veil_windows_released_total', gate)).toBe(2);
    expect(sampleValue(families, 'veil_windows_withheld_total', 'veil_windows_withheld_total', gate)).toBe(1);
    // The withheld window's footage was released until its budget ran out (releasedWindowFixture.ts): ε 2 per visit,
    // nothing left.
    expect(sampleValue(families, 'veil_privacy_budget_epsilon_left', 'veil_privacy_budget_epsilon_left', gate)).toBe(0);
  });
});

describe('the test parser itself', () => {
  it('rejects text a Prometheus server would reject', () => {
    expect(() => parsePrometheusText('# HELP a x\n# TYPE a counter\na{camera="x} 1\n')).toThrow(/Unterminated/);
    expect(() => parsePrometheusText('# HELP a x\n# TYPE a counter\nb 1\n')).toThrow(/not part of/);
    expect(() => parsePrometheusText('# HELP a x\n# TYPE a counter\na one\n')).toThrow(/Bad sample value/);
    expect(() => parsePrometheusText('# HELP a x\n# TYPE a counter\na 1')).toThrow(/newline/);
  });
});
