// What an operator may attach as a source over the API or the dashboard: local files only under
// the configured media roots (symlinks resolved), capture devices only when listed, network hosts
// judged by hostRules.ts, and no listener on every interface unless allowed. Sources named on the
// command line (serve --source, analyze) and the demo's own video are trusted and skip this.
//
// Every refusal of a local path reads the same, whether the path is missing, unreadable, outside
// the roots or not a regular file (a FIFO, /dev/zero, /proc/…): the answer must not tell which.
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Logger } from '../shared/log.ts';
import { silentLogger } from '../shared/log.ts';
import type { IngestConfig } from './config.ts';
import { HlsProxy } from './hlsProxy.ts';
import { hostRules, isAnyAddress, isMulticastAddress, judgeHost, type HostRules, type HostVerdict } from './hostRules.ts';
import { InputRefusedError, parseInput, redact } from './url.ts';

export type SourcePolicyConfig = Pick<IngestConfig, 'mediaRoots' | 'captureDevices' | 'allowHosts' | 'denyHosts' | 'onlyAllowedHosts' | 'listenAnyAddress'>;

/** A source the policy refuses; `message` says what to do and names no detail of the file system. */
export class SourceRefusedError extends InputRefusedError {
  constructor(message: string) {
    super(message);
    this.name = 'SourceRefusedError';
  }
}

const HOST_WHY: Record<Exclude<HostVerdict, { ok: true }>['why'], string> = {
  denied: 'it is on ingest.denyHosts',
  internal: 'it is this machine or on a private or link-local network; if it is your encoder or stream server, add it to ingest.allowHosts',
  'not-allowed': 'only the hosts on ingest.allowHosts may be used (ingest.onlyAllowedHosts)',
  unresolved: 'the host name does not resolve; check its spelling',
};

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export class SourcePolicy {
  private readonly rules: HostRules;
  private proxy: HlsProxy | null = null;

  constructor(
    private readonly config: SourcePolicyConfig,
    private readonly log: Logger = silentLogger,
  ) {
    this.rules = hostRules(config);
  }

  /** Resolves to what ffmpeg should open (a file's real path), or throws SourceRefusedError / InputRefusedError. */
  async check(input: string): Promise<string> {
    const spec = parseInput(input);
    switch (spec.kind) {
      case 'file':
        return this.checkFile(spec.display, input);
      case 'device':
        await this.checkDevice(spec.ffmpegInput, input);
        return input;
      default:
        await this.checkNetwork(spec.kind, input.trim());
        return input;
    }
  }

  /** The forward proxy every HLS request of a checked source goes through (started on first use). */
  hlsProxyUrl(): Promise<string> {
    this.proxy ??= new HlsProxy(this.rules, this.log);
    return this.proxy.url();
  }

  async close(): Promise<void> {
    await this.proxy?.close();
    this.proxy = null;
  }

  private async checkFile(path: string, input: string): Promise<string> {
    const refused = new SourceRefusedError(
      `Source "${redact(input)}" is not available: attach a readable video file inside a media folder (ingest.mediaRoots${this.config.mediaRoots.length ? '' : ', none configured'}), or a stream URL.`,
    );
    const roots = (await Promise.all(this.config.mediaRoots.map((r) => realpath(resolve(r)).catch(() => null)))).filter((r): r is string => r !== null);
    try {
      const real = await realpath(path);
      if (!roots.some((root) => inside(root, real))) throw refused;
      if (!(await stat(real)).isFile()) throw refused;
      await access(real, constants.R_OK);
      return real;
    } catch {
      throw refused;
    }
  }

  private async checkDevice(path: string, input: string): Promise<void> {
    const refused = new SourceRefusedError(`Capture device "${input}" is not available: list it in ingest.captureDevices to let operators attach it.`);
    const listed = (await Promise.all(this.config.captureDevices.map((d) => realpath(d).catch(() => null)))).filter((d) => d !== null);
    try {
      const real = await realpath(path);
      if (!listed.includes(real) || !(await stat(real)).isCharacterDevice()) throw refused;
    } catch {
      throw refused;
    }
  }

  private async checkNetwork(kind: string, raw: string): Promise<void> {
    const url = new URL(raw.replace(/^(udp|rtp):\/\/@/i, '$1://0.0.0.0'));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const listenAll = (why: string) =>
      new SourceRefusedError(`Source "${redact(raw)}" would listen on every network interface (${why}): name the address to listen on, or set ingest.listenAnyAddress.`);
    if (kind === 'udp' || kind === 'rtp') {
      // A UDP input binds localaddr (any address without it); a multicast host is a group to join.
      const bind = url.searchParams.get('localaddr') ?? '0.0.0.0';
      if (isAnyAddress(bind) && !this.config.listenAnyAddress) throw listenAll('add ?localaddr=<this machine\'s address>');
      if (!host || isAnyAddress(host) || isMulticastAddress(host)) return;
      // A unicast host still gets packets (RTCP reports, connect=1): judge it like any other.
    } else if (kind === 'srt' && url.searchParams.get('mode') === 'listener') {
      if ((!host || isAnyAddress(host)) && !this.config.listenAnyAddress) throw listenAll('srt://0.0.0.0 in listener mode');
      return;
    }
    const verdict = await judgeHost(host, this.rules, { multicastOk: kind === 'udp' || kind === 'rtp' });
    if (!verdict.ok) throw new SourceRefusedError(`Source host "${host}" is not allowed: ${HOST_WHY[verdict.why]}.`);
  }
}
