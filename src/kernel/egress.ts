/**
 * Where the server may connect to on a tenant's behalf (channel URLs, token endpoints, SMTP hosts).
 * An operator of one workspace must not make the server reach its own loopback, the cloud metadata
 * service or the private network (SSRF), so every outbound connection resolves its host, refuses the
 * connection when any address is not public unicast, and connects to exactly the address it checked
 * (a second DNS answer — rebinding — is never used). The server operator can allow private egress,
 * all of it or named hosts, CIDRs and ports, for tests and on-premise deployments.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

export interface EgressRule {
  /** A host name (lower case, no trailing dot) or an address range. */
  target: { host: string } | { range: [ipaddr.IPv4 | ipaddr.IPv6, number] };
  /** Only this port when given. */
  port?: number;
}

export interface EgressPolicy {
  /** Every private address allowed (SIYU_ALLOW_PRIVATE_EGRESS=1). */
  allowPrivate: boolean;
  /** Private destinations allowed by name, range or port (SIYU_EGRESS_ALLOW). */
  allow: EgressRule[];
}

export const PUBLIC_EGRESS_ONLY: EgressPolicy = { allowPrivate: false, allow: [] };

/** A connection the policy does not allow; not worth retrying until the channel or the setting changes. */
export class EgressRefusedError extends Error {
  override name = 'EgressRefusedError';
  readonly code = 'EGRESS_REFUSED';
}

export class EgressSettingError extends Error {
  override name = 'EgressSettingError';
}

const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * Why an address is not a public destination ('loopback', 'private', 'linkLocal', …), or undefined
 * for public unicast. IPv4 inside IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d) is judged by
 * its IPv4 address; every other special IPv6 range (6to4, Teredo, the deprecated ::a.b.c.d) is refused.
 */
export function nonPublicRange(address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return 'not an address';
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return nonPublicRange(v6.toIPv4Address().toString());
    if (v6.match(NAT64)) return nonPublicRange(ipaddr.fromByteArray(v6.toByteArray().slice(12)).toString());
  }
  const range = parsed.range();
  if (range !== 'unicast') return range;
  return parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE) ? 'ipv4Compatible' : undefined;
}

function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** An address in the form ranges are compared in: IPv4-mapped IPv6 as its IPv4. */
function comparable(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const parsed = ipaddr.parse(address);
  return parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress() ? (parsed as ipaddr.IPv6).toIPv4Address() : parsed;
}

function allowedByRule(policy: EgressPolicy, hostname: string, address: string, port: number): boolean {
  const host = normalHost(hostname);
  const ip = comparable(address);
  return policy.allow.some((rule) => {
    if (rule.port !== undefined && rule.port !== port) return false;
    if ('host' in rule.target) return rule.target.host === host;
    const [network, bits] = rule.target.range;
    return ip.kind() === network.kind() && ip.match(network, bits);
  });
}

/** Throws unless the policy lets the server connect to `address` (reached as `hostname`) on `port`. */
export function assertEgressAllowed(policy: EgressPolicy, hostname: string, address: string, port: number): void {
  const range = nonPublicRange(address);
  if (range === undefined || policy.allowPrivate || allowedByRule(policy, hostname, address, port)) return;
  // The range, not the address: the reason is shown to operators and should not map the private network.
  const via = net.isIP(normalHost(hostname)) ? '' : ` (${normalHost(hostname)} resolves to it)`;
  throw new EgressRefusedError(`egress refused: a ${range} address${via} is not a public destination; the server operator can allow it with SIYU_EGRESS_ALLOW`);
}

/**
 * Checks a URL before anything is sent: http(s) only, and a host given as an address must be allowed
 * (WHATWG URL has already turned 2130706433, 0x7f.1 and 017700000001 into 127.0.0.1). Host names are
 * checked when they are resolved, by the lookup below.
 */
export function checkEgressUrl(url: string | URL, policy: EgressPolicy): URL {
  let target: URL;
  try {
    target = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new EgressRefusedError('egress refused: not a URL');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new EgressRefusedError(`egress refused: only http and https URLs, not ${target.protocol}`);
  const host = normalHost(target.hostname);
  if (net.isIP(host)) assertEgressAllowed(policy, host, host, portOf(target));
  return target;
}

export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

export type Resolver = (hostname: string) => Promise<dns.LookupAddress[]>;

const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });
let resolver: Resolver = systemResolver;

/** Replaces DNS for this process (tests simulate rebinding with it); returns a function that restores it. */
export function useResolver(replacement: Resolver): () => void {
  resolver = replacement;
  return () => {
    resolver = systemResolver;
  };
}

/** The addresses of `hostname`, resolved once; refused unless every one of them is allowed. */
async function resolveAllowed(policy: EgressPolicy, hostname: string, port: number): Promise<dns.LookupAddress[]> {
  const host = normalHost(hostname);
  const family = net.isIP(host);
  const addresses = family ? [{ address: host, family }] : await resolver(host);
  if (addresses.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  for (const { address } of addresses) assertEgressAllowed(policy, host, address, port);
  return addresses;
}

/**
 * A `lookup` for net/http/https that resolves, checks every address and hands the socket only those
 * addresses: the connection is pinned to what was checked. The Host header and TLS SNI stay the name.
 */
export function guardedLookup(policy: EgressPolicy, port: number): net.LookupFunction {
  return (hostname, options, callback) => {
    resolveAllowed(policy, hostname, port).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (wanted.length === 0) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) callback(null, wanted);
        else callback(null, wanted[0].address, wanted[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

/** A plain TCP connection to host:port, through the same checks (for SMTP, which nodemailer then speaks over). */
export function connectGuarded(policy: EgressPolicy, host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const name = normalHost(host);
    if (net.isIP(name)) {
      try {
        assertEgressAllowed(policy, name, name, port);
      } catch (error) {
        return reject(error);
      }
    }
    const socket = net.connect({ host: name, port, lookup: guardedLookup(policy, port), timeout: timeoutMs });
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once('error', fail);
    socket.once('timeout', () => fail(Object.assign(new Error(`connection to ${name}:${port} timed out`), { code: 'ETIMEDOUT' })));
    socket.once('connect', () => {
      socket.removeListener('error', fail);
      socket.setTimeout(0);
      resolve(socket);
    });
  });
}

/**
 * Reads the operator's settings: `allowAll` is SIYU_ALLOW_PRIVATE_EGRESS ("1"/"true" or unset/"0"),
 * `allowList` SIYU_EGRESS_ALLOW: comma-separated hosts, addresses or CIDRs, each with an optional
 * port — `127.0.0.1:4010, 10.0.0.0/8, mail.internal:25, [fd00::1]:8080, fd00::/8`.
 */
export function parseEgressPolicy(allowAll: string | undefined, allowList: string | undefined): EgressPolicy {
  const all = (allowAll ?? '').trim().toLowerCase();
  if (!['', '0', 'false', '1', 'true'].includes(all)) throw new EgressSettingError(`SIYU_ALLOW_PRIVATE_EGRESS must be 1 or 0, got "${allowAll}"`);
  const allow = (allowList ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map(parseRule);
  return { allowPrivate: all === '1' || all === 'true', allow };
}

function parseRule(entry: string): EgressRule {
  const bad = (why: string) => new EgressSettingError(`SIYU_EGRESS_ALLOW: "${entry}" ${why} (expected a host, address or CIDR, with an optional :port)`);
  let target = entry;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) [, target, portText] = bracketed;
  else if ((entry.match(/:/g) ?? []).length === 1) [target, portText] = entry.split(':');
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw bad('has a port outside 1–65535');
  }
  if (target.includes('/')) {
    try {
      return { target: { range: ipaddr.parseCIDR(target) }, port };
    } catch {
      throw bad('is not a valid CIDR');
    }
  }
  if (ipaddr.isValid(target)) {
    const ip = comparable(target);
    return { target: { range: [ip, ip.kind() === 'ipv4' ? 32 : 128] }, port };
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(target)) throw bad('is not a host name');
  return { target: { host: normalHost(target) }, port };
}

let remembered: { allowAll: string | undefined; allowList: string | undefined; policy: EgressPolicy } | undefined;

/**
 * The server operator's egress setting, read from the environment at each use (remembered while the
 * two variables stay the same), so a test process can turn it on before it starts a contract server.
 */
export function egressPolicy(env: NodeJS.ProcessEnv = process.env): EgressPolicy {
  const allowAll = env.SIYU_ALLOW_PRIVATE_EGRESS;
  const allowList = env.SIYU_EGRESS_ALLOW;
  if (!remembered || remembered.allowAll !== allowAll || remembered.allowList !== allowList) remembered = { allowAll, allowList, policy: parseEgressPolicy(allowAll, allowList) };
  return remembered.policy;
}
