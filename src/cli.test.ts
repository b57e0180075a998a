import { describe, expect, it } from 'vitest';
import { listeningAddresses } from './cli.js';

const interfaces = {
  lo: [
    { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
    { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0 },
  ],
  eth0: [
    { address: '10.0.0.5', netmask: '255.255.255.0', family: 'IPv4', mac: '02:42:ac:11:00:02', internal: false, cidr: '10.0.0.5/24' },
    { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:42:ac:11:00:02', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
  ],
} as const;

describe('listeningAddresses (the start line)', () => {
  it('a specific host: the one address bound', () => {
    expect(listeningAddresses('127.0.0.1', 'http://127.0.0.1:4000', interfaces as never)).toEqual(['http://127.0.0.1:4000']);
  });

  it('0.0.0.0: every IPv4 address of the machine, loopback first, with the bound port', () => {
    expect(listeningAddresses('0.0.0.0', 'http://127.0.0.1:4123', interfaces as never)).toEqual(['http://127.0.0.1:4123', 'http://10.0.0.5:4123']);
  });

  it(':: — IPv6 too, without link-local addresses', () => {
    expect(listeningAddresses('::', 'http://[::1]:4000', interfaces as never)).toEqual(['http://127.0.0.1:4000', 'http://[::1]:4000', 'http://10.0.0.5:4000']);
  });
});
