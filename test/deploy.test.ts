// Static checks of the deployment files. Docker cannot run on the CI machines, so the Dockerfile and
// docker-compose.yml are parsed and held to what the README promises: a CUDA image matching
// tfjs-node-gpu 4.x and a CPU target, a non-root user, volumes, a health check on /healthz, a GPU
// reservation, an ingest server, and secrets only from a git-ignored .env.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import { PROJECT_ROOT } from '../src/vision/weights.ts';

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');

// ---- a Dockerfile reader: enough of the syntax for these checks, not a full parser -------------------

interface Instruction {
  cmd: string;
  args: string;
}
interface Stage {
  name: string;
  base: string;
  body: Instruction[];
}

function parseDockerfile(text: string): { stages: Stage[] } {
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l)) // comments (a `# syntax=` directive included)
    .join('\n')
    .replace(/\s*\\\n\s*/g, ' ') // line continuations
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, cmd, rest] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instr = { cmd: cmd.toUpperCase(), args: rest };
    if (instr.cmd === 'ARG' && stages.length === 0) {
      const [k, v = ''] = rest.split('=');
      args[k] = v;
    } else if (instr.cmd === 'FROM') {
      const [, image, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      const base = image.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? `<unset ${k}>`);
      stages.push({ name: name ?? String(stages.length), base, body: [] });
    } else {
      stages.at(-1)?.body.push(instr);
    }
  }
  return { stages };
}

/** Exec-form JSON (`["node", "x"]`) as its list; shell form as one string. */
function execForm(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : [args];
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const stage = (name: string) => {
  const s = dockerfile.stages.find((x) => x.name === name);
  if (!s) throw new Error(`Dockerfile has no stage "${name}"`);
  return s;
};
const all = (s: Stage, cmd: string) => s.body.filter((i) => i.cmd === cmd).map((i) => i.args);
const last = (s: Stage, cmd: string) => all(s, cmd).at(-1);
/** ENV as key → value (both the `K=V K2=V2` and the `K V` forms). */
function envOf(s: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const a of all(s, 'ENV')) {
    if (!a.includes('=')) {
      const [k, ...v] = a.split(/\s+/);
      env[k] = v.join(' ');
      continue;
    }
    for (const m of a.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]] = m[2].replace(/^"|"$/g, '');
  }
  return env;
}

describe('Dockerfile', () => {
  it('builds a GPU target on the CUDA 11.2 + cuDNN 8 runtime that libtensorflow 2.9 needs, and it is the default', () => {
    const gpu = stage('gpu');
    expect(gpu.base).toMatch(/^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu\d+\.\d+$/);
    expect(dockerfile.stages.at(-1)?.name).toBe('gpu'); // `docker build .` without --target builds the last stage
    expect(stage('deps-gpu').base).toBe(gpu.base); // native modules built on the OS they run on
    const install = all(stage('deps-gpu'), 'RUN').join('\n');
    expect(install).toMatch(/npm rebuild [^\n]*@tensorflow\/tfjs-node-gpu/);
    expect(install).toMatch(/tfjs_binding\.node/); // fails the build when the optional GPU package was skipped
    expect(envOf(gpu)).toMatchObject({ FACECAST_BACKEND: 'tensorflow-gpu', TF_FORCE_GPU_ALLOW_GROWTH: 'true' });
  });

  it('builds a CPU target on Node 20 with the wasm backend', () => {
    const cpu = stage('cpu');
    expect(cpu.base).toMatch(/^node:20[-.]/);
    expect(envOf(cpu).FACECAST_BACKEND).toBe('wasm');
    expect(all(stage('deps-cpu'), 'RUN').join('\n')).toMatch(/rm -rf node_modules\/@tensorflow\/tfjs-node /);
  });

  it('copies only from stages defined before', () => {
    const names = dockerfile.stages.map((s) => s.name);
    dockerfile.stages.forEach((s, i) => {
      for (const copy of all(s, 'COPY')) {
        const from = /--from=(\S+)/.exec(copy)?.[1];
        if (from) expect(names.slice(0, i), `${s.name}: COPY --from=${from}`).toContain(from);
      }
    });
  });

  for (const name of ['gpu', 'cpu']) {
    describe(`runtime target "${name}"`, () => {
      it('runs `facecast serve` as a non-root user in production mode', () => {
        const s = stage(name);
        const user = last(s, 'USER');
        expect(user).toBeTruthy();
        expect(user).not.toMatch(/^(root|0)(:|$)/);
        expect([...execForm(last(s, 'ENTRYPOINT') ?? '[]'), ...execForm(last(s, 'CMD') ?? '[]')]).toEqual([
          'node',
          'bin/facecast.js',
          'serve',
        ]);
        expect(existsSync(join(PROJECT_ROOT, 'bin/facecast.js'))).toBe(true);
        expect(envOf(s)).toMatchObject({ NODE_ENV: 'production', FACECAST_DATA: '/data', FACECAST_PORT: '8686' });
        // The user is created in this stage, with a fixed uid so volumes keep their owner across targets.
        expect(all(s, 'RUN').join('\n')).toMatch(new RegExp(`useradd [^\\n]*--uid 10001 [^\\n]*${user}`));
      });

      it('keeps data and models in volumes, exposes 8686 and checks /healthz', () => {
        const s = stage(name);
        expect(execForm(last(s, 'VOLUME') ?? '[]')).toEqual(['/data', '/data/models']);
        expect(all(s, 'EXPOSE')).toContain('8686');
        const health = last(s, 'HEALTHCHECK') ?? '';
        expect(health).toMatch(/^--interval=\S+ --timeout=\S+ --start-period=\S+ --retries=\d+ CMD \[/);
        const probe = execForm(health.slice(health.indexOf('CMD ') + 4));
        expect(probe.slice(0, 2)).toEqual(['node', '-e']);
        expect(probe[2]).toMatch(/http:\/\/127\.0\.0\.1:'\+\(process\.env\.FACECAST_PORT\|\|8686\)\+'\/healthz'/);
      });
    });
  }
});

// ---- docker-compose.yml ----------------------------------------------------------------------------

type Json = Record<string, unknown>;
const compose = parseYaml(read('docker-compose.yml')) as {
  services: Record<string, Json & { ports?: string[]; volumes?: string[]; environment?: Record<string, string> }>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { content?: string }>;
};
const facecast = compose.services.facecast;
const mediamtx = compose.services.mediamtx;

/** "8890:8890/udp" → { host: 8890, container: 8890, protocol: 'udp' }. */
function port(spec: string) {
  const [, host, container, protocol = 'tcp'] = /^(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(spec) ?? [];
  return { host: Number(host ?? container), container: Number(container), protocol };
}

describe('docker-compose.yml', () => {
  it('has the facecast service and an ingest server, nothing else', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['facecast', 'mediamtx']);
  });

  it('facecast: built from the gpu target, port 8686, data and models on named volumes', () => {
    expect(facecast.build).toEqual({ context: '.', target: 'gpu' });
    stage('gpu');
    expect(facecast.ports?.map(port)).toEqual([{ host: 8686, container: 8686, protocol: 'tcp' }]);
    const mounts = Object.fromEntries((facecast.volumes ?? []).map((v) => v.split(':').reverse()));
    expect(mounts).toEqual({ '/data': 'facecast-data', '/data/models': 'facecast-models' });
    for (const v of Object.values(mounts)) expect(Object.keys(compose.volumes ?? {})).toContain(v);
  });

  it('facecast: reserves an NVIDIA GPU and refuses to fall back to the CPU', () => {
    const devices = (facecast.deploy as { resources: { reservations: { devices: Json[] } } }).resources.reservations.devices;
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ driver: 'nvidia', capabilities: ['gpu'] });
    expect(devices[0].count === 'all' || Number(devices[0].count) >= 1).toBe(true);
    expect(facecast.environment).toMatchObject({ NODE_ENV: 'production', FACECAST_BACKEND: 'tensorflow-gpu', FACECAST_DATA: '/data' });
  });

  it('facecast: health check on /healthz of the port it listens on', () => {
    const health = facecast.healthcheck as { test: string[]; interval: string; start_period: string };
    expect(health.test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(health.test[3]).toContain(`http://127.0.0.1:${facecast.environment?.FACECAST_PORT}/healthz`);
    expect(health.start_period).toMatch(/^\d+s$/);
  });

  it('facecast: secrets only from .env; its inline config is valid for facecast', () => {
    expect(facecast.env_file).toBe('.env');
    for (const key of ['FACECAST_API_TOKEN', 'FACECAST_OUTPUT_KEY']) expect(facecast.environment).not.toHaveProperty(key);
    const [mount] = facecast.configs as { source: string; target: string }[];
    expect(facecast.environment?.FACECAST_CONFIG).toBe(mount.target);
    const content = compose.configs?.[mount.source]?.content ?? '';
    const dir = mkdtempSync(join(tmpdir(), 'facecast-compose-'));
    try {
      writeFileSync(join(dir, 'gpu.json'), content);
      const config = loadConfig({ file: join(dir, 'gpu.json'), env: {} });
      expect(config.vision.pool.workers).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mediamtx: pinned image, RTMP 1935 and SRT 8890/udp published, RTSP internal, its config file mounted', () => {
    expect(mediamtx.image).toMatch(/^bluenviron\/mediamtx:\d+\.\d+\.\d+$/);
    expect(mediamtx.ports?.map(port)).toEqual([
      { host: 1935, container: 1935, protocol: 'tcp' },
      { host: 8890, container: 8890, protocol: 'udp' },
    ]);
    expect(mediamtx.expose).toEqual(['8554']);
    const [hostPath, target, mode] = (mediamtx.volumes ?? [])[0].split(':');
    expect([target, mode]).toEqual(['/mediamtx.yml', 'ro']);
    expect(existsSync(join(PROJECT_ROOT, hostPath))).toBe(true);
  });

  it('facecast: serve pulls the match from mediamtx as channel 1, with the reader credentials', () => {
    const command = facecast.command as string[];
    expect(command.slice(0, 2)).toEqual(['serve', '--source']);
    const url = new URL(command[2]!.replace(/\$\{(\w+)\}/g, 'x'));
    expect([url.protocol, url.hostname, url.port]).toEqual(['rtmp:', 'mediamtx', '1935']);
    expect(command[2]).toContain('${MEDIAMTX_READ_USER}');
    expect(command[2]).toContain('${MEDIAMTX_READ_PASS}');
  });

  it('mediamtx: publish and read credentials come from .env and must be set', () => {
    const env = mediamtx.environment ?? {};
    const users = (parseYaml(read('config/mediamtx.yml')) as { authInternalUsers: { permissions: { action: string }[] }[] })
      .authInternalUsers;
    // The MTX_* overrides address users by position: 0 publishes, 1 reads.
    expect(users.map((u) => u.permissions.map((p) => p.action))).toEqual([['publish'], ['read']]);
    for (const [i, who] of [[0, 'PUBLISH'], [1, 'READ']] as const) {
      expect(env[`MTX_AUTHINTERNALUSERS_${i}_USER`]).toMatch(new RegExp(`^\\$\\{MEDIAMTX_${who}_USER:\\?.+\\}$`));
      expect(env[`MTX_AUTHINTERNALUSERS_${i}_PASS`]).toMatch(new RegExp(`^\\$\\{MEDIAMTX_${who}_PASS:\\?.+\\}$`));
    }
  });
});

// ---- secrets ---------------------------------------------------------------------------------------

describe('secrets', () => {
  const example = read('.env.example');
  const entries = example
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'))
    .map((l) => l.split('='));

  it('.env.example lists every variable compose and facecast need, with no value filled in', () => {
    const keys = entries.map(([k]) => k);
    // Interpolated variables, from the parsed file so that comments do not count.
    const interpolated = [...JSON.stringify(compose).matchAll(/\$\{(\w+)/g)].map((m) => m[1]);
    expect(interpolated.length).toBeGreaterThan(0);
    for (const key of ['FACECAST_API_TOKEN', 'FACECAST_OUTPUT_KEY', ...interpolated]) expect(keys).toContain(key);
    // Empty, not "changeme": production refuses an empty token, but would accept a copied placeholder.
    for (const [key, value] of entries) expect(value, key).toBe('');
  });

  it('.env is ignored by git and kept out of the Docker build context', () => {
    const lines = (path: string) => read(path).split('\n').map((l) => l.trim());
    expect(lines('.gitignore')).toContain('.env');
    expect(lines('.dockerignore')).toEqual(expect.arrayContaining(['.env', 'node_modules']));
  });
});
