import { describe, expect, it } from 'vitest';
import { apiBaseProblem } from './api-base.js';

describe('apiBaseProblem', () => {
  it('allows public, private-range and loopback http(s) upstreams', () => {
    for (const url of ['https://api.openai.com/v1', 'http://10.0.0.5:8000/v1', 'http://192.168.1.20:11434', 'http://172.16.3.4', 'http://127.0.0.1:11434', 'http://localhost:8080/v1', 'http://[::1]:9000', 'http://[fd12:3456::1]:8000']) {
      expect(apiBaseProblem(url), url).toBeUndefined();
    }
  });

  it('refuses schemes other than http and https', () => {
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1:6379/_FLUSHALL', 'ftp://example.com/', 'data:text/plain,hi']) {
      expect(apiBaseProblem(url), url).toMatch(/only http:\/\/ and https:\/\//);
    }
  });

  it('refuses link-local, metadata and unspecified addresses, however they are written', () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://169.254.1.1:8080',
      'http://2852039166/', // 169.254.169.254 as one number
      'http://0xa9.0xfe.0xa9.0xfe/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]:8000',
      'http://[febf::1]',
      'http://[fd00:ec2::254]/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://METADATA.google.internal./',
      'http://0.0.0.0:8000',
      'http://[::]:8000',
    ]) {
      expect(apiBaseProblem(url), url).toMatch(/allow_internal_api_base/);
    }
  });

  it('allows them with allow_internal_api_base, but never other schemes', () => {
    expect(apiBaseProblem('http://169.254.169.254/', { allowInternal: true })).toBeUndefined();
    expect(apiBaseProblem('http://[fe80::1]/', { allowInternal: true })).toBeUndefined();
    expect(apiBaseProblem('file:///etc/passwd', { allowInternal: true })).toBeDefined();
  });

  it('refuses the gateway’s own listening address and port, even with allow_internal_api_base', () => {
    const own = { host: '127.0.0.1', port: 4000 };
    expect(apiBaseProblem('http://127.0.0.1:4000/v1', { ownAddress: own, allowInternal: true })).toMatch(/this gateway itself/);
    expect(apiBaseProblem('http://localhost:4000', { ownAddress: own })).toMatch(/this gateway itself/);
    expect(apiBaseProblem('http://127.0.0.1:4001/v1', { ownAddress: own })).toBeUndefined();
    const wildcard = { host: '0.0.0.0', port: 80 };
    expect(apiBaseProblem('http://127.0.0.1/v1', { ownAddress: wildcard })).toMatch(/this gateway itself/);
    expect(apiBaseProblem('https://127.0.0.1/v1', { ownAddress: wildcard })).toBeUndefined();
    expect(apiBaseProblem('http://10.9.9.9/v1', { ownAddress: { host: '10.0.0.1', port: 80 } })).toBeUndefined();
  });

  it('says what is wrong with a string that is not a URL', () => {
    expect(apiBaseProblem('not a url')).toMatch(/is not a URL/);
  });
});
