/**
 * The detector tiers Veil can run, one file each behind the `Detector` interface (models/cocoSsd.ts,
 * models/centerNet.ts). Only names and facts here, no tfjs: the config schemas and the tier choice import this.
 */

export const DETECTOR_TIERS = ['lite_mobilenet_v2', 'centernet', 'mobilenet_v2'] as const;
export type DetectorTier = (typeof DETECTOR_TIERS)[number];
/** `--model` / `detector.model`: a tier, or `auto` (chosen at start-up by measured speed: models/tierChoice.ts). */
export const MODEL_CHOICES = ['auto', ...DETECTOR_TIERS] as const;
export type ModelChoice = (typeof MODEL_CHOICES)[number];

/** The tiers whose weights install with Veil (npm), so a box with no network can load them: the ones `auto` measures. */
export const OFFLINE_TIERS: readonly DetectorTier[] = ['lite_mobilenet_v2', 'centernet'];

/**
 * The offline tiers, most accurate first, as measured by `veil eval --model TIER` on the labelled clips at 5 fps
 * (README, "Detector tiers"). On the clips not used to set CenterNet's counting level, coco-ssd lite is as close to
 * the hand counts or closer: both count every overpass line and lane exactly and 5 of 6 indoor instants, but CenterNet
 * counts 21 of 27 at the line 6 px from the frame's edge (lite 26). CenterNet is better on the crowded campus instants,
 * the clip its level was set on. So lite ranks first, and `auto` takes CenterNet only once it is measured better.
 */
export const ACCURACY_RANKING: readonly DetectorTier[] = ['lite_mobilenet_v2', 'centernet'];

/** coco-ssd's published mobilenet_v2 weights (the URL coco-ssd itself loads for `base: 'mobilenet_v2'`). */
export const MOBILENET_V2_URL = 'https://storage.googleapis.com/tfjs-models/savedmodel/ssd_mobilenet_v2/model.json';
