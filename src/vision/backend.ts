// Picks the TensorFlow.js backend at run time. tfjs-node(-gpu) are optionalDependencies whose
// installers download libtensorflow, so they are imported dynamically and may well be absent.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tf } from './tf.ts';
import { PROJECT_ROOT } from './weights.ts';

export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface BackendInfo {
  /** What runs the models. */
  name: BackendName;
  /** Human words for the device: "CUDA GPU", "CPU (libtensorflow)", "CPU (WebAssembly SIMD)", "CPU (JavaScript)". */
  device: string;
  /** Why earlier candidates were skipped, in order; empty when the first choice loaded. */
  fallbacks: string[];
  /** Set when a GPU build loaded but no GPU was visible: it then silently computes on the CPU. */
  warning?: string;
}

export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

const INSTALL_HINT: Record<BackendName, string> = {
  'tensorflow-gpu':
    'install it with "npm install @tensorflow/tfjs-node-gpu" on a machine with internet access, CUDA 11.2 and cuDNN 8.1',
  tensorflow: 'install it with "npm install @tensorflow/tfjs-node" on a machine with internet access',
  wasm: 'install it with "npm install @tensorflow/tfjs-backend-wasm"',
  cpu: 'install it with "npm install @tensorflow/tfjs-backend-cpu"',
};

const require = createRequire(join(PROJECT_ROOT, 'package.json'));

/** Dynamic import by a name held in a variable, so bundlers and tsc do not insist the package exists. */
async function importOptional(pkg: string): Promise<unknown> {
  return import(pkg);
}

/** True when the process can see an NVIDIA GPU through the driver (tfjs-node-gpu falls back silently otherwise). */
async function cudaDeviceVisible(): Promise<boolean> {
  const { existsSync } = await import('node:fs');
  return existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
}

async function tryBackend(name: BackendName): Promise<{ device: string; warning?: string }> {
  switch (name) {
    case 'tensorflow-gpu': {
      await importOptional('@tensorflow/tfjs-node-gpu');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('backend "tensorflow" did not initialise');
      const gpu = await cudaDeviceVisible();
      return gpu
        ? { device: 'CUDA GPU' }
        : {
            device: 'CPU (libtensorflow; no GPU visible)',
            warning:
              'tfjs-node-gpu loaded but no NVIDIA GPU is visible (/dev/nvidia0 missing): models run on the CPU. ' +
              'Check the driver, CUDA 11.2/cuDNN 8.1 and the container GPU reservation.',
          };
    }
    case 'tensorflow':
      await importOptional('@tensorflow/tfjs-node');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('backend "tensorflow" did not initialise');
      return { device: 'CPU (libtensorflow)' };
    case 'wasm': {
      const wasm = (await importOptional('@tensorflow/tfjs-backend-wasm')) as {
        setWasmPaths: (p: string | Record<string, string>, usePlatformFetch?: boolean) => void;
      };
      // Load the .wasm binaries from node_modules, never from a CDN.
      const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(dist + '/');
      if (!(await tf.setBackend('wasm'))) throw new Error('backend "wasm" did not initialise');
      return { device: 'CPU (WebAssembly SIMD)' };
    }
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('backend "cpu" did not initialise');
      return { device: 'CPU (JavaScript, slow)' };
  }
}

let active: BackendInfo | undefined;

/** The backend selected by selectBackend(), or undefined before. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

/**
 * Selects the backend: a forced choice must load or this throws a BackendError saying how to
 * install it; "auto" tries tensorflow-gpu, tensorflow, wasm, cpu in that order.
 */
export async function selectBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (active && (choice === 'auto' || choice === active.name)) return active;
  const order: BackendName[] = choice === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [choice];
  const fallbacks: string[] = [];
  for (const name of order) {
    try {
      const { device, warning } = await tryBackend(name);
      await tf.ready();
      active = { name, device, fallbacks, ...(warning ? { warning } : {}) };
      return active;
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      if (choice !== 'auto') {
        throw new BackendError(`backend "${name}" is not available (${reason}); ${INSTALL_HINT[name]}, or use --backend auto`);
      }
      fallbacks.push(`${name}: ${reason}`);
    }
  }
  throw new BackendError(`no TensorFlow.js backend could start: ${fallbacks.join('; ')}`);
}
