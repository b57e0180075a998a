import { describe, expect, it } from 'vitest';
import { listeningAddresses, SHORT_MASTER_KEY, warnOnShortMasterKey } from './cli.js';

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

describe('warnOnShortMasterKey', () => {
  const warnings = (key: string) => {
    const logged: Array<{ fields: object; message: string }> = [];
    warnOnShortMasterKey(key, { warn: ((fields: object, message: string) => logged.push({ fields, message })) as never });
    return logged;
  };

  it('warns about an operator\'s key shorter than 32 characters, naming its length and never the key', () => {
    const logged = warnings('sk-1234');
    expect(logged).toHaveLength(1);
    expect(logged[0].fields).toEqual({ length: 7 });
    expect(logged[0].message).toContain('7 characters long');
    expect(logged[0].message).not.toContain('sk-1234');
  });

  it('says nothing about a key of 32 characters or more (the generated one has 38)', () => {
    expect(warnings('s'.repeat(SHORT_MASTER_KEY))).toEqual([]);
    expect(warnings(`sk-sb-${'x'.repeat(32)}`)).toEqual([]);
    expect(warnings('s'.repeat(SHORT_MASTER_KEY - 1))).toHaveLength(1);
  });
});
