/**
 * `npm run bench:naive [-- CLIP] [--fps 5] [--rounds 2] [--backend NAME] [--workers N|auto] [--duration SECONDS]`:
 * Veil's whole batch run against the naive reference (bench/naive.ts: ffmpeg → coco-ssd frame by frame on one
 * thread), on one clip, by default the shared indoor clip (../shared/footage) at 5 frames/s. The goal (issue 10):
 * Veil ≥ 1.8× as fast, with the same model on the same backend.
 *
 * Both run in this one process, alternating in ABBA order over the rounds (naive first in even rounds, Veil first in
 * odd ones), so that other load on the machine falls on both alike; the ratio is the median of each round's ratio.
 * Both are started and warmed up first; the rates are of the analysis itself (start-up times are printed apart).
 * Veil runs as `veil batch` does, privacy release included, with the motion gate off (the naive script looks at
 * every frame; `--motion-gate on` shows what the gate adds on top). The backend is the one Veil's selection picks
 * (`--backend auto`: tensorflow-gpu → tensorflow → wasm → cpu), and the naive script is put on the same one.
 *
 * Beside each rate: the machine's load average and CPU milliseconds per frame (main thread, other threads, ffmpeg),
 * which hardly move with the load when the rates do. "By CPU time" turns them into the ratio an idle machine would
 * show: the naive loop is serial, so a frame takes at least its main thread's CPU; Veil's threads share the cores, so
 * a frame takes at least its CPU over the cores. Nothing here asserts a time.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeFrames } from '../streams/ffmpegFrames.ts';
import { cpuPerFrame, loadAverage, measure, median, totalSeconds, type Measured } from './measure.ts';
import { loadNaiveModel, runNaive } from './naive.ts';
import { VeilBatchBench } from './veilBatch.ts';

const GOAL_RATIO = 1.8;
const INDOOR_CLIP = path.resolve(import.meta.dirname, '../../shared/footage/pedestrians_indoor_one-by-one_768x432.mp4');
/** Seconds of the clip the naive script analyses before timing, as Veil's workers are warmed up. */
const WARM_UP_SECONDS = 2;

const { values, positionals } = parseArgs({
  options: {
    fps: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    backend: { type: 'string' },
    workers: { type: 'string' },
    duration: { type: 'string' },
    'motion-gate': { type: 'string', default: 'off' },
  },
  allowPositionals: true,
});
const clip = positionals[0] ?? INDOOR_CLIP;
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds}: expected a whole number of rounds, e.g. 2`);
const durationSeconds = values.duration === undefined ? undefined : Number(values.duration);

const veilStarted = performance.now();
const veil = await VeilBatchBench.start({ fps: values.fps, workers: values.workers, backend: values.backend, 'motion-gate': values['motion-gate'] }, clip);
const veilStartSeconds = (performance.now() - veilStarted) / 1000;
try {
  const { config, parts } = veil;
  // The frame size Veil decodes this clip at: the naive script scales to the same, so the detector sees the same.
  let size = { width: 0, height: 0 };
  for await (const frame of decodeFrames({ ffmpeg: parts.ffmpeg, input: clip, fps: config.fps, maxWidth: config.maxWidth, durationSeconds: 1 })) {
    size = { width: frame.width, height: frame.height };
    frame.pixels.fill(0);
    break;
  }
  const naiveLoadStarted = performance.now();
  const naive = await loadNaiveModel(parts.detector.description.backend.name);
  const naiveRun = { ffmpegPath: parts.ffmpeg.path, clip, fps: config.fps, ...size, durationSeconds };
  await runNaive(naive, { ...naiveRun, durationSeconds: WARM_UP_SECONDS });
  const naiveLoadSeconds = (performance.now() - naiveLoadStarted) / 1000;

  process.stdout.write(
    `Veil vs the naive script: ${path.basename(clip)}${durationSeconds ? ` (first ${durationSeconds} s)` : ''}, ${config.fps} frames/s at ${size.width}×${size.height}, ` +
      `motion gate ${config.motionGate.enabled ? 'on' : 'off'}, ${rounds} round(s)\n` +
      `  Veil:  ${veil.describe()}\n` +
      `  naive: coco-ssd's detect on the main thread, ${naive.backend.name} backend\n` +
      `  start-up, not in the rates: Veil ${veilStartSeconds.toFixed(1)} s (workers loaded and warmed up), naive ${naiveLoadSeconds.toFixed(1)} s (model loaded and warmed up)\n`,
  );
  const passes = { naive: [] as Measured[], veil: [] as Measured[] };
  const pass = async (name: keyof typeof passes, round: number) => {
    const measured = await measure(async () => (name === 'naive' ? (await runNaive(naive, naiveRun)).frames : veil.run(clip, durationSeconds)));
    passes[name].push(measured);
    process.stdout.write(
      `  round ${round + 1}, ${name.padEnd(5)} ${measured.perSecond.toFixed(2).padStart(6)} f/s  ${measured.frames} frames in ${measured.seconds.toFixed(1)} s; ` +
        `CPU ${totalSeconds(measured.cpu).toFixed(1)} s, per frame ${cpuPerFrame(measured)}; ${loadAverage()}\n`,
    );
  };
  for (let round = 0; round < rounds; round++) {
    const order: Array<keyof typeof passes> = round % 2 === 0 ? ['naive', 'veil'] : ['veil', 'naive'];
    for (const name of order) await pass(name, round);
  }

  const ratio = median(passes.veil.map((v, round) => v.perSecond / passes.naive[round]!.perSecond));
  // The naive loop is serial: a frame takes at least its main thread's CPU. Veil's threads share the cores: a frame
  // takes at least its CPU divided by the cores. On an idle machine both come close to these bounds.
  const naiveSerial = median(passes.naive.map((m) => (m.cpu.mainThread ?? m.cpu.process) / m.frames));
  const veilShared = median(passes.veil.map((m) => totalSeconds(m.cpu) / m.frames)) / os.availableParallelism();
  const cpuRatio = naiveSerial / veilShared;
  const cpuSeconds = (list: Measured[]) => median(list.map((m) => totalSeconds(m.cpu))).toFixed(1);
  const row = (label: string, value: string, note = '') => `  ${label.padEnd(18)}${value.padStart(12)}  ${note}\n`;
  process.stdout.write(
    row('naive', `${median(passes.naive.map((m) => m.perSecond)).toFixed(2)} f/s`, `median; CPU ${cpuSeconds(passes.naive)} s a pass, ffmpeg included`) +
      row('Veil batch', `${median(passes.veil.map((m) => m.perSecond)).toFixed(2)} f/s`, `median; CPU ${cpuSeconds(passes.veil)} s a pass, ffmpeg included`) +
      row('Veil/naive', `${ratio.toFixed(2)}×`, `median of the rounds' ratios; goal ≥ ${GOAL_RATIO}×: ${ratio >= GOAL_RATIO ? 'met' : 'NOT met'} (${loadAverage()})`) +
      row('  by CPU time', `${cpuRatio.toFixed(2)}×`, `naive main thread ${(naiveSerial * 1000).toFixed(1)} ms a frame against Veil's CPU ${(veilShared * os.availableParallelism() * 1000).toFixed(1)} ms a frame over ${os.availableParallelism()} cores: the ratio on an idle machine`),
  );
} finally {
  await veil.close();
}
