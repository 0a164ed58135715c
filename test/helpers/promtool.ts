/**
 * Prometheus's own linter, `promtool check metrics` (Debian's `prometheus` package; .ci/run installs it): exit 0 with
 * nothing said means a Prometheus server takes the text as it is.
 */
import { execFile } from 'node:child_process';

export function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr });
    });
    child.stdin!.end(text);
  });
}
