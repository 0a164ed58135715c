/** Loads the detector tier `options.model` names (models/tiers.ts), each behind the same `Detector` interface. */
import { loadCenterNet } from './centerNet.ts';
import { loadCocoSsd, type Detector, type DetectorOptions } from './cocoSsd.ts';

export function loadDetector(options: DetectorOptions): Promise<Detector> {
  return options.model === 'centernet' ? loadCenterNet(options) : loadCocoSsd(options);
}
