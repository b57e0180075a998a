/**
 * Which media URLs in a request point inside the operator's network. Self-hosted OpenAI-compatible
 * servers (vLLM, SGLang, TGI, LM Studio, …) download the `image_url`, `video_url`, `audio_url` (and
 * similar) URLs a request names themselves, from the machine they run on: a URL at a loopback,
 * private, link-local or metadata address, or at a name only the internal DNS knows, has such a
 * server request internal services for whoever holds a key (server-side request forgery). Cloud
 * providers fetch from the internet, where such addresses reach nothing, so refusing them costs no
 * legitimate use.
 *
 * The host is checked first as written (here), then resolved (media-host-resolution.ts). A name that carries an internal address in it is
 * read as that address: public wildcard DNS answers `10.0.0.1.nip.io`, `app-169-254-169-254.sslip.io`
 * (any domain: the dotted and dashed forms are checked everywhere), `app-7f000001.nip.io` or
 * `--1.sslip.io` (hexadecimal and IPv6 forms: on the known wildcard services only, where hashes in
 * ordinary names cannot be mistaken for them) with the address written in it, and a few public names
 * are published to resolve to loopback for local development (`localtest.me`, `lvh.me`, …). Any
 * other name is resolved by the gateway as the upstream would resolve it; a name whose answer
 * changes between the two lookups (DNS rebinding) is the residual risk (README, Security), for
 * egress rules or vLLM's `--allowed-media-domains`. Because the server parses the URL with its own parser (Python's
 * urlsplit reads `http://a\@10.0.0.1/` as host 10.0.0.1, WHATWG as host `a`), both readings of the
 * authority are checked, and a backslash or a control character in it is refused outright.
 */
import { isIP } from 'node:net';
import { ipv6Groups } from './api-base.js';

/** Leading characters Python's urlsplit strips (C0 controls and space). */
const LEADING_JUNK = /^[\u0000-\u0020]+/;
const FETCHED_SCHEME = /^(https?|file):/i;

/** Suffixes (and whole names) that no public DNS name has: they resolve only inside a network. */
const INTERNAL_SUFFIXES = ['localhost', 'local', 'localdomain', 'internal', 'intranet', 'lan', 'home', 'corp', 'private', 'home.arpa'];
/** Google's metadata service also answers at this public-looking name. */
const METADATA_NAMES = new Set(['metadata.goog']);

/** Public wildcard DNS services: a name under them resolves to the address written in it. */
const WILDCARD_DNS = ['nip.io', 'sslip.io', 'xip.io', 'traefik.me'];
/** Public names (and all names under them) published to resolve to 127.0.0.1, for local development. */
const LOOPBACK_NAMES = ['localtest.me', 'lvh.me', 'vcap.me', 'fuf.me', 'lacolhost.com', 'localhost.direct'];
const DECIMAL_OCTET = /^\d{1,3}$/;
const HEX_ADDRESS = /^[0-9a-f]{8}$/;

/** Quick pre-check: whether the value is a URL a server would fetch (http, https, file). */
export function isFetchableUrl(value: string): boolean {
  return FETCHED_SCHEME.test(value) || (LEADING_JUNK.test(value) && FETCHED_SCHEME.test(value.replace(LEADING_JUNK, '')));
}

/**
 * What internal place the URL names (a phrase such as "loopback (127.0.0.0/8)"), or undefined
 * when it is a public http(s) URL (or no URL a server fetches at all).
 */
export function internalMediaUrlKind(value: string): string | undefined {
  const read = readHosts(value);
  if (read === undefined || typeof read === 'string') return read;
  const [whatwg, python] = read;
  return hostKind(whatwg) ?? (python === undefined ? undefined : hostKind(python));
}

/**
 * The DNS names a server would resolve to fetch the URL (both readings of its authority, as
 * internalMediaUrlKind reads them): empty when the host is an IP address written as such, or the
 * value is no http(s) URL (or one internalMediaUrlKind refuses).
 */
export function mediaUrlHostNames(value: string): string[] {
  const read = readHosts(value);
  if (read === undefined || typeof read === 'string') return [];
  const names = new Set<string>();
  for (const hostname of read) {
    if (hostname === undefined) continue;
    const host = normalizedHost(hostname);
    if (host !== '' && isIP(host) === 0) names.add(host);
  }
  return [...names];
}

/**
 * The host of an http(s) URL as the WHATWG parser reads it and, when it differs, as Python's
 * urlsplit does; a phrase when the URL names something internal by its form alone (a file, an
 * ambiguous or unreadable authority); undefined when it is no URL a server fetches.
 */
function readHosts(value: string): [string, string | undefined] | string | undefined {
  const text = value.replace(LEADING_JUNK, '');
  const scheme = FETCHED_SCHEME.exec(text);
  if (!scheme) return undefined;
  if (scheme[1].toLowerCase() === 'file') return 'a file on the upstream server';
  const rest = text.slice(scheme[0].length).replace(/^[/\\]*/, '');
  const authority = rest.slice(0, rest.search(/[/?#]|$/));
  if (/[\\\u0000-\u0020\u007f]/.test(authority)) return 'an ambiguous host (a backslash or a blank in the authority, read differently by different servers)';
  let whatwg: URL;
  try {
    whatwg = new URL(text);
  } catch {
    return 'an address that is not a valid URL';
  }
  // Python's reading: the host is what follows the last '@' of the authority; normalized by the
  // WHATWG parser, as getaddrinfo reads "0x7f.1" or "2130706433" as 127.0.0.1.
  const afterAt = authority.slice(authority.lastIndexOf('@') + 1);
  if (afterAt === authority) return [whatwg.hostname, undefined];
  let pythonHost: string;
  try {
    pythonHost = new URL(`http://${afterAt}`).hostname;
  } catch {
    return 'an address that is not a valid URL';
  }
  return [whatwg.hostname, pythonHost === whatwg.hostname ? undefined : pythonHost];
}

const normalizedHost = (hostname: string) => hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.+$/, '');

/** What internal place a resolved address is (the phrases of internalMediaUrlKind), or undefined when it is public. */
export function addressKind(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return ipv4Kind(address.split('.').map(Number));
  if (family === 6) return ipv6Kind(address.toLowerCase().replace(/%.*$/, ''));
  return 'an address that cannot be read';
}

/** Whether the host is the domain or a name under it. */
const under = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`);

function hostKind(hostname: string): string | undefined {
  const host = normalizedHost(hostname);
  if (host === '') return 'an empty host';
  const family = isIP(host);
  if (family === 4) return ipv4Kind(host.split('.').map(Number));
  if (family === 6) return ipv6Kind(host);
  if (!host.includes('.')) return `a host name without a domain ("${host.slice(0, 64)}"), resolved by the upstream's own network`;
  if (METADATA_NAMES.has(host)) return 'a cloud metadata service';
  const suffix = INTERNAL_SUFFIXES.find((name) => under(host, name));
  if (suffix) return `a host name under ".${suffix}", which resolves only inside a network`;
  const loopback = LOOPBACK_NAMES.find((name) => under(host, name));
  if (loopback) return `loopback: "${loopback}" is a public name published to resolve to 127.0.0.1`;
  return embeddedAddressKind(host);
}

/**
 * An internal address written in a DNS name, as wildcard DNS reads it: four decimal octets separated
 * by dots or dashes anywhere in the name (`10.0.0.1.nip.io`, `app-10-0-0-1.example`); under a known
 * wildcard service also a label (or its last dash-separated part) of eight hex digits
 * (`app-0a000001.nip.io`) and a label that is an IPv6 address with dashes for colons (`--1.sslip.io`).
 */
function embeddedAddressKind(host: string): string | undefined {
  const written = (address: string, kind: string) => `${kind}, written in the host name "${host.slice(0, 100)}" (wildcard DNS such as nip.io answers such a name with ${address})`;
  const tokens = host.split(/[.-]/);
  for (let index = 0; index + 4 <= tokens.length; index++) {
    const octets = tokens.slice(index, index + 4);
    if (!octets.every((token) => DECIMAL_OCTET.test(token) && Number(token) <= 255)) continue;
    const kind = ipv4Kind(octets.map(Number));
    if (kind) return written(octets.map(Number).join('.'), kind);
  }
  const service = WILDCARD_DNS.find((domain) => under(host, domain));
  if (!service) return undefined;
  for (const label of host.slice(0, host.length - service.length).split('.')) {
    const hex = label.slice(label.lastIndexOf('-') + 1);
    if (HEX_ADDRESS.test(hex)) {
      const octets = [0, 2, 4, 6].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
      const kind = ipv4Kind(octets);
      if (kind) return written(octets.join('.'), kind);
    }
    const ipv6 = label.replace(/-/g, ':');
    if (label.includes('-') && isIP(ipv6) === 6) {
      const kind = ipv6Kind(ipv6);
      if (kind) return written(ipv6, kind);
    }
  }
  return undefined;
}

function ipv4Kind([a, b]: number[]): string | undefined {
  if (a === 0) return 'the unspecified address (0.0.0.0/8)';
  if (a === 127) return 'loopback (127.0.0.0/8)';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'a private address (RFC 1918)';
  if (a === 169 && b === 254) return 'a link-local address (169.254.0.0/16, where cloud metadata services answer)';
  if (a === 100 && b >= 64 && b <= 127) return 'a shared address (100.64.0.0/10, where some clouds run their metadata service)';
  if (a === 192 && b === 0) return 'a special-purpose address (192.0.0.0/24)';
  if (a === 198 && (b === 18 || b === 19)) return 'a benchmarking address (198.18.0.0/15)';
  if (a >= 224) return 'a multicast or reserved address (224.0.0.0/3)';
  return undefined;
}

function ipv6Kind(host: string): string | undefined {
  const groups = ipv6Groups(host);
  if (!groups) return 'an IPv6 address that cannot be read';
  const embeddedIpv4 = (high: number, low: number) => ipv4Kind([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  if (groups.slice(0, 6).every((group) => group === 0)) {
    if (groups[6] === 0 && groups[7] <= 1) return groups[7] === 1 ? 'loopback (::1)' : 'the unspecified address (::)';
    return embeddedIpv4(groups[6], groups[7]) ?? undefined; // IPv4-compatible ::a.b.c.d
  }
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach the IPv4 address inside.
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) return embeddedIpv4(groups[6], groups[7]);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0)) return embeddedIpv4(groups[6], groups[7]);
  // 6to4 (2002:a.b.c.d::/48).
  if (groups[0] === 0x2002) return embeddedIpv4(groups[1], groups[2]);
  if ((groups[0] & 0xfe00) === 0xfc00) return 'a unique local address (fc00::/7)';
  if ((groups[0] & 0xffc0) === 0xfe80 || (groups[0] & 0xffc0) === 0xfec0) return 'a link-local or site-local address (fe80::/10, fec0::/10)';
  if ((groups[0] & 0xff00) === 0xff00) return 'a multicast address (ff00::/8)';
  return undefined;
}
