// The batched face recognition embedder against @vladmandic/face-api's own net, and its
// separation of the gallery's 8 people.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, type Tensor3D, type Tensor4D } from '../src/vision/tf.ts';
import { selectBackend } from '../src/vision/backend.ts';
import { decodeImage, imageToTensor } from '../src/vision/image.ts';
import { packageDir, PROJECT_ROOT } from '../src/vision/weights.ts';
import type { Embedder } from '../src/vision/types.ts';
import { createFaceRecognitionEmbedder } from '../src/vision/embedders/faceRecognitionNet.ts';
import { galleryFile, haveFixtures, PEOPLE } from './helpers/fixtures.ts';

/** The slice of face-api's node API this test uses. */
interface FaceApiRecognition {
  tf: { engine(): unknown };
  nets: {
    faceRecognitionNet: {
      loadFromDisk(dir: string): Promise<void>;
      computeFaceDescriptor(input: Tensor3D): Promise<Float32Array | Float32Array[]>;
      dispose(): void;
    };
  };
}

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + v * b[i], 0);
const cosine = (a: Float32Array, b: Float32Array): number => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
const distance = (a: Float32Array, b: Float32Array): number => Math.hypot(...a.map((v, i) => v - b[i]));

/**
 * Over every (anchor, positive, negative) triplet — anchor and positive two different crops of one
 * person, negative any crop of anyone else — the share where the anchor is strictly nearer to
 * the positive than to the negative.
 */
function tripletAccuracy(embeddings: Float32Array[], labels: string[]): { ok: number; total: number } {
  let ok = 0;
  let total = 0;
  for (let a = 0; a < embeddings.length; a++) {
    for (let p = 0; p < embeddings.length; p++) {
      if (p === a || labels[p] !== labels[a]) continue;
      const dp = distance(embeddings[a], embeddings[p]);
      for (let n = 0; n < embeddings.length; n++) {
        if (labels[n] === labels[a]) continue;
        total++;
        if (dp < distance(embeddings[a], embeddings[n])) ok++;
      }
    }
  }
  return { ok, total };
}

describe('tripletAccuracy', () => {
  it('counts strict wins over all anchor/positive/negative triplets', () => {
    const e = [[0, 0], [0, 1], [5, 0]].map((v) => Float32Array.from(v));
    // a=0: p=1 (d 1) vs n=2 (d 5) ok; a=1: p=0 (d 1) vs n=2 (d √26) ok; the lone "b" has no positive.
    expect(tripletAccuracy(e, ['a', 'a', 'b'])).toEqual({ ok: 2, total: 2 });
  });
});

describe.skipIf(!haveFixtures('embedder.test.ts: gallery crops'))('faceRecognitionNet embedder (gallery crops)', () => {
  let embedder: Embedder;
  let faceapi: FaceApiRecognition;
  const crops: Tensor3D[] = [];
  const labels: string[] = [];

  beforeAll(async () => {
    await selectBackend('wasm');
    // face-api's node-wasm build is CommonJS and registers on the same tfjs-core instance.
    faceapi = createRequire(join(PROJECT_ROOT, 'package.json'))('@vladmandic/face-api/dist/face-api.node-wasm.js');
    await faceapi.nets.faceRecognitionNet.loadFromDisk(join(packageDir('@vladmandic/face-api'), 'model'));
    embedder = await createFaceRecognitionEmbedder();
    for (const person of PEOPLE) {
      for (let i = 1; i <= 5; i++) {
        crops.push(imageToTensor(await decodeImage(galleryFile(person, i))));
        labels.push(person);
      }
    }
  });

  afterAll(() => {
    tf.dispose(crops);
    embedder?.dispose();
    faceapi?.nets.faceRecognitionNet.dispose();
  });

  it('shares the tfjs engine with face-api', () => {
    expect(faceapi.tf.engine()).toBe(tf.engine());
    expect(embedder.inputSize).toBe(150);
  });

  it('matches face-api computeFaceDescriptor (one crop at a time) in one batched pass, cos ≥ 0.9999', async () => {
    const batch = tf.stack(crops) as Tensor4D;
    const before = tf.memory().numTensors;
    const ours = await embedder.embed(batch);
    expect(tf.memory().numTensors).toBe(before);
    batch.dispose();
    expect(ours).toHaveLength(crops.length);
    for (let i = 0; i < crops.length; i++) {
      const ref = (await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(crops[i])) as Float32Array;
      expect(ref).toHaveLength(128);
      expect(cosine(ours[i], ref)).toBeGreaterThanOrEqual(0.9999);
      expect(Math.hypot(...ours[i])).toBeCloseTo(1, 5);
    }
  });

  it('gives each row the same result alone as inside a batch', async () => {
    const batch = tf.stack(crops.slice(0, 8)) as Tensor4D;
    const single = tf.expandDims(crops[3], 0) as Tensor4D;
    const [rows, [alone]] = [await embedder.embed(batch), await embedder.embed(single)];
    tf.dispose([batch, single]);
    expect(cosine(rows[3], alone)).toBeGreaterThan(0.99999);
  });

  it('puts each crop nearer its own person than anyone else in ≥ 95 % of triplets', async () => {
    const batch = tf.stack(crops) as Tensor4D;
    const embeddings = await embedder.embed(batch);
    batch.dispose();
    const { ok, total } = tripletAccuracy(embeddings, labels);
    expect(total).toBe(40 * 4 * 35);
    console.info(`gallery triplet accuracy: ${ok}/${total} = ${((100 * ok) / total).toFixed(2)} %`);
    expect(ok / total).toBeGreaterThanOrEqual(0.95);
  });

  it('returns [] for an empty batch and rejects a wrong shape', async () => {
    const empty = tf.zeros([0, 150, 150, 3]) as Tensor4D;
    const wrong = tf.zeros([1, 112, 112, 3]) as Tensor4D;
    await expect(embedder.embed(empty)).resolves.toEqual([]);
    await expect(embedder.embed(wrong)).rejects.toThrow(/\[n, 150, 150, 3\]/);
    tf.dispose([empty, wrong]);
  });
});

