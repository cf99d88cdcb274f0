import { describe, expect, it } from 'vitest';
import { BackendError, selectBackend } from '../src/vision/backend.ts';
import { tf } from '../src/vision/tf.ts';

describe('backend selection', () => {
  it('refuses a forced GPU backend that is not installed, saying how to install it', async () => {
    const err = await selectBackend('tensorflow-gpu').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/tensorflow-gpu" is not available/);
    expect((err as Error).message).toMatch(/npm install @tensorflow\/tfjs-node-gpu/);
  });

  it('falls back on auto and reports why each earlier backend was skipped', async () => {
    const info = await selectBackend('auto');
    // On these machines tfjs-node(-gpu) cannot install, so wasm runs; a machine with them gets a GPU/CPU name.
    expect(['tensorflow-gpu', 'tensorflow', 'wasm']).toContain(info.name);
    expect(tf.getBackend()).toBe(info.name === 'wasm' ? 'wasm' : 'tensorflow');
    if (info.name === 'wasm') {
      expect(info.fallbacks.map((f) => f.split(':')[0])).toEqual(['tensorflow-gpu', 'tensorflow']);
      expect(info.device).toMatch(/WebAssembly/);
    }
  });

  it('switches to a forced cpu backend and computes on it', async () => {
    const info = await selectBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(Array.from(tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync()))).toEqual([2, 3]);
  });
});
