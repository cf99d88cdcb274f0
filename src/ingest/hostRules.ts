// Which network hosts a source may reach. A host is judged by its name (allow/deny lists) and by
// every address it resolves to, so "localhost", "2130706433" or a name pointing at 10.0.0.1 are
// caught like the literal addresses. Address ranges use Node's own net.BlockList.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Not for sources unless allowed: this machine, private networks, link-local (cloud metadata), and oddities. */
const INTERNAL_V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.168.0.0/16', '198.18.0.0/15', '240.0.0.0/4'];
/**
 * net.BlockList already judges IPv4-mapped addresses (::ffff:127.0.0.1) by the IPv4 rules; NAT64
 * addresses are refused whole, as they could carry any IPv4 address.
 */
const INTERNAL_V6 = ['::/128', '::1/128', 'fc00::/7', 'fe80::/10', '64:ff9b::/96'];
const MULTICAST = { v4: '224.0.0.0/4', v6: 'ff00::/8' };

const family = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

function blockList(ranges: string[]): BlockList {
  const list = new BlockList();
  for (const r of ranges) {
    const [net, bits] = r.split('/');
    if (bits === undefined) list.addAddress(net!, family(net!));
    else list.addSubnet(net!, Number(bits), family(net!));
  }
  return list;
}

const internal = blockList([...INTERNAL_V4, ...INTERNAL_V6]);
const multicast = blockList([MULTICAST.v4, MULTICAST.v6]);

export const isInternalAddress = (address: string) => internal.check(address, family(address));
export const isMulticastAddress = (address: string) => multicast.check(address, family(address));
export const isAnyAddress = (address: string) => address === '0.0.0.0' || address === '::';

/** A configured list: host names (exact, or "*.example.com" for its subdomains) and addresses / CIDR ranges. */
export class HostList {
  private readonly names = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly ranges = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const raw of entries) {
      const e = raw.trim().toLowerCase().replace(/^\[|\]$/g, '');
      const [net, bits] = e.split('/');
      if (isIP(net!)) {
        if (bits === undefined) this.ranges.addAddress(net!, family(net!));
        else this.ranges.addSubnet(net!, Number(bits), family(net!));
      } else if (e.startsWith('*.')) this.suffixes.push(e.slice(1));
      else this.names.add(e.replace(/\.$/, ''));
    }
  }

  hasName(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, '');
    return this.names.has(h) || this.suffixes.some((s) => h.endsWith(s));
  }

  hasAddress(address: string): boolean {
    return isIP(address) !== 0 && this.ranges.check(address, family(address));
  }
}

export interface HostRules {
  allow: HostList;
  deny: HostList;
  onlyAllowed: boolean;
}

export function hostRules(o: { allowHosts: readonly string[]; denyHosts: readonly string[]; onlyAllowedHosts: boolean }): HostRules {
  return { allow: new HostList(o.allowHosts), deny: new HostList(o.denyHosts), onlyAllowed: o.onlyAllowedHosts };
}

export type HostVerdict = { ok: true; addresses: string[] } | { ok: false; why: 'denied' | 'internal' | 'not-allowed' | 'unresolved' };

/**
 * Resolves `host` and judges it. `multicastOk`: UDP/RTP inputs join multicast groups, which is
 * receiving, not reaching a host. On success, `addresses` are the ones checked (connect to these).
 */
export async function judgeHost(host: string, rules: HostRules, opts: { multicastOk?: boolean } = {}): Promise<HostVerdict> {
  const name = host.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = (await lookup(name, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    return { ok: false, why: 'unresolved' };
  }
  if (addresses.length === 0) return { ok: false, why: 'unresolved' };
  if (rules.deny.hasName(name) || addresses.some((a) => rules.deny.hasAddress(a))) return { ok: false, why: 'denied' };
  if (rules.allow.hasName(name) || addresses.every((a) => rules.allow.hasAddress(a))) return { ok: true, addresses };
  if (rules.onlyAllowed) return { ok: false, why: 'not-allowed' };
  const bad = (a: string) => (isMulticastAddress(a) ? !opts.multicastOk : isInternalAddress(a));
  if (addresses.some(bad)) return { ok: false, why: 'internal' };
  return { ok: true, addresses };
}
