/**
 * An upload is held once: readMultipart keeps a file as the chunks it arrived in, and the upstream
 * request streams those very Buffers (no concatenated copy), the same ones on every attempt.
 */
import busboy from 'busboy';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openAINative } from '../providers/shared/openai-native.js';
import type { Deployment } from '../providers/types.js';
import { readMultipart } from './multipart-upload.js';

const BOUNDARY = 'test-boundary-7f3a';

/** A request whose multipart body arrives in the given pieces. */
function requestOf(pieces: Buffer[]): IncomingMessage {
  const stream = new PassThrough();
  Object.assign(stream, { headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } });
  setImmediate(() => {
    for (const piece of pieces) stream.write(piece);
    stream.end();
  });
  return stream as unknown as IncomingMessage;
}

function formPieces(file: Buffer, pieces: number): Buffer[] {
  const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  const size = Math.ceil(file.length / pieces);
  return [head, ...Array.from({ length: pieces }, (_unused, index) => file.subarray(index * size, (index + 1) * size)), tail];
}

const deployment: Deployment = { id: 'd1', modelName: 'whisper', provider: 'openai', upstreamModel: 'whisper-1', apiBase: 'https://api.example.com/v1', apiKey: 'sk-upstream', headers: {}, defaultParams: {}, modelInfo: {}, available: true };

async function itemsOf(stream: NodeJS.ReadableStream): Promise<Buffer[]> {
  const items: Buffer[] = [];
  for await (const item of stream) items.push(item as Buffer);
  return items;
}

describe('multipart uploads', () => {
  it('keeps the file as the chunks it arrived in, and sends those same Buffers upstream on every attempt', async () => {
    const file = Buffer.from(Array.from({ length: 30_000 }, (_unused, index) => index % 251));
    const { fields, upload } = await readMultipart(requestOf(formPieces(file, 3)), { fileFields: ['file'], maxFileBytes: 1024 * 1024 });
    expect(fields).toEqual({ model: 'whisper-1' });
    expect(upload!.bytes).toBe(file.length);
    expect(upload!.chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(upload!.chunks).equals(file)).toBe(true);

    const request = openAINative.buildRequest({ method: 'audio/transcriptions', body: fields, stream: false, upload }, deployment);
    expect(request.body).toBeUndefined();
    expect(request.url).toBe('https://api.example.com/v1/audio/transcriptions');
    for (let attempt = 0; attempt < 2; attempt++) {
      const items = await itemsOf(request.bodyStream!());
      // The file's chunks themselves, by reference: nothing copied them.
      for (const chunk of upload!.chunks) expect(items.some((item) => item === chunk)).toBe(true);
      const sent = Buffer.concat(items);
      expect(String(sent.length)).toBe(request.headers['content-length']);
      // And the body is a well-formed form with the deployment's model and the file unchanged.
      const parsed = await new Promise<{ model?: string; file?: Buffer }>((resolve, reject) => {
        const parser = busboy({ headers: { 'content-type': request.headers['content-type'] } });
        const result: { model?: string; file?: Buffer } = {};
        const parts: Buffer[] = [];
        parser.on('field', (name, value) => {
          if (name === 'model') result.model = value;
        });
        parser.on('file', (_name, stream) => stream.on('data', (chunk: Buffer) => parts.push(chunk)));
        parser.on('close', () => resolve({ ...result, file: Buffer.concat(parts) }));
        parser.on('error', reject);
        parser.end(sent);
      });
      expect(parsed.model).toBe('whisper-1');
      expect(parsed.file!.equals(file)).toBe(true);
    }
  });

  it('refuses a file as soon as it grows past the limit', async () => {
    const file = Buffer.alloc(5_000, 3);
    await expect(readMultipart(requestOf(formPieces(file, 5)), { fileFields: ['file'], maxFileBytes: 2_000 })).rejects.toMatchObject({ message: expect.stringContaining('larger than') });
  });
});
