/**
 * A machine with Node and nothing else: no ffmpeg on PATH. `npm install` brought the optional package
 * @ffmpeg-installer/ffmpeg, and the README's first command must work with the ffmpeg it ships, offline.
 */
import { mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLED_FFMPEG } from '../../streams/ffmpegBinary.ts';
import { reportSchema } from '../../streams/report.ts';
import { createSandbox, runVeil, type Sandbox } from '../helpers/veilCli.ts';

let sandbox: Sandbox;
/** A PATH holding `node` alone. */
let nodeOnlyPath: string;

beforeEach(async () => {
  sandbox = await createSandbox();
  nodeOnlyPath = path.join(sandbox.root, 'node-only-bin');
  await mkdir(nodeOnlyPath);
  await symlink(process.execPath, path.join(nodeOnlyPath, 'node'));
});

afterEach(() => sandbox.remove());

describe('veil batch with no ffmpeg on PATH', () => {
  it('analyses the bundled sample with the ffmpeg of the npm package, and says which ffmpeg it chose', async () => {
    // 4 s of the sample at the default 5 frames/s.
    const run = await runVeil(['batch', '--duration', '4', '--new-ledger', '--out', 'report'], sandbox, { env: { PATH: nodeOnlyPath, FFMPEG_PATH: undefined } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`ffmpeg \\S+ from ${BUNDLED_FFMPEG}`));
    const report = reportSchema.parse(JSON.parse(await readFile(path.join(sandbox.cwd, 'report', 'report.json'), 'utf8')));
    expect(report.framesAnalysed).toBe(4 * 5);
    // The 24 s sample is reported in 6 s windows unless told otherwise: 4 s of it fill part of the first.
    expect(report.settings.releases.map((release) => release.windowSeconds)).toEqual([6, 6]);
    expect(report.windows).toHaveLength(1);
  });
});
