import { describe, expect, it } from 'vitest';
import { deploymentSecrets, MAX_UPSTREAM_MESSAGE_LENGTH, redactUpstreamMessage } from './redact.js';

describe('redactUpstreamMessage', () => {
  it('removes the deployment key exactly, whatever its shape', () => {
    const key = 'local-inference-secret-42';
    expect(redactUpstreamMessage(`Incorrect API key provided: ${key}. You can find your key at …`, [key])).toBe('Incorrect API key provided: [redacted]. You can find your key at …');
  });

  it('removes provider-shaped keys and bearer tokens it was not told about', () => {
    const text = 'Incorrect API key provided: Bearer sk-proj-AbCdEf0123456789xyz (header Authorization); also sk-ant-api03-zzzzzzzzzzzz';
    const redacted = redactUpstreamMessage(text);
    expect(redacted).not.toMatch(/sk-proj|sk-ant|AbCdEf0123/);
    expect(redacted).toContain('Bearer [redacted]');
  });

  it('removes key= query parameters and name: value credentials', () => {
    const redacted = redactUpstreamMessage('GET https://example.test/v1/models?key=AIzaSyTOPSECRET123&alt=sse failed; x-api-key: hunter2hunter2; "password":"pw-123"');
    expect(redacted).not.toContain('TOPSECRET');
    expect(redacted).not.toContain('hunter2');
    expect(redacted).not.toContain('pw-123');
    expect(redacted).toContain('alt=sse');
  });

  it('removes AWS keys, JWTs and long hex or base64 tokens', () => {
    const text = [
      'access key AKIAIOSFODNN7EXAMPLE',
      'secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'session 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    ].join('; ');
    const redacted = redactUpstreamMessage(text);
    for (const secret of ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI', 'eyJhbGciOiJIUzI1NiJ9', '9f86d0818']) expect(redacted).not.toContain(secret);
  });

  it('keeps ordinary provider messages intact', () => {
    const messages = [
      "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
      'models/gemini-1.5-pro-002 is not found for API version v1beta, or is not supported for generateContent.',
      'Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29000.',
      'messages.0.content: Input should be a valid list',
    ];
    for (const message of messages) expect(redactUpstreamMessage(message)).toBe(message);
  });

  it('reduces an HTML page to its visible text', () => {
    const page = '<!DOCTYPE html><html><head><title>Admin</title><style>body{color:red}</style><script>var token="abc"</script></head><body><h1>502 Bad Gateway</h1><p>nginx &amp; friends</p><!-- internal: 10.0.0.5 --></body></html>';
    expect(redactUpstreamMessage(page)).toBe('502 Bad Gateway nginx & friends');
  });

  it('caps the length', () => {
    const redacted = redactUpstreamMessage('x '.repeat(5_000));
    expect(redacted.length).toBe(MAX_UPSTREAM_MESSAGE_LENGTH);
    expect(redacted.endsWith('…')).toBe(true);
  });

  it('does not match very short configured secrets inside ordinary words', () => {
    expect(redactUpstreamMessage('the model is overloaded', ['the'])).toBe('the model is overloaded');
  });
});

describe('deploymentSecrets', () => {
  it('lists the api key and configured credential header values (and their tokens)', () => {
    expect(deploymentSecrets({ apiKey: 'k-1234567', headers: { authorization: 'Bearer custom-token-1', 'x-tenant': 'acme-corporation', 'X-Custom-Key': 'ck-000111' } })).toEqual(['k-1234567', 'Bearer custom-token-1', 'custom-token-1', 'ck-000111']);
  });
});
