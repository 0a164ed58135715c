/**
 * Finds the ffmpeg binary: `--ffmpeg PATH`, then FFMPEG_PATH, then `ffmpeg` on PATH. Veil says which one it uses,
 * and when there is none, how to get one.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

export interface FfmpegBinary {
  path: string;
  /** Where it was found, for the log: '--ffmpeg', 'FFMPEG_PATH' or 'PATH'. */
  foundVia: string;
  version: string;
}

export const FFMPEG_MISSING_HELP =
  'Veil needs ffmpeg to decode video and none was found. On Debian or Ubuntu install it with ' +
  '`sudo apt-get install -y ffmpeg`; on other systems use the package manager or a static build from ffmpeg.org. ' +
  'If ffmpeg is installed somewhere that is not on PATH, pass `--ffmpeg /path/to/ffmpeg` or set FFMPEG_PATH.';

async function isExecutable(file: string) {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function versionOf(file: string): Promise<string> {
  const { stdout } = await promisify(execFile)(file, ['-hide_banner', '-version'], { timeout: 10_000 });
  return stdout.split('\n')[0]?.replace(/^ffmpeg version /, '').split(' ')[0] ?? 'unknown';
}

export async function locateFfmpeg(explicitPath?: string): Promise<FfmpegBinary> {
  const candidates: Array<[string | undefined, string]> = [
    [explicitPath, '--ffmpeg'],
    [process.env.FFMPEG_PATH, 'FFMPEG_PATH'],
  ];
  for (const [file, via] of candidates) {
    if (!file) continue;
    if (!(await isExecutable(file))) throw new Error(`${via} points to ${file}, which is not an executable file. ${FFMPEG_MISSING_HELP}`);
    return { path: file, foundVia: via, version: await versionOf(file) };
  }
  const onPath = await findOnPath('ffmpeg');
  if (!onPath) throw new Error(FFMPEG_MISSING_HELP);
  return { path: onPath, foundVia: 'PATH', version: await versionOf(onPath) };
}
