/**
 * A strict reader of the Prometheus text exposition format (0.0.4) for tests: it throws on any line a Prometheus
 * server would reject, so "it parses" means something. Written from the format's description, independently of
 * streams/metrics.ts, so the two cannot share a mistake.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const SUFFIXES_BY_TYPE: Record<string, string[]> = {
  counter: [''],
  gauge: [''],
  histogram: ['_bucket', '_sum', '_count'],
};

function parseValue(text: string, line: string): number {
  // Prometheus reads values with Go's ParseFloat, which takes Inf and NaN in any case (prom-client writes "Nan").
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  const value = Number(text);
  if (!/^-?\d/.test(text) || Number.isNaN(value)) throw new Error(`Bad sample value "${text}" in: ${line}`);
  return value;
}

/** Reads `a="x",b="y\"z"` one character at a time, undoing the three escapes the format allows. */
function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const nameMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(text.slice(i));
    if (!nameMatch) throw new Error(`Bad label at "${text.slice(i)}" in: ${line}`);
    i += nameMatch[0].length;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`Unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === '\n') throw new Error(`Raw newline in a label value: ${line}`);
      if (c === '\\') {
        const escaped = text[i + 1];
        const unescaped = escaped === 'n' ? '\n' : escaped === '\\' ? '\\' : escaped === '"' ? '"' : undefined;
        if (unescaped === undefined) throw new Error(`Bad escape \\${escaped} in: ${line}`);
        value += unescaped;
        i += 2;
      } else {
        value += c;
        i += 1;
      }
    }
    const name = nameMatch[1] as string;
    if (Object.hasOwn(labels, name)) throw new Error(`Label ${name} repeated in: ${line}`);
    labels[name] = value;
    i += 1;
    if (text[i] === ',') i += 1;
    else if (i < text.length) throw new Error(`Expected , after label ${name} in: ${line}`);
  }
  return labels;
}

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('Exposition text must end with a newline');
  const families = new Map<string, MetricFamily>();
  let current: MetricFamily | undefined;
  for (const line of text.split('\n').slice(0, -1)) {
    // The format ignores empty lines; prom-client puts one between families.
    if (line === '') continue;
    const help = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (help) {
      const name = help[1] as string;
      if (families.has(name)) throw new Error(`Metric ${name} appears twice`);
      current = { name, help: (help[2] as string).replace(/\\(n|\\)/g, (_, c) => (c === 'n' ? '\n' : '\\')), type: '', samples: [] };
      families.set(name, current);
      continue;
    }
    if (type) {
      if (!current || current.name !== type[1]) throw new Error(`TYPE without its HELP first: ${line}`);
      if (current.type || current.samples.length > 0) throw new Error(`TYPE after samples or twice: ${line}`);
      current.type = type[2] as string;
      continue;
    }
    const sample = SAMPLE_LINE.exec(line);
    if (!sample) throw new Error(`Not a sample, HELP or TYPE line: "${line}"`);
    const name = sample[1] as string;
    const family = current;
    const suffixes = family ? (SUFFIXES_BY_TYPE[family.type] ?? []) : [];
    if (!family || !suffixes.some((suffix) => name === family.name + suffix)) {
      throw new Error(`Sample ${name} is not part of the metric family above it (${family?.name ?? 'none'})`);
    }
    family.samples.push({ name, labels: parseLabels(sample[2] ?? '', line), value: parseValue(sample[3] as string, line) });
  }
  return families;
}

/** The value of the one sample with exactly these labels; throws if there is none. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  familyName: string,
  sampleName: string,
  labels: Record<string, string> = {},
): number {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = families
    .get(familyName)
    ?.samples.find((s) => s.name === sampleName && JSON.stringify(Object.entries(s.labels).sort()) === wanted);
  if (!found) throw new Error(`No sample ${sampleName}${wanted} in family ${familyName}`);
  return found.value;
}
