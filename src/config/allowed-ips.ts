/**
 * general_settings.allowed_ips entries: exact IP addresses (as on LiteLLM) or CIDR ranges, read
 * once at start into a BlockList the request hook checks (http/allowed-ips.ts).
 */
import { BlockList, isIP } from 'node:net';

/** An IP address, or a CIDR range of one ("10.0.0.0/8", "fd00::/8"). */
export function isAddressOrRange(entry: string): boolean {
  const slash = entry.indexOf('/');
  if (slash < 0) return isIP(entry) !== 0;
  const family = isIP(entry.slice(0, slash));
  const bits = entry.slice(slash + 1);
  return family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

export function allowedAddresses(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/', 2);
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}
