/**
 * Which detector tier a box can afford: the most accurate one whose measured speed sustains the frames its cameras
 * need, with room left for decoding and the rest of the pipeline. A pure function of measured figures, so it is tested
 * without a model (pipeline/detectorTier.ts measures in the real workers; this decides).
 *
 *   capacity (frames/s) = workers × 1000 / msPerFrame        (each worker thread runs one inference at a time)
 *   sustains            ⇔ capacity × PIPELINE_SHARE ≥ cameras × fps
 */
import type { DetectorTier } from './tiers.ts';

/**
 * The share of the detector's frames per second the whole pipeline keeps: `npm run bench` measured the pipeline at
 * 0.85–0.90 of detector-only frames/s on a 2-core box (ffmpeg's decoding competes for the same cores); 0.85 is the
 * lower end.
 */
export const PIPELINE_SHARE = 0.85;

export interface TierSpeed {
  tier: DetectorTier;
  /** Median inference time of one frame in one worker thread, in milliseconds, measured on this box. */
  msPerFrame: number;
}

export interface DetectorNeed {
  /** Frames per second to analyse, all cameras together (cameras × fps). */
  framesPerSecond: number;
  /** Detector worker threads, each running one inference at a time. */
  workers: number;
}

export interface TierVerdict extends TierSpeed {
  /** workers × 1000 / msPerFrame: frames per second the pool can detect. */
  capacityFps: number;
  sustains: boolean;
}

export interface TierChoice {
  tier: DetectorTier;
  /** One line for a person: what was needed, what each tier measured, and why this one. */
  reason: string;
  verdicts: TierVerdict[];
}

function verdict(speed: TierSpeed, need: DetectorNeed): TierVerdict {
  const capacityFps = (need.workers * 1000) / speed.msPerFrame;
  return { ...speed, capacityFps, sustains: capacityFps * PIPELINE_SHARE >= need.framesPerSecond };
}

const round = (value: number) => Number(value.toPrecision(3));

/**
 * The first tier of `ranking` (most accurate first) whose measured speed sustains `need`; when none does, the fastest
 * measured tier (a live camera then drops frames rather than build a backlog). Tiers of `ranking` without a
 * measurement are not candidates. Throws when nothing was measured, or a measurement is not a positive time.
 */
export function chooseTier(ranking: readonly DetectorTier[], speeds: readonly TierSpeed[], need: DetectorNeed): TierChoice {
  for (const speed of speeds) {
    if (!(speed.msPerFrame > 0) || !Number.isFinite(speed.msPerFrame)) throw new Error(`tier ${speed.tier}: measured ${speed.msPerFrame} ms a frame, expected a positive time`);
  }
  const verdicts = ranking.flatMap((tier) => speeds.filter((speed) => speed.tier === tier).map((speed) => verdict(speed, need)));
  if (verdicts.length === 0) throw new Error(`no tier of ${ranking.join(', ')} was measured: nothing to choose from`);
  // The figure compared with the need is the pipeline's share of the capacity: shown with its product, so that a
  // capacity above the need next to "no tier sustains it" does not read as a contradiction.
  const measured = verdicts
    .map((v) => `${v.tier} ${round(v.msPerFrame)} ms/frame → ${round(v.capacityFps * PIPELINE_SHARE)} frames/s through the pipeline (${round(v.capacityFps)} × ${PIPELINE_SHARE})`)
    .join(', ');
  const needed = `need ${round(need.framesPerSecond)} frames/s with ${need.workers} worker(s), keeping ${Math.round((1 - PIPELINE_SHARE) * 100)} % for decoding`;
  const best = verdicts.find((v) => v.sustains);
  if (best) {
    const better = verdicts.slice(0, verdicts.indexOf(best)).map((v) => v.tier);
    const why = better.length ? `the most accurate that sustains it (${better.join(', ')} too slow)` : 'the most accurate, and it sustains it';
    return { tier: best.tier, reason: `${best.tier}: ${why}; ${needed}; measured ${measured}`, verdicts };
  }
  const fastest = verdicts.reduce((a, b) => (b.capacityFps > a.capacityFps ? b : a));
  return { tier: fastest.tier, reason: `${fastest.tier}: no tier sustains the need, so the fastest (live cameras will drop frames); ${needed}; measured ${measured}`, verdicts };
}
