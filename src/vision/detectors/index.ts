// Detector registry: a new detector is one new file plus one line here.
import type { VisionConfig } from '../../config/schema.ts';
import type { Detector } from '../types.ts';
import { createMtcnnDetector } from './mtcnn.ts';
import { createSsdDetector } from './ssd.ts';

export const DETECTORS = ['mtcnn', 'ssd'] as const;
export type DetectorName = (typeof DETECTORS)[number];

export function createDetector(name: DetectorName, config: VisionConfig): Promise<Detector> {
  switch (name) {
    case 'mtcnn':
      return createMtcnnDetector(config.mtcnn);
    case 'ssd':
      return createSsdDetector(config.ssd);
  }
}
