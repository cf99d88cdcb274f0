// A forward HTTP proxy on loopback that every request of a checked HLS source goes through
// (ffmpeg -http_proxy; its hls demuxer hands the option on to every playlist, key and segment
// request, and https goes through CONNECT). Each request's host is judged by the same rules as the
// source, and the proxy connects to the address it judged, so neither a playlist naming another
// host nor a DNS answer that changes after the check can reach an internal address.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../shared/log.ts';
import { judgeHost, type HostRules } from './hostRules.ts';

/** ffmpeg prints this reason phrase ("HTTP error 403 …"): stderr.ts knows it as a policy refusal. */
export const POLICY_REFUSAL = 'Forbidden by the facecast source policy';

const HOP_BY_HOP = ['proxy-connection', 'proxy-authorization', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade'];

export class HlsProxy {
  private readonly server: Server;
  private listening: Promise<string> | null = null;

  constructor(
    private readonly rules: HostRules,
    private readonly log: Logger,
  ) {
    this.server = createServer((req, res) => void this.forward(req, res));
    this.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.tunnel(req, socket, head));
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** http://127.0.0.1:<port>, once listening. */
  url(): Promise<string> {
    // ffmpeg skips -http_proxy for hosts in the no_proxy environment variable, which it inherits
    // from this process (fluent-ffmpeg passes no env of its own); nothing else here reads it.
    for (const name of ['no_proxy', 'NO_PROXY']) {
      if (process.env[name] === undefined) continue;
      this.log.warn({ variable: name }, `${name} is set: removed, so HLS sources cannot bypass the checking proxy`);
      delete process.env[name];
    }
    this.listening ??= new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}`));
    });
    return this.listening;
  }

  async close(): Promise<void> {
    if (!this.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async judge(host: string): Promise<string | null> {
    const verdict = await judgeHost(host, this.rules);
    if (verdict.ok) return verdict.addresses[0]!;
    this.log.warn({ host, why: verdict.why }, `HLS source: request to host ${host} refused by the source policy (${verdict.why})`);
    return null;
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
      if (target.protocol !== 'http:') throw new Error('not http');
    } catch {
      res.writeHead(400, 'Only absolute http:// URLs are proxied').end();
      return;
    }
    const address = await this.judge(target.hostname);
    if (!address) {
      res.writeHead(403, POLICY_REFUSAL).end();
      return;
    }
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: target.host };
    for (const h of HOP_BY_HOP) delete headers[h];
    const upstream = request({ host: address, port: target.port || 80, method: req.method, path: `${target.pathname}${target.search}`, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(upstream);
  }

  private async tunnel(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(req.url ?? '');
    const address = m ? await this.judge(m[1]!) : null;
    if (!m || !address) {
      socket.end(`HTTP/1.1 403 ${POLICY_REFUSAL}\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const upstream: Socket = connect(Number(m[2]), address, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on('error', () => {
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      upstream.destroy();
    });
    socket.on('close', () => upstream.destroy());
  }
}
