// Detector registry: a new detector is one new file plus one line here.
import type { VisionConfig } from '../../config/schema.ts';
import type { Detector } from '../types.ts';
import type { Landmark68Params } from '../landmarks68.ts';
import { createMtcnnDetector } from './mtcnn.ts';
import { createSsdDetector } from './ssd.ts';

export const DETECTORS = ['mtcnn', 'ssd'] as const;
export type DetectorName = (typeof DETECTORS)[number];

/** `sharedLandmarks68`: a 68-point net the caller owns, for detectors that need one (ssd). */
export function createDetector(name: DetectorName, config: VisionConfig, sharedLandmarks68?: () => Promise<Landmark68Params>): Promise<Detector> {
  switch (name) {
    case 'mtcnn':
      return createMtcnnDetector(config.mtcnn);
    case 'ssd':
      return createSsdDetector(config.ssd, sharedLandmarks68);
  }
}
