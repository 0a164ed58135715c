/**
 * Finds the ffmpeg binary: `--ffmpeg PATH`, then FFMPEG_PATH, then `ffmpeg` on PATH, and last the static build that
 * the optional npm package @ffmpeg-installer/ffmpeg ships (ffmpeg 4.1 for linux-x64, linux-arm64 and others), so that
 * `npm install` alone makes Veil work on a machine with Node and nothing else. Veil says which one it uses and how it
 * found it, and when there is none, how to get one.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

export interface FfmpegBinary {
  path: string;
  /** Where it was found, for the log: '--ffmpeg', 'FFMPEG_PATH', 'PATH' or BUNDLED_FFMPEG. */
  foundVia: string;
  /** As `ffmpeg -version` prints it: "5.1.9-0+deb12u1", or a build name such as "N-47683-g0e8eb07980-static". */
  version: string;
  /**
   * Major version of its libavformat (58 in ffmpeg 4.x, 59 in 5.x, 60 in 6.x): some input options changed meaning
   * between releases, and a static build's version string does not say which release it is.
   */
  libavformatMajor: number;
}

export const BUNDLED_FFMPEG = 'the @ffmpeg-installer/ffmpeg package';

export const FFMPEG_MISSING_HELP =
  'Veil needs ffmpeg to decode video and none was found. `npm install` normally brings one (the optional package ' +
  '@ffmpeg-installer/ffmpeg, where the platform has a build); otherwise on Debian or Ubuntu install it with ' +
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

/** The binary of the optional package, or undefined when it is not installed or has no build for this platform. */
function bundledPath(): string | undefined {
  try {
    // The package is CommonJS and throws (a string, not an Error) when this platform has no build.
    return (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return undefined;
  }
}

async function describe(file: string, foundVia: string): Promise<FfmpegBinary> {
  const { stdout } = await promisify(execFile)(file, ['-hide_banner', '-version'], { timeout: 10_000 });
  const version = stdout.split('\n')[0]?.replace(/^ffmpeg version /, '').split(' ')[0] ?? 'unknown';
  const libavformatMajor = Number(/^libavformat\s+(\d+)\./m.exec(stdout)?.[1] ?? Number.NaN);
  if (!Number.isInteger(libavformatMajor)) throw new Error(`${file} (from ${foundVia}) did not answer \`-version\` as ffmpeg does. ${FFMPEG_MISSING_HELP}`);
  return { path: file, foundVia, version, libavformatMajor };
}

/**
 * Throws an Error for a person when `--ffmpeg` or FFMPEG_PATH names something that is not executable (an explicit
 * choice is never silently replaced), or when no ffmpeg is found at all.
 */
export async function locateFfmpeg(explicitPath?: string): Promise<FfmpegBinary> {
  const candidates: Array<[string | undefined, string]> = [
    [explicitPath, '--ffmpeg'],
    [process.env.FFMPEG_PATH, 'FFMPEG_PATH'],
  ];
  for (const [file, via] of candidates) {
    if (!file) continue;
    if (!(await isExecutable(file))) throw new Error(`${via} points to ${file}, which is not an executable file. ${FFMPEG_MISSING_HELP}`);
    return describe(file, via);
  }
  const onPath = await findOnPath('ffmpeg');
  if (onPath) return describe(onPath, 'PATH');
  const bundled = bundledPath();
  if (bundled && (await isExecutable(bundled))) return describe(bundled, BUNDLED_FFMPEG);
  throw new Error(FFMPEG_MISSING_HELP);
}
