import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { amzDate, signedHeaders } from './signing.js';

/**
 * SigV4 written out from AWS's specification ("Create a signed AWS API request"), independently of
 * the aws4 library the adapter uses: canonical request → string to sign → derived key → signature.
 * For services other than S3 each path segment is URI-encoded twice.
 */
function referenceSignature(input: { method: string; host: string; path: string; headers: Record<string, string>; body: string; accessKeyId: string; secret: string; region: string; service: string }): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalPath = input.path.split('/').map(encode).join('/');
  const all: Record<string, string> = { host: input.host };
  for (const [name, value] of Object.entries(input.headers)) all[name.toLowerCase()] = value.trim().replace(/\s+/g, ' ');
  const names = Object.keys(all).sort();
  const canonicalHeaders = names.map((name) => `${name}:${all[name]}\n`).join('');
  const signedNames = names.join(';');
  const hash = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
  const canonical = [input.method, canonicalPath, '', canonicalHeaders, signedNames, hash(input.body)].join('\n');
  const date = all['x-amz-date'];
  const scope = `${date.slice(0, 8)}/${input.region}/${input.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, hash(canonical)].join('\n');
  const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text, 'utf8').digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${input.secret}`, date.slice(0, 8)), input.region), input.service), 'aws4_request');
  return `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedNames}, Signature=${createHmac('sha256', key).update(toSign, 'utf8').digest('hex')}`;
}

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-west-2' };
const NOW = new Date('2024-07-01T12:34:56.789Z');

describe('SigV4 signing of Bedrock requests', () => {
  it('formats the timestamp as SigV4 wants', () => {
    expect(amzDate(NOW)).toBe('20240701T123456Z');
  });

  it('signs like the specification: service bedrock, the model id double-encoded in the canonical path', () => {
    const url = 'https://bedrock-runtime.us-west-2.amazonaws.com/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse';
    const body = '{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}';
    const headers = signedHeaders(url, body, { 'content-type': 'application/json', accept: 'application/json' }, CREDENTIALS, NOW);
    expect(headers['X-Amz-Date']).toBe('20240701T123456Z');
    expect(headers.Host ?? headers.host).toBeUndefined();
    expect(headers['Content-Length'] ?? headers['content-length']).toBeUndefined();
    const expected = referenceSignature({
      method: 'POST',
      host: 'bedrock-runtime.us-west-2.amazonaws.com',
      path: '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-amz-date': '20240701T123456Z', 'content-length': String(Buffer.byteLength(body)) },
      body,
      accessKeyId: CREDENTIALS.accessKeyId,
      secret: CREDENTIALS.secretAccessKey,
      region: 'us-west-2',
      service: 'bedrock',
    });
    expect(headers.Authorization).toBe(expected);
    expect(headers.Authorization).toContain('Credential=AKIDEXAMPLE/20240701/us-west-2/bedrock/aws4_request');
  });

  it('sends and signs the session token of temporary credentials, and signs a port in the host', () => {
    const url = 'http://127.0.0.1:4566/model/amazon.nova-pro-v1%3A0/converse-stream';
    const body = '{}';
    const headers = signedHeaders(url, body, { 'content-type': 'application/json' }, { ...CREDENTIALS, sessionToken: 'FQoGZXIvYXdzEXAMPLETOKEN' }, NOW);
    expect(headers['X-Amz-Security-Token']).toBe('FQoGZXIvYXdzEXAMPLETOKEN');
    const expected = referenceSignature({
      method: 'POST',
      host: '127.0.0.1:4566',
      path: '/model/amazon.nova-pro-v1%3A0/converse-stream',
      headers: { 'content-type': 'application/json', 'x-amz-date': '20240701T123456Z', 'x-amz-security-token': 'FQoGZXIvYXdzEXAMPLETOKEN', 'content-length': '2' },
      body,
      accessKeyId: CREDENTIALS.accessKeyId,
      secret: CREDENTIALS.secretAccessKey,
      region: 'us-west-2',
      service: 'bedrock',
    });
    expect(headers.Authorization).toBe(expected);
  });

  it('changes the signature when the body changes (the payload hash is signed)', () => {
    const url = 'https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse';
    const a = signedHeaders(url, '{"a":1}', {}, CREDENTIALS, NOW).Authorization;
    const b = signedHeaders(url, '{"a":2}', {}, CREDENTIALS, NOW).Authorization;
    expect(a).not.toBe(b);
  });
});
