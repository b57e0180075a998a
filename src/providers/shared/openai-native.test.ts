import { describe, expect, it } from 'vitest';
import type { NativeCall, Upload } from '../native.js';
import type { Deployment } from '../types.js';
import { multipartRequest } from './openai-native.js';

const target = { id: 'd', modelName: 'whisper', provider: 'openai', upstreamModel: 'whisper-1', apiBase: 'http://upstream.test/v1', headers: {} } as Deployment;

async function formOf(field: string, filename: string, fieldName: string): Promise<string> {
  const upload: Upload = { field, filename, contentType: 'audio/wav', chunks: [Buffer.from('RIFF')], bytes: 4 };
  const call: NativeCall = { method: 'audio/transcriptions', body: { [fieldName]: 'v' }, stream: false, upload };
  const request = multipartRequest(call, upload, target);
  const parts: Buffer[] = [];
  for await (const chunk of request.bodyStream!()) parts.push(chunk as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  expect(Buffer.byteLength(text)).toBe(Number(request.headers['content-length']));
  return text;
}

describe('multipartRequest names in part headers', () => {
  it('percent-encodes control characters, DEL, quotes and backslashes, so no name can end its header or add one', async () => {
    const evil = 'a\r\nX-Injected: 1\u0000\u0001\u001f\u007f"\\z';
    const text = await formOf('file', evil, evil);
    const encoded = 'a%0D%0AX-Injected: 1%00%01%1F%7F%22%5Cz';
    expect(text).toContain(`Content-Disposition: form-data; name="${encoded}"\r\n`);
    expect(text).toContain(`Content-Disposition: form-data; name="file"; filename="${encoded}"\r\n`);
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u000c\u000e-\u001f\u007f]/);
    expect(text).not.toContain('\r\nX-Injected');
  });

  it('keeps ordinary names, non-ASCII included, as they are', async () => {
    const text = await formOf('file', 'réunion 2024 (final).wav', 'timestamp_granularities[]');
    expect(text).toContain('name="timestamp_granularities[]"');
    expect(text).toContain('filename="réunion 2024 (final).wav"');
  });
});
