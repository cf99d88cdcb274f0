// Picks the TensorFlow.js backend at run time. tfjs-node(-gpu) are optionalDependencies whose
// installers download libtensorflow, so they are imported dynamically and may well be absent.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, delimiter, dirname, join } from 'node:path';
import { tf } from './tf.ts';
import { PROJECT_ROOT } from './weights.ts';

export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

/** What the process can see of CUDA: the driver's device, and the libraries libtensorflow 2.9 dlopens. */
export interface CudaCheck {
  /** An NVIDIA device node or driver is visible (/dev/nvidia0 or /proc/driver/nvidia/version). */
  device: boolean;
  /** Per library (libcudart, libcudnn): the path of the version libtensorflow 2.9 needs, or null. */
  libraries: Record<string, string | null>;
  /** What is missing, in words; empty when the GPU should be used. */
  problems: string[];
  /** One line for logs: "NVIDIA device visible; libcudart.so.11.0 (/usr/local/cuda/lib64); …". */
  summary: string;
}

export interface BackendInfo {
  /** What runs the models. */
  name: BackendName;
  /** Human words for the device: "CUDA GPU", "CPU (libtensorflow)", "CPU (WebAssembly SIMD)", "CPU (JavaScript)". */
  device: string;
  /** Why earlier candidates were skipped, in order; empty when the first choice loaded. */
  fallbacks: string[];
  /** Set when a GPU build loaded but no GPU was usable: it then silently computes on the CPU. */
  warning?: string;
  /** Set whenever tensorflow-gpu was a candidate (auto or forced), whether or not it was chosen. */
  cuda?: CudaCheck;
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

// tfjs-node-gpu 4.x ships libtensorflow 2.9, built against CUDA 11.2 and cuDNN 8.1. It dlopens these
// sonames at run time and, when one is missing, logs to stderr and quietly skips the GPU; so look first.
const CUDA_LIBRARIES = [
  { lib: 'libcudart', soname: 'libcudart.so.11', needs: 'CUDA 11.x' },
  { lib: 'libcudnn', soname: 'libcudnn.so.8', needs: 'cuDNN 8.x' },
] as const;

export interface CudaSearch {
  /** Output of `ldconfig -p` (empty when ldconfig is unavailable). */
  ldconfig: string;
  /** Folders to list: LD_LIBRARY_PATH entries, then /usr/local/cuda*\/lib64. */
  dirs: string[];
  device: boolean;
}

/** Pure part of the check, so tests can feed it fake ldconfig output and folders. */
export function checkCuda({ ldconfig, dirs, device }: CudaSearch): CudaCheck {
  // Candidate files as [file name, full path]: ldconfig's cache first, then the folders' contents.
  const files: [string, string][] = [];
  for (const m of ldconfig.matchAll(/^\s*(\S+)\s+\(.*\)\s+=>\s+(\S+)\s*$/gm)) files.push([m[1], m[2]]);
  for (const dir of dirs) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue; // a listed folder that does not exist is normal (LD_LIBRARY_PATH leftovers)
    }
    for (const n of names) files.push([n, join(dir, n)]);
  }
  const libraries: Record<string, string | null> = {};
  const problems: string[] = [];
  const parts: string[] = [device ? 'NVIDIA device visible' : 'no NVIDIA device'];
  if (!device) problems.push('no NVIDIA GPU visible (/dev/nvidia0 and /proc/driver/nvidia/version missing)');
  for (const { lib, soname, needs } of CUDA_LIBRARIES) {
    const right = files.find(([n]) => n.startsWith(soname));
    libraries[lib] = right ? right[1] : null;
    if (right) {
      parts.push(`${right[0]} (${dirname(right[1])})`);
      continue;
    }
    const other = files.find(([n]) => n.startsWith(`${lib}.so`));
    const why = other
      ? `${soname} not found (only ${other[0]}; libtensorflow 2.9 needs ${needs})`
      : `${soname} not found`;
    parts.push(why);
    problems.push(why);
  }
  return { device, libraries, problems, summary: parts.join('; ') };
}

function readLdconfig(): string {
  // ldconfig lives in /sbin on Debian/Ubuntu, which is not always on a service's PATH.
  for (const bin of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      return execFileSync(bin, ['-p'], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      // not there, or no cache (musl): try the next one, then rely on the folders
    }
  }
  return '';
}

function cudaDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean);
  let local: string[] = [];
  try {
    local = readdirSync('/usr/local')
      .filter((n) => n.startsWith('cuda'))
      .map((n) => join('/usr/local', n, 'lib64'));
  } catch {
    // no /usr/local: nothing to add
  }
  return [...fromEnv, ...local];
}

/** The real look at this machine. */
export function probeCuda(): CudaCheck {
  const device = existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
  return checkCuda({ ldconfig: readLdconfig(), dirs: cudaDirs(), device });
}

/** How selectBackend reaches the outside world; tests replace these to walk the GPU paths on a CPU machine. */
export interface BackendProbes {
  importPackage(pkg: string): Promise<unknown>;
  cuda(): CudaCheck;
}

const realProbes: BackendProbes = {
  // Dynamic import by a name held in a variable, so bundlers and tsc do not insist the package exists.
  importPackage: (pkg) => import(pkg),
  cuda: probeCuda,
};

interface Loaded {
  device: string;
  warning?: string;
}

async function tryBackend(name: BackendName, forced: boolean, probes: BackendProbes, cuda: CudaCheck | undefined): Promise<Loaded> {
  switch (name) {
    case 'tensorflow-gpu': {
      await probes.importPackage('@tensorflow/tfjs-node-gpu');
      const problems = cuda?.problems ?? [];
      if (problems.length > 0 && forced) {
        // Asked for the GPU: running on the CPU instead would look healthy and be 10× too slow on air.
        throw new BackendError(
          `backend "tensorflow-gpu" was asked for but cannot use a GPU: ${problems.join('; ')}. ` +
            'libtensorflow would silently compute on the CPU, so facecast refuses to start. Check the NVIDIA driver, ' +
            'the container GPU reservation (docker compose deploy.resources.reservations.devices, or docker run --gpus all) ' +
            'and CUDA 11.2 + cuDNN 8.1 libraries; or choose --backend auto / FACECAST_BACKEND=auto to accept the CPU',
        );
      }
      if (!(await tf.setBackend('tensorflow'))) throw new Error('backend "tensorflow" did not initialise');
      if (problems.length === 0) {
        const libs = Object.values(cuda?.libraries ?? {}).map((p) => (p ? basename(p) : '?'));
        return { device: `CUDA GPU (${libs.join(', ')})` };
      }
      return {
        device: 'CPU (libtensorflow; no usable GPU)',
        warning: `tfjs-node-gpu loaded but the GPU is not usable (${problems.join('; ')}): models run on the CPU. ` +
          'Check the driver, CUDA 11.2/cuDNN 8.1 and the container GPU reservation.',
      };
    }
    case 'tensorflow':
      await probes.importPackage('@tensorflow/tfjs-node');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('backend "tensorflow" did not initialise');
      return { device: 'CPU (libtensorflow)' };
    case 'wasm': {
      const wasm = (await probes.importPackage('@tensorflow/tfjs-backend-wasm')) as {
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
 * install it (a forced tensorflow-gpu must also find an NVIDIA device and the CUDA libraries);
 * "auto" tries tensorflow-gpu, tensorflow, wasm, cpu in that order. `probes` is for tests.
 */
export async function selectBackend(choice: BackendChoice = 'auto', probes: BackendProbes = realProbes): Promise<BackendInfo> {
  if (probes === realProbes && active && (choice === 'auto' || choice === active.name)) return active;
  const order: BackendName[] = choice === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [choice];
  // Looked at before the import, so the report says what CUDA the machine has even when tfjs-node-gpu is absent.
  const cuda = order.includes('tensorflow-gpu') ? probes.cuda() : undefined;
  const fallbacks: string[] = [];
  for (const name of order) {
    try {
      const { device, warning } = await tryBackend(name, choice !== 'auto', probes, cuda);
      await tf.ready();
      active = { name, device, fallbacks, ...(warning ? { warning } : {}), ...(cuda ? { cuda } : {}) };
      return active;
    } catch (err) {
      if (err instanceof BackendError) throw err;
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      const cudaNote = name === 'tensorflow-gpu' && cuda ? ` [CUDA: ${cuda.summary}]` : '';
      if (choice !== 'auto') {
        throw new BackendError(`backend "${name}" is not available (${reason}); ${INSTALL_HINT[name]}, or use --backend auto${cudaNote}`);
      }
      // The CUDA note rides in the fallback reason because that is what the start log prints.
      fallbacks.push(`${name}: ${reason}${cudaNote}`);
    }
  }
  throw new BackendError(`no TensorFlow.js backend could start: ${fallbacks.join('; ')}`);
}
