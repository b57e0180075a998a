import { describe, expect, it } from 'vitest';
import { internalMediaUrlKind, isFetchableUrl } from './media-url.js';

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
  ])('%s is internal', (url, kind) => {
    expect(isFetchableUrl(url)).toBe(true);
    expect(internalMediaUrlKind(url)).toMatch(kind);
  });

  it.each(['https://example.com/cat.png', 'https://8.8.8.8/x', 'http://[2606:4700::1111]/x', 'https://cdn.example.com/a@2x.png', 'https://user@example.com/x'])('%s is public', (url) => {
    expect(internalMediaUrlKind(url)).toBeUndefined();
  });

  it('leaves data: and other schemes alone', () => {
    expect(isFetchableUrl('data:image/png;base64,AAAA')).toBe(false);
    expect(internalMediaUrlKind('data:image/png;base64,AAAA')).toBeUndefined();
    expect(internalMediaUrlKind('gs://bucket/object')).toBeUndefined();
  });
});
