/**
 * The batch report as a sink: it keeps the windows as they are released and writes report.json, .csv, .svg and
 * .png (streams/report.ts) when closed, with the run's description as it stands at the end of the run.
 */
import type { ReleasedWindow } from '../../stages/released.ts';
import { writeReport, type Report } from '../report.ts';
import type { WindowSink } from './sink.ts';

export interface ReportSink extends WindowSink {
  /** After close(): the report written and its files, in the order written. */
  readonly written: { report: Report; files: string[] } | undefined;
}

/**
 * A sink that writes the report into `outDir` on close. `describe` is called then, so it may hold what is known only
 * at the end (frames analysed, the clip's duration). Close throws what writeReport throws (a schema-invalid report,
 * a disk error).
 */
export function reportSink(outDir: string, describe: () => Omit<Report, 'windows'>): ReportSink {
  const windows: ReleasedWindow[] = [];
  let written: ReportSink['written'];
  return {
    name: 'batch report',
    get written() {
      return written;
    },
    publish(window) {
      windows.push(window);
    },
    async close() {
      written = await writeReport(outDir, { ...describe(), windows });
    },
  };
}
