// The host rules of the source policy on their own (names resolve through the system resolver:
// only literal addresses and "localhost" are used), the ffmpeg arguments of a proxied HLS input,
// and the status categories the API shows.
import { describe, expect, it } from 'vitest';
import { buildInputOptions } from '../src/ingest/args.ts';
import { hostRules, judgeHost } from '../src/ingest/hostRules.ts';
import { publicStatusText } from '../src/ingest/publicStatus.ts';
import { parseInput } from '../src/ingest/url.ts';

const rules = (o: { allowHosts?: string[]; denyHosts?: string[]; onlyAllowedHosts?: boolean } = {}) =>
  hostRules({ allowHosts: o.allowHosts ?? [], denyHosts: o.denyHosts ?? [], onlyAllowedHosts: o.onlyAllowedHosts ?? false });

describe('host rules', () => {
  it('refuses loopback, private, link-local, unspecified and mapped addresses by default; public ones pass', async () => {
    for (const host of ['127.0.0.1', '127.9.9.9', 'localhost', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '224.0.0.1']) {
      expect(await judgeHost(host, rules()), host).toEqual({ ok: false, why: 'internal' });
    }
    for (const host of ['8.8.8.8', '2001:4860:4860::8888']) expect((await judgeHost(host, rules())).ok, host).toBe(true);
    // Multicast is a group to join for UDP/RTP inputs.
    expect((await judgeHost('239.1.1.1', rules(), { multicastOk: true })).ok).toBe(true);
  });

  it('allows listed names, addresses and ranges; deny wins; onlyAllowedHosts refuses the rest', async () => {
    const r = rules({ allowHosts: ['localhost', '10.0.0.0/8', '*.example.test'], denyHosts: ['10.9.0.0/16'] });
    expect((await judgeHost('localhost', r)).ok).toBe(true);
    expect((await judgeHost('10.1.2.3', r)).ok).toBe(true);
    expect(await judgeHost('10.9.1.1', r)).toEqual({ ok: false, why: 'denied' });
    expect(await judgeHost('192.168.1.1', r)).toEqual({ ok: false, why: 'internal' });
    expect(await judgeHost('8.8.8.8', rules({ allowHosts: ['10.0.0.0/8'], onlyAllowedHosts: true }))).toEqual({ ok: false, why: 'not-allowed' });
    expect(await judgeHost('no-such-host.invalid', r)).toEqual({ ok: false, why: 'unresolved' });
  });
});

describe('proxied HLS arguments and public status', () => {
  const o = { fps: 5, maxWidth: 640, maxHeight: 360, realtime: false, loop: false, ioTimeoutSec: 10, probeSec: 2 };

  it('sends every HLS request through the proxy and lets ffmpeg tunnel https', () => {
    const args = buildInputOptions(parseInput('https://cdn.example/live/index.m3u8'), o, true, 'http://127.0.0.1:4000');
    expect(args.join(' ')).toContain('-protocol_whitelist http,https,tcp,tls,crypto,httpproxy -http_proxy http://127.0.0.1:4000');
    expect(buildInputOptions(parseInput('rtmp://h/app/k'), o, true, 'http://127.0.0.1:4000')).not.toContain('-http_proxy');
  });

  it('says what kind of failure, never ffmpeg\'s words', () => {
    expect(publicStatusText({ state: 'error', kind: 'refused', message: 'Connection refused by rtmp://10.0.0.1:1935/x', fatal: false })).toBe('cannot connect (details in the server log)');
    expect(publicStatusText({ state: 'error', kind: 'not-found', message: 'Not found: /etc/x', fatal: true })).toBe('no playable video, gave up (details in the server log)');
    expect(publicStatusText({ state: 'reconnecting', attempt: 2, delayMs: 1000, reason: 'Invalid data from http://h', kind: 'invalid-data' })).toBe(
      'attempt 2 in 1 s: no playable video (details in the server log)',
    );
    expect(publicStatusText({ state: 'reconnecting', attempt: 1, delayMs: 500, reason: 'x ended (EOF)' })).toMatch(/the stream ended/);
  });
});
