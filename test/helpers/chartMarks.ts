/**
 * What a report chart (streams/reportChart.ts) draws, read back from the SVG text: its elements with their decoded
 * attributes and text, and among them the marks of released values — every `<circle>` or `<rect>` that names its
 * series and window (`data-series`, `data-window-start`). Tests compare them with what report.json says, judged by a
 * rule the test writes out itself.
 */

export interface SvgElement {
  element: string;
  attributes: Record<string, string>;
  classes: string[];
  /** The text content of a `<text>` element; '' for others. */
  text: string;
}

export interface ChartMark {
  element: string;
  series: string;
  windowStartSeconds: number;
  classes: string[];
}

/** XML text with its character references and the entities the chart writes decoded. */
function decodeXml(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** The chart's drawn elements (self-closing ones and `<text>`), in document order. */
export function svgElements(svg: string): SvgElement[] {
  return [...svg.matchAll(/<(\w+)\b([^>]*?)(?:\/>|>([^<]*)<\/\1>)/g)].map(([, element, body, text]) => {
    const attributes = Object.fromEntries([...body!.matchAll(/([\w:-]+)="([^"]*)"/g)].map(([, name, value]) => [name!, decodeXml(value!)]));
    return { element: element!, attributes, classes: (attributes.class ?? '').split(/\s+/).filter(Boolean), text: decodeXml(text ?? '') };
  });
}

/** Every value mark of the chart, in document order. */
export function chartMarks(svg: string): ChartMark[] {
  return svgElements(svg).flatMap(({ element, attributes, classes }) =>
    attributes['data-series'] === undefined ? [] : [{ element, series: attributes['data-series'], windowStartSeconds: Number(attributes['data-window-start']), classes }],
  );
}

/** The `<text>` contents of the chart, decoded. */
export function chartTexts(svg: string): string[] {
  return svgElements(svg).filter(({ element }) => element === 'text').map(({ text }) => text);
}
