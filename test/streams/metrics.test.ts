import { describe, expect, it } from 'vitest';
import { createVeilMetrics, recordWindowFrames, recordWindowRelease } from '../../streams/metrics.ts';
import { promtoolCheck } from '../helpers/promtool.ts';
import { releasedWindow } from './releasedWindowFixture.ts';
import { parsePrometheusText, sampleValue } from '../pipeline/prometheusText.ts';

describe('Veil metrics', () => {
  it("serves Veil's own metrics beside the process and Node.js metrics an operator's dashboards expect", async () => {
    const families = parsePrometheusText(await createVeilMetrics().registry.metrics());
    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      veil_frames_decoded_total: 'counter',
      veil_frames_analysed_total: 'counter',
      veil_frames_dropped_total: 'counter',
      veil_windows_released_total: 'counter',
      veil_windows_withheld_total: 'counter',
      veil_privacy_budget_epsilon_left: 'gauge',
      veil_feed_clients: 'gauge',
      veil_camera_up: 'gauge',
      // prom-client's defaults: CPU, memory, event-loop lag and GC, the four the issue names.
      process_cpu_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_gc_duration_seconds: 'histogram',
    });
    expect(sampleValue(families, 'process_resident_memory_bytes', 'process_resident_memory_bytes')).toBeGreaterThan(1 << 20);
    // Issue 8: nothing per frame. The detector's latency follows the boxes in a scene, so no Veil histogram exists.
    expect([...families.values()].filter((f) => f.name.startsWith('veil_') && f.type !== 'counter' && f.type !== 'gauge')).toEqual([]);
    // Nor the motion gate's run/skipped split: it says when the picture moved (docs/privacy.md §7).
    expect([...families.keys()].filter((name) => /inference/.test(name))).toEqual([]);
  });

  it('passes promtool check metrics, with per-camera series filled in', async () => {
    const metrics = createVeilMetrics();
    recordWindowFrames(metrics, 'gate', { decoded: 120, analysed: 20, dropped: 98 });
    recordWindowRelease(metrics, releasedWindow({ camera: 'gate', index: 0 }));
    metrics.cameraUp.set({ camera: 'lobby "north"\\east' }, 1);
    const checked = await promtoolCheck(await metrics.registry.metrics());
    expect(checked).toEqual({ code: 0, output: '' });
  });

  it('adds a window’s frame totals to its camera’s counters', async () => {
    const metrics = createVeilMetrics();
    recordWindowFrames(metrics, 'gate', { decoded: 120, analysed: 20, dropped: 98 });
    recordWindowFrames(metrics, 'gate', { decoded: 118, analysed: 21, dropped: 95 });
    recordWindowFrames(metrics, 'yard', { decoded: 10, analysed: 10, dropped: 0 });
    const families = parsePrometheusText(await metrics.registry.metrics());
    const value = (family: string, camera: string) => sampleValue(families, family, family, { camera });
    expect([value('veil_frames_decoded_total', 'gate'), value('veil_frames_analysed_total', 'gate'), value('veil_frames_dropped_total', 'gate')]).toEqual([238, 41, 193]);
    expect(value('veil_frames_analysed_total', 'yard')).toBe(10);
  });

  it('counts released and withheld windows and follows the budget left', async () => {
    const metrics = createVeilMetrics();
    recordWindowRelease(metrics, releasedWindow({ camera: 'gate', index: 0 }));
    recordWindowRelease(metrics, releasedWindow({ camera: 'gate', index: 1 }));
    recordWindowRelease(metrics, releasedWindow({ camera: 'gate', index: 2, status: 'withheld' }));
    const families = parsePrometheusText(await metrics.registry.metrics());
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
