import { describe, expect, it } from 'vitest';
import { addressKind, internalMediaUrlKind, isFetchableUrl, mediaUrlHostNames } from './media-url.js';

describe('internalMediaUrlKind', () => {
  it.each([
    ['http://127.0.0.1/x', /loopback/],
    ['http://2130706433/x', /loopback/],
    ['http://0x7f.1/x', /loopback/],
    ['http://[::ffff:10.0.0.1]/x', /RFC 1918/],
    ['http://[64:ff9b::a9fe:a9fe]/x', /link-local/],
    ['http://[2002:c0a8:0101::1]/x', /RFC 1918/],
    ['http://[fd00:ec2::254]/x', /unique local/],
    ['http://100.100.100.200/x', /100\.64/],
    ['http://metadata.google.internal/x', /\.internal/],
    ['http://metadata.goog/x', /metadata/],
    ['http://redis:6379/', /without a domain/],
    ['http://host.docker.internal/', /\.internal/],
    ['http://a.example\\@10.0.0.1/', /ambiguous/],
    ['http://a.example@10.0.0.1/', /RFC 1918/],
    [' \thttp://localhost/', /without a domain|localhost/],
    ['file:///etc/passwd', /file/],
    ['http://[::1', /not a valid URL/],
    ['http://169.254.169.254.nip.io/latest/', /link-local.*"169\.254\.169\.254\.nip\.io".*169\.254\.169\.254\)/],
    ['http://app.10.8.0.1.nip.io/', /RFC 1918/],
    ['http://customer-app-127-0-0-1.nip.io/', /loopback/],
    ['http://a-10.0-0.1.example.org/', /RFC 1918/],
    ['http://magic-c0a80101.nip.io/', /RFC 1918.*192\.168\.1\.1/],
    ['http://7f000001.sslip.io/', /loopback/],
    ['http://--1.sslip.io/', /loopback \(::1\)/],
    ['http://fe80--1.sslip.io/', /link-local/],
    ['http://0-0-0-0.traefik.me/', /unspecified/],
    ['http://localtest.me/', /loopback.*localtest\.me/],
    ['http://x.localhost.direct/', /loopback/],
  ])('%s is internal', (url, kind) => {
    expect(isFetchableUrl(url)).toBe(true);
    expect(internalMediaUrlKind(url)).toMatch(kind);
  });

  it.each(['https://example.com/cat.png', 'https://8.8.8.8/x', 'http://[2606:4700::1111]/x', 'https://cdn.example.com/a@2x.png', 'https://user@example.com/x', 'https://8.8.8.8.nip.io/x', 'https://ec2-54-1-2-3.compute-1.amazonaws.com/x', 'https://0a1b2c3d.example.com/x', 'https://app-7f000001.example.com/x', 'https://xn--bcher-kva.example/x', 'https://api-2024-10-01-1.example.com/x'])('%s is public', (url) => {
    expect(internalMediaUrlKind(url)).toBeUndefined();
  });

  it('leaves data: and other schemes alone', () => {
    expect(isFetchableUrl('data:image/png;base64,AAAA')).toBe(false);
    expect(internalMediaUrlKind('data:image/png;base64,AAAA')).toBeUndefined();
    expect(internalMediaUrlKind('gs://bucket/object')).toBeUndefined();
  });
});

describe('mediaUrlHostNames', () => {
  it.each([
    ['https://CDN.Example.com./x.png', ['cdn.example.com']],
    ['https://a.example@b.example/x', ['b.example']],
    ['https://8.8.8.8/x', []],
    ['https://[2606:2800::1]/x', []],
    ['data:image/png;base64,AAAA', []],
    ['file:///etc/passwd', []],
    ['not a url', []],
  ])('%s → %j', (url, names) => {
    expect(mediaUrlHostNames(url)).toEqual(names);
  });
});

describe('addressKind', () => {
  it.each([
    ['10.1.2.3', /RFC 1918/],
    ['169.254.169.254', /link-local/],
    ['::1', /loopback/],
    ['fe80::1%eth0', /link-local/],
    ['::ffff:192.168.0.1', /RFC 1918/],
    ['93.184.216.34', undefined],
    ['2606:2800:220:1:248:1893:25c8:1946', undefined],
    ['nonsense', /cannot be read/],
  ])('%s', (address, kind) => {
    if (kind === undefined) expect(addressKind(address)).toBeUndefined();
    else expect(addressKind(address)).toMatch(kind);
  });
});
