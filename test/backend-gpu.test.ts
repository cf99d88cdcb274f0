// The GPU side of backend selection. tfjs-node-gpu cannot be installed on these machines (its
// installer downloads libtensorflow) and they have no NVIDIA driver, so the CUDA look-up is fed fake
// ldconfig output and folders, and selectBackend gets fake probes; the real-package paths are in
// backend.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BackendError, checkCuda, probeCuda, selectBackend, type BackendProbes, type CudaCheck } from '../src/vision/backend.ts';
import { tf } from '../src/vision/tf.ts';

const root = mkdtempSync(join(tmpdir(), 'facecast-cuda-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string, files: string[]): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), '');
  return dir;
}

const LDCONFIG = [
  '1234 libs found in cache `/etc/ld.so.cache\'',
  '\tlibcudnn.so.8 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8',
  '\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6',
].join('\n');

const allFound: CudaCheck = checkCuda({ ldconfig: LDCONFIG, dirs: [folder('cuda-ok', ['libcudart.so.11.0'])], device: true });
const noDevice: CudaCheck = { ...allFound, device: false, problems: ['no NVIDIA GPU visible (test)'], summary: 'no NVIDIA device (test)' };

/** Probes where importing tfjs-node-gpu works: it registers a "tensorflow" backend that is really tfjs's CPU one. */
function gpuPackagePresent(cuda: CudaCheck): BackendProbes {
  return {
    cuda: () => cuda,
    importPackage: async (pkg) => {
      if (pkg !== '@tensorflow/tfjs-node-gpu') return import(pkg);
      if (!tf.findBackendFactory('tensorflow')) tf.registerBackend('tensorflow', () => new MathBackendCPU(), 0);
      return {};
    },
  };
}

const gpuPackageAbsent = (cuda: CudaCheck): BackendProbes => ({
  cuda: () => cuda,
  importPackage: async (pkg) => {
    if (pkg.startsWith('@tensorflow/tfjs-node')) throw new Error(`Cannot find package '${pkg}'`);
    return import(pkg);
  },
});

describe('CUDA library check', () => {
  it('finds libcudart in a folder and libcudnn in the ldconfig cache, with where they are', () => {
    expect(allFound.problems).toEqual([]);
    expect(allFound.libraries.libcudart).toBe(join(root, 'cuda-ok', 'libcudart.so.11.0'));
    expect(allFound.libraries.libcudnn).toBe('/usr/lib/x86_64-linux-gnu/libcudnn.so.8');
    expect(allFound.summary).toMatch(/NVIDIA device visible; libcudart\.so\.11\.0 .*; libcudnn\.so\.8 \(\/usr\/lib/);
  });

  it('names each missing library and a CUDA version libtensorflow 2.9 cannot use', () => {
    const wrong = checkCuda({ ldconfig: '', dirs: [folder('cuda-12', ['libcudart.so.12']), join(root, 'nope')], device: false });
    expect(wrong.libraries).toEqual({ libcudart: null, libcudnn: null });
    expect(wrong.problems).toEqual([
      'no NVIDIA GPU visible (/dev/nvidia0 and /proc/driver/nvidia/version missing)',
      'libcudart.so.11 not found (only libcudart.so.12; libtensorflow 2.9 needs CUDA 11.x)',
      'libcudnn.so.8 not found',
    ]);
  });

  it('looks at this machine without throwing', () => {
    const here = probeCuda();
    expect(typeof here.device).toBe('boolean');
    expect(here.summary.length).toBeGreaterThan(0);
  });
});

describe('backend selection on the GPU path', () => {
  it('forced tensorflow-gpu without the package: says how to install it and what CUDA it saw', async () => {
    const err = await selectBackend('tensorflow-gpu', gpuPackageAbsent(noDevice)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/"tensorflow-gpu" is not available \(Cannot find package/);
    expect((err as Error).message).toMatch(/npm install @tensorflow\/tfjs-node-gpu/);
    expect((err as Error).message).toMatch(/\[CUDA: no NVIDIA device \(test\)\]/);
  });

  it('forced tensorflow-gpu with the package but no GPU: refuses instead of running on the CPU', async () => {
    const err = await selectBackend('tensorflow-gpu', gpuPackagePresent(noDevice)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/asked for but cannot use a GPU: no NVIDIA GPU visible \(test\)/);
    expect((err as Error).message).toMatch(/refuses to start/);
    expect((err as Error).message).toMatch(/FACECAST_BACKEND=auto/);
  });

  it('auto with the package but no GPU: runs, and says loudly that it is on the CPU', async () => {
    const info = await selectBackend('auto', gpuPackagePresent(noDevice));
    expect(info.name).toBe('tensorflow-gpu');
    expect(info.device).toMatch(/^CPU \(libtensorflow; no usable GPU\)/);
    expect(info.warning).toMatch(/GPU is not usable \(no NVIDIA GPU visible \(test\)\)/);
    expect(info.cuda).toBe(noDevice);
  });

  it('auto without the package: falls back and the fallback reason carries the CUDA report', async () => {
    const info = await selectBackend('auto', gpuPackageAbsent(noDevice));
    expect(info.name).toBe('wasm');
    expect(info.fallbacks).toHaveLength(2);
    expect(info.fallbacks[0]).toMatch(/^tensorflow-gpu: Cannot find package .*\[CUDA: no NVIDIA device \(test\)\]$/);
    expect(info.fallbacks[1]).toMatch(/^tensorflow: Cannot find package/);
    expect(info.cuda).toBe(noDevice);
  });

  it('forced tensorflow-gpu with a device and the libraries: reports the CUDA GPU and its libraries', async () => {
    const info = await selectBackend('tensorflow-gpu', gpuPackagePresent(allFound));
    expect(info).toMatchObject({ name: 'tensorflow-gpu', device: 'CUDA GPU (libcudart.so.11.0, libcudnn.so.8)', fallbacks: [] });
    expect(info.warning).toBeUndefined();
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it('never looks for CUDA when the GPU is not a candidate', async () => {
    const probes: BackendProbes = {
      cuda: () => {
        throw new Error('CUDA probed for a CPU backend');
      },
      importPackage: (pkg) => import(pkg),
    };
    const info = await selectBackend('cpu', probes);
    expect(info.name).toBe('cpu');
    expect(info.cuda).toBeUndefined();
  });
});
