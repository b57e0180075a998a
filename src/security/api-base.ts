/**
 * Which upstream URLs a deployment may point at. The gateway sends requests (with provider keys)
 * to whatever api_base an admin configures, so a mistaken or malicious one could read cloud
 * metadata (169.254.169.254 hands out instance credentials), local files (file://), other
 * protocols (gopher://), or loop back into the gateway itself. Allowed: http and https to any
 * public, private-range or loopback host (local inference servers live on those), except
 * link-local and metadata addresses (unless general_settings.allow_internal_api_base is true) and
 * the gateway's own listening address and port (never).
 *
 * Host names are checked as written, not resolved: a name that resolves to a metadata address is
 * a network-policy matter (egress rules), and resolving here would not stop DNS rebinding anyway.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

export interface ListeningAddress {
  host: string;
  port: number;
}

export interface ApiBasePolicy {
  /** general_settings.allow_internal_api_base: link-local and metadata addresses are allowed. */
  allowInternal?: boolean;
  /** Where this gateway listens; an api_base pointing there would call the gateway itself. */
  ownAddress?: ListeningAddress;
}

/** Names of cloud metadata services (GCP, AWS, Azure's and Oracle's use 169.254.169.254). */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/** Why the URL may not be an api_base (a sentence fragment), or undefined when it may. */
export function apiBaseProblem(url: string, policy: ApiBasePolicy = {}): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `"${url}" uses ${parsed.protocol.replace(/:$/, '')}://; only http:// and https:// upstreams are allowed`;
  }
  const host = normalizedHost(parsed.hostname);
  if (policy.ownAddress && pointsAtListeningAddress(host, portOf(parsed), policy.ownAddress)) {
    return `"${url}" points at this gateway itself (it listens on ${policy.ownAddress.host}:${policy.ownAddress.port}): its requests would loop`;
  }
  if (policy.allowInternal) return undefined;
  const internal = internalKind(host);
  if (internal) {
    return `"${url}" points at ${internal}, which can expose cloud credentials; use another address, or set general_settings.allow_internal_api_base: true if this upstream really lives there`;
  }
  return undefined;
}

/** Lower case, without IPv6 brackets or a trailing dot. */
function normalizedHost(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

function portOf(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** What kind of refused address the host is, or undefined. */
function internalKind(host: string): string | undefined {
  if (METADATA_HOSTS.has(host)) return 'a cloud metadata service';
  const ipv4 = ipv4Of(host);
  if (ipv4) {
    if (ipv4[0] === 169 && ipv4[1] === 254) return 'a link-local address (169.254.0.0/16, where cloud metadata services answer)';
    if (ipv4[0] === 0) return 'the unspecified address 0.0.0.0';
    return undefined;
  }
  if (isIP(host) === 6) {
    const groups = ipv6Groups(host);
    if (!groups) return undefined;
    if (groups.every((group) => group === 0)) return 'the unspecified address ::';
    if ((groups[0] & 0xffc0) === 0xfe80) return 'a link-local address (fe80::/10)';
    // AWS's metadata service over IPv6.
    if (groups.join(':') === [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254].join(':')) return 'a cloud metadata service (fd00:ec2::254)';
  }
  return undefined;
}

/** The four octets of an IPv4 address, written plainly or mapped into IPv6 (::ffff:a.b.c.d). */
function ipv4Of(host: string): number[] | undefined {
  if (isIP(host) === 4) return host.split('.').map(Number);
  if (isIP(host) !== 6) return undefined;
  const groups = ipv6Groups(host);
  if (!groups || groups.slice(0, 5).some((group) => group !== 0) || groups[5] !== 0xffff) return undefined;
  return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff];
}

/** The eight 16-bit groups of an IPv6 address (an embedded dotted IPv4 tail included). */
export function ipv6Groups(address: string): number[] | undefined {
  let text = address.split('%')[0];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const octets = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((octets[0] << 8) | octets[1]).toString(16)}:${((octets[2] << 8) | octets[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => Number.parseInt(group, 16)) : []);
  const first = parse(head);
  const last = parse(tail);
  const groups = tail === undefined ? first : [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const ipv4 = ipv4Of(host);
  if (ipv4) return ipv4[0] === 127;
  const groups = isIP(host) === 6 ? ipv6Groups(host) : undefined;
  return groups !== undefined && groups.slice(0, 7).every((group) => group === 0) && groups[7] === 1;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** The addresses of this machine's interfaces (what a wildcard listener answers on). */
function localAddresses(): Set<string> {
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) addresses.add(normalizedHost(entry.address));
  return addresses;
}

/**
 * True when host:port reaches the listener: same port, and the host is the listening host, or a
 * loopback name (which reaches a loopback or wildcard listener), or — for a wildcard listener — any
 * address of this machine.
 */
export function pointsAtListeningAddress(host: string, port: number, own: ListeningAddress): boolean {
  if (port !== own.port) return false;
  const listening = normalizedHost(own.host);
  const target = normalizedHost(host);
  if (target === listening) return true;
  if (isLoopback(target)) return isLoopback(listening) || isWildcard(listening);
  return isWildcard(listening) && localAddresses().has(target);
}
