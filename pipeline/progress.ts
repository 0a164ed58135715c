/**
 * Progress of a long batch run. On a terminal: one bar redrawn in place with frames/s and ETA. In a pipe or a CI log:
 * a plain line every 10% so the log stays readable.
 */
export interface ProgressReporter {
  /** `clipSeconds`: how far into the clip the last analysed frame is. */
  update(framesAnalysed: number, clipSeconds: number): void;
  finish(): void;
}

const BAR_WIDTH = 30;

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.max(0, Math.round(seconds));
  return whole >= 60 ? `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s` : `${whole}s`;
}

export function createProgress(totalSeconds: () => number | undefined, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const startedMs = Date.now();
  let lastDecile = -1;
  let lastDrawMs = 0;
  let drew = false;
  let last: [number, number] | undefined;
  const reporter: ProgressReporter & { draw(framesAnalysed: number, clipSeconds: number, force: boolean): void } = {
    update(framesAnalysed, clipSeconds) {
      last = [framesAnalysed, clipSeconds];
      reporter.draw(framesAnalysed, clipSeconds, false);
    },
    draw(framesAnalysed, clipSeconds, force) {
      const total = totalSeconds();
      const elapsedSeconds = (Date.now() - startedMs) / 1000;
      const framesPerSecond = framesAnalysed / Math.max(elapsedSeconds, 1e-3);
      const fraction = total ? Math.min(1, clipSeconds / total) : undefined;
      const etaSeconds = fraction ? (elapsedSeconds / fraction) * (1 - fraction) : Number.NaN;
      const percent = fraction === undefined ? '' : `${Math.floor(fraction * 100)}%`;
      const summary = `${framesAnalysed} frames · ${framesPerSecond.toFixed(1)} frames/s · clip ${formatDuration(clipSeconds)}${total ? `/${formatDuration(total)}` : ''} · ETA ${formatDuration(etaSeconds)}`;
      if (stream.isTTY) {
        // Redrawing more often than ~10 times a second only costs the pipeline time.
        if (!force && Date.now() - lastDrawMs < 100) return;
        lastDrawMs = Date.now();
        const filled = Math.round((fraction ?? 0) * BAR_WIDTH);
        stream.write(`\r[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${percent.padStart(4)} ${summary}\x1b[K`);
        drew = true;
        return;
      }
      const decile = fraction === undefined ? Math.floor(framesAnalysed / 100) : Math.floor(fraction * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`progress ${percent || `${framesAnalysed} frames`}: ${summary}\n`);
      }
    },
    finish() {
      // The last update may have fallen between two redraws, and the last frame stands one sampling interval before
      // the end: a finished run shows 100 %.
      if (drew && last) reporter.draw(last[0], totalSeconds() ?? last[1], true);
      if (drew) stream.write('\n');
    },
  };
  return reporter;
}
