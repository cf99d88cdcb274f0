import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { configSchema } from '../src/config/schema.ts';
import { tempDir } from './helpers/fixtures.ts';

describe('configuration', () => {
  it('config/default.json is valid and complete', () => {
    const c = loadConfig({ env: {} });
    expect(c.vision.detector).toBe('mtcnn');
    expect(c.vision.mtcnn.thresholds).toEqual([0.6, 0.7, 0.7]);
    expect(c.vision.mtcnn.scaleFactor).toBeCloseTo(0.709);
  });

  it('describes every field', () => {
    const undescribed: string[] = [];
    const walk = (schema: unknown, path: string) => {
      const s = schema as { description?: string; shape?: Record<string, unknown> };
      if (path && !s.description) undescribed.push(path);
      if (s.shape) for (const [k, v] of Object.entries(s.shape)) walk(v, path ? `${path}.${k}` : k);
    };
    walk(configSchema, '');
    expect(undescribed).toEqual([]);
  });

  it('merges a user file, env and overrides in that order', () => {
    const file = join(tempDir(), 'c.json');
    writeFileSync(file, JSON.stringify({ vision: { detector: 'ssd', mtcnn: { minFaceSize: 40 } } }));
    const c = loadConfig({ file, env: { FACECAST_DATA: '/tmp/x' }, overrides: { vision: { alignment: 'box' } } });
    expect(c.vision.detector).toBe('ssd');
    expect(c.vision.mtcnn.minFaceSize).toBe(40);
    expect(c.vision.mtcnn.scaleFactor).toBeCloseTo(0.709);
    expect(c.dataDir).toBe('/tmp/x');
    expect(c.vision.alignment).toBe('box');
  });

  it('rejects a bad value naming the field', () => {
    expect(() => loadConfig({ env: {}, overrides: { vision: { mtcnn: { scaleFactor: 3 } } } })).toThrow(/vision\.mtcnn\.scaleFactor/);
    const bad = join(tempDir(), 'bad.json');
    writeFileSync(bad, '{ nope');
    expect(() => loadConfig({ file: bad, env: {} })).toThrow(ConfigError);
  });
});
