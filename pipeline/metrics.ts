/**
 * A small Prometheus registry: counters, gauges and fixed-bucket histograms, rendered in the text exposition format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/, version 0.0.4). prom-client would do more than
 * Veil needs; this is the part /metrics uses.
 *
 *   const metrics = createVeilMetrics();
 *   metrics.framesDecoded.inc({ camera: 'gate' });
 *   metrics.inferenceSeconds.observe({}, 0.042);
 *   response.end(metrics.registry.render());
 *
 * Only aggregate, per-camera numbers live here: no label may carry anything about a person.
 */
import type { ReleasedWindow } from '../stages/released.ts';

/** The Content-Type of `render()`'s output, as Prometheus expects it. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
// Names starting with "__" are reserved for Prometheus itself; "le" is the histogram's own bucket label.
const LABEL_NAME = /^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$/;

type Labels<L extends string> = Record<L, string>;

interface Series {
  labels: Record<string, string>;
  value: number;
}

interface Metric {
  render(): string;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function header(name: string, help: string, type: 'counter' | 'gauge' | 'histogram'): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/**
 * Label values of one metric, keyed by their canonical form so that `{camera:"a"}` reached twice is one series.
 * A metric without labels always has its one series, at zero, so a scrape sees it before the first event.
 */
class SeriesTable<L extends string> {
  private readonly seriesByKey = new Map<string, Series>();

  constructor(
    private readonly metricName: string,
    private readonly labelNames: readonly L[],
  ) {
    if (!METRIC_NAME.test(metricName)) {
      throw new Error(`Metric name "${metricName}" is not a valid Prometheus name: use letters, digits, _ and :`);
    }
    for (const labelName of labelNames) {
      if (!LABEL_NAME.test(labelName) || labelName === 'le') {
        throw new Error(`Label "${labelName}" of ${metricName} is not a valid, unreserved Prometheus label name`);
      }
    }
    if (labelNames.length === 0) this.series({} as Labels<L>);
  }

  series(labels: Labels<L>): Series {
    const ordered: Record<string, string> = {};
    for (const labelName of this.labelNames) {
      const value = labels[labelName];
      if (typeof value !== 'string') {
        throw new Error(`Metric ${this.metricName} needs label "${labelName}" (labels: ${this.labelNames.join(', ')})`);
      }
      ordered[labelName] = value;
    }
    const key = JSON.stringify(ordered);
    let found = this.seriesByKey.get(key);
    if (!found) {
      found = { labels: ordered, value: 0 };
      this.seriesByKey.set(key, found);
    }
    return found;
  }

  all(): Series[] {
    return [...this.seriesByKey.values()];
  }
}

/** A metric with one number per label set; counters and gauges differ only in how the number may change. */
abstract class SingleValueMetric<L extends string> implements Metric {
  protected readonly table: SeriesTable<L>;

  constructor(
    readonly name: string,
    private readonly help: string,
    labelNames: readonly L[],
    private readonly type: 'counter' | 'gauge',
  ) {
    this.table = new SeriesTable(name, labelNames);
  }

  get(labels: Labels<L>): number {
    return this.table.series(labels).value;
  }

  render(): string {
    const samples = this.table.all().map((s) => `${this.name}${formatLabels(s.labels)} ${formatValue(s.value)}\n`);
    return header(this.name, this.help, this.type) + samples.join('');
  }
}

export class Counter<L extends string = never> extends SingleValueMetric<L> {
  constructor(name: string, help: string, labelNames: readonly L[] = []) {
    super(name, help, labelNames, 'counter');
  }

  inc(labels: Labels<L>, by = 1): void {
    if (!(by >= 0)) throw new Error(`Counter ${this.name} can only go up; got an increment of ${by}`);
    this.table.series(labels).value += by;
  }
}

export class Gauge<L extends string = never> extends SingleValueMetric<L> {
  constructor(name: string, help: string, labelNames: readonly L[] = []) {
    super(name, help, labelNames, 'gauge');
  }

  set(labels: Labels<L>, value: number): void {
    this.table.series(labels).value = value;
  }
}

interface HistogramSeries {
  labels: Record<string, string>;
  /** Observations at or below each bucket's upper bound, same order as `upperBounds`; not yet cumulative. */
  bucketCounts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> implements Metric {
  private readonly table: SeriesTable<L>;
  private readonly bucketsBySeries = new Map<Series, HistogramSeries>();
  readonly upperBounds: readonly number[];

  constructor(
    readonly name: string,
    private readonly help: string,
    upperBounds: readonly number[],
    labelNames: readonly L[] = [],
  ) {
    this.table = new SeriesTable(name, labelNames);
    const increasing = upperBounds.every((bound, i) => i === 0 || bound > (upperBounds[i - 1] as number));
    if (upperBounds.length === 0 || !increasing || upperBounds.some((b) => !Number.isFinite(b))) {
      const got = upperBounds.join(', ');
      throw new Error(`Histogram ${name} needs finite, strictly increasing bucket bounds; got [${got}]`);
    }
    this.upperBounds = [...upperBounds];
  }

  observe(labels: Labels<L>, value: number): void {
    const series = this.histogramSeries(labels);
    const bucket = this.upperBounds.findIndex((bound) => value <= bound);
    if (bucket >= 0) series.bucketCounts[bucket] = (series.bucketCounts[bucket] as number) + 1;
    series.sum += value;
    series.count += 1;
  }

  private histogramSeries(labels: Labels<L>): HistogramSeries {
    const key = this.table.series(labels);
    let found = this.bucketsBySeries.get(key);
    if (!found) {
      found = { labels: key.labels, bucketCounts: this.upperBounds.map(() => 0), sum: 0, count: 0 };
      this.bucketsBySeries.set(key, found);
    }
    return found;
  }

  render(): string {
    let text = header(this.name, this.help, 'histogram');
    for (const key of this.table.all()) {
      const series = this.histogramSeries(key.labels as Labels<L>);
      let cumulative = 0;
      this.upperBounds.forEach((bound, i) => {
        cumulative += series.bucketCounts[i] as number;
        text += `${this.name}_bucket${formatLabels({ ...series.labels, le: formatValue(bound) })} ${cumulative}\n`;
      });
      text += `${this.name}_bucket${formatLabels({ ...series.labels, le: '+Inf' })} ${series.count}\n`;
      text += `${this.name}_sum${formatLabels(series.labels)} ${formatValue(series.sum)}\n`;
      text += `${this.name}_count${formatLabels(series.labels)} ${series.count}\n`;
    }
    return text;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  register<M extends Metric & { name: string }>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`Metric ${metric.name} is registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  render(): string {
    return [...this.metrics.values()].map((metric) => metric.render()).join('');
  }
}

/**
 * Inference latency buckets, seconds: coco-ssd lite takes ~30–300 ms a frame on a CPU core, so the buckets are
 * finest there and stretch to 5 s to show a starved machine.
 */
export const INFERENCE_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5] as const;

/** Every metric Veil exposes on /metrics. */
export function createVeilMetrics() {
  const registry = new MetricsRegistry();
  return {
    registry,
    framesDecoded: registry.register(
      new Counter('veil_frames_decoded_total', 'Frames decoded from the camera stream.', ['camera']),
    ),
    framesAnalysed: registry.register(
      new Counter('veil_frames_analysed_total', 'Frames the detector analysed.', ['camera']),
    ),
    framesDropped: registry.register(
      new Counter('veil_frames_dropped_total', 'Decoded frames skipped because the detector was busy.', ['camera']),
    ),
    inferenceSeconds: registry.register(
      new Histogram('veil_inference_seconds', 'Detector latency per frame, in seconds.', INFERENCE_SECONDS_BUCKETS),
    ),
    windowsReleased: registry.register(
      new Counter('veil_windows_released_total', 'Windows released with differential-privacy noise.', ['camera']),
    ),
    windowsWithheld: registry.register(
      new Counter('veil_windows_withheld_total', 'Windows withheld, e.g. because the budget ran out.', ['camera']),
    ),
    privacyBudgetEpsilonLeft: registry.register(
      new Gauge('veil_privacy_budget_epsilon_left', 'Privacy budget (epsilon) left in the current period.', ['camera']),
    ),
    feedClients: registry.register(new Gauge('veil_feed_clients', 'WebSocket feed clients connected.')),
    cameraUp: registry.register(new Gauge('veil_camera_up', '1 while the camera is streaming, else 0.', ['camera'])),
  };
}

export type VeilMetrics = ReturnType<typeof createVeilMetrics>;

/** Counts one window the release stage closed, and the budget it left, whether or not it goes on a feed. */
export function recordWindowRelease(metrics: VeilMetrics, window: ReleasedWindow): void {
  const labels = { camera: window.camera };
  (window.status === 'released' ? metrics.windowsReleased : metrics.windowsWithheld).inc(labels);
  metrics.privacyBudgetEpsilonLeft.set(labels, window.privacy.budget.epsilonLeft);
}
