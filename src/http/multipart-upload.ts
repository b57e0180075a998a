/**
 * Reads a multipart/form-data request (an audio upload) with busboy as it arrives: its text fields,
 * and one file held once in memory as the chunks it came in (never concatenated: each upstream
 * attempt streams the same chunks), refused past `maxFileBytes` as soon as it grows past it.
 */
import busboy from 'busboy';
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import type { Upload } from '../providers/native.js';

const MAX_FIELDS = 50;
const MAX_FIELD_BYTES = 64 * 1024;

export interface MultipartBody {
  fields: Record<string, string | string[]>;
  upload: Upload | undefined;
}

export function readMultipart(request: IncomingMessage, options: { fileField: string; maxFileBytes: number }): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: request.headers, limits: { files: 1, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, fileSize: options.maxFileBytes } });
    } catch (error) {
      reject(new GatewayError('invalid_request', `the body must be multipart/form-data: ${(error as Error).message}`));
      return;
    }
    const fields: Record<string, string | string[]> = {};
    let upload: Upload | undefined;
    let failed: GatewayError | undefined;
    const fail = (error: GatewayError) => {
      if (failed) return;
      failed = error;
      request.unpipe(parser);
      request.resume(); // drain what is left, so the answer can be sent
      reject(error);
    };
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(new GatewayError('request_too_large', `form field "${name}" is longer than ${MAX_FIELD_BYTES} bytes`, { param: name }));
      // `timestamp_granularities[]` and other repeated fields keep every value.
      const existing = fields[name];
      fields[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    });
    parser.on('file', (name, stream, info) => {
      if (name !== options.fileField) {
        stream.resume();
        return fail(new GatewayError('invalid_request', `unexpected file field "${name}": send the audio as "${options.fileField}"`, { param: name }));
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        bytes += chunk.length;
      });
      stream.on('limit', () => fail(new GatewayError('request_too_large', `the uploaded file is larger than ${Math.round(options.maxFileBytes / 1024 / 1024)} MiB, the most this endpoint takes`, { param: name })));
      stream.on('end', () => {
        upload = { field: name, filename: info.filename || 'audio', contentType: info.mimeType || 'application/octet-stream', chunks, bytes };
      });
    });
    parser.on('filesLimit', () => fail(new GatewayError('invalid_request', 'send one file per request')));
    parser.on('fieldsLimit', () => fail(new GatewayError('invalid_request', `more than ${MAX_FIELDS} form fields`)));
    parser.on('error', (error: Error) => fail(new GatewayError('invalid_request', `the multipart body could not be read: ${error.message}`)));
    parser.on('close', () => {
      if (!failed) resolve({ fields, upload });
    });
    request.on('aborted', () => fail(new GatewayError('client_closed_request', 'the client closed the connection during the upload')));
    request.pipe(parser);
  });
}
