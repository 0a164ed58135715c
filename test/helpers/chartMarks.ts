/**
 * The marks a report chart (streams/reportChart.ts) draws for released values, read back from the SVG text: every
 * `<circle>` or `<rect>` that names its series and window (`data-series`, `data-window-start`), with its classes.
 * Tests compare them with what report.json says, judged by a rule the test writes out itself.
 */

export interface ChartMark {
  element: 'circle' | 'rect';
  series: string;
  windowStartSeconds: number;
  classes: string[];
}

/** XML text with its character references and the entities the chart writes decoded. */
function decodeXml(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** The attributes of one start tag, `name="value"` pairs, decoded. */
function attributes(tag: string): Record<string, string> {
  return Object.fromEntries([...tag.matchAll(/([\w:-]+)="([^"]*)"/g)].map(([, name, value]) => [name!, decodeXml(value!)]));
}

/** Every value mark of the chart, in document order. */
export function chartMarks(svg: string): ChartMark[] {
  return [...svg.matchAll(/<(circle|rect)\b([^>]*)\/>/g)].flatMap(([, element, body]) => {
    const attrs = attributes(body!);
    if (attrs['data-series'] === undefined) return [];
    return [{ element: element as ChartMark['element'], series: attrs['data-series'], windowStartSeconds: Number(attrs['data-window-start']), classes: (attrs.class ?? '').split(/\s+/).filter(Boolean) }];
  });
}

/** The `<text>` contents of the chart, entities decoded. */
export function chartTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map(([, text]) => decodeXml(text!));
}
