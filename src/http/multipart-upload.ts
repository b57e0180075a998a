/**
 * Reads a multipart/form-data request (an audio upload, images to edit) with busboy as it arrives:
 * its text fields, and its files (one unless `maxFiles` says more) each held once in memory as the
 * chunks it came in (never concatenated: each upstream attempt streams the same chunks), refused
 * past `maxFileBytes` (or all files together past `maxTotalBytes`) as soon as they grow past it.
 */
import type busboyType from 'busboy';
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import type { Upload } from '../providers/native.js';
import { lazyModule } from '../lazy-module.js';

/** busboy is loaded with the first multipart upload, not at start. */
const busboy = lazyModule<typeof busboyType>('busboy');

const MAX_FIELDS = 50;
const MAX_FIELD_BYTES = 64 * 1024;
/**
 * A control character in a field's or file's name: busboy decodes them from `filename*=UTF-8''%00`
 * (RFC 5987), and written back into the upstream form's part header they make it malformed (the
 * upstream's parser refuses it, or never answers).
 */
const CONTROL = /[\u0000-\u001f\u007f]/;

export interface MultipartBody {
  fields: Record<string, string | string[]>;
  /** The first file. */
  upload: Upload | undefined;
  /** Every file, in the order they came. */
  uploads: Upload[];
}

export interface MultipartOptions {
  /** The form fields files may come in. */
  fileFields: string[];
  maxFileBytes: number;
  /** Default 1. */
  maxFiles?: number;
  /** All files together (default: maxFileBytes × maxFiles). */
  maxTotalBytes?: number;
}

export function readMultipart(request: IncomingMessage, options: MultipartOptions): Promise<MultipartBody> {
  const maxFiles = options.maxFiles ?? 1;
  const maxTotalBytes = options.maxTotalBytes ?? options.maxFileBytes * maxFiles;
  return new Promise((resolve, reject) => {
    // A compressed form would reach busboy as garbage: refused, naming the coding, not misread.
    const coding = String(request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (coding !== 'identity' && coding !== '') {
      request.resume();
      reject(new GatewayError('unsupported_media_type', `Content-Encoding "${coding.slice(0, 64)}" is not supported for multipart/form-data: send the form uncompressed`));
      return;
    }
    let parser: busboyType.Busboy;
    try {
      parser = busboy()({ headers: request.headers, limits: { files: maxFiles, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, fileSize: options.maxFileBytes } });
    } catch (error) {
      reject(new GatewayError('invalid_request', `the body must be multipart/form-data: ${(error as Error).message}`));
      return;
    }
    const fields: Record<string, string | string[]> = {};
    const uploads: Upload[] = [];
    let total = 0;
    let failed: GatewayError | undefined;
    const fail = (error: GatewayError) => {
      if (failed) return;
      failed = error;
      request.unpipe(parser);
      request.resume(); // drain what is left, so the answer can be sent
      reject(error);
    };
    parser.on('field', (name, value, info) => {
      if (CONTROL.test(name)) return fail(new GatewayError('invalid_request', `form field name ${JSON.stringify(name.slice(0, 64))} holds a control character`, { param: name.slice(0, 64) }));
      if (info.valueTruncated) return fail(new GatewayError('request_too_large', `form field "${name}" is longer than ${MAX_FIELD_BYTES} bytes`, { param: name }));
      // `timestamp_granularities[]` and other repeated fields keep every value.
      const existing = fields[name];
      fields[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    });
    parser.on('file', (name, stream, info) => {
      // busboy destroys the file's stream with its parse error (a form cut short): an 'error' event with no listener is thrown, and would end the process.
      stream.on('error', (error: Error) => fail(new GatewayError('invalid_request', `the multipart body could not be read: ${error.message}`, { param: name })));
      if (!options.fileFields.includes(name)) {
        stream.resume();
        return fail(new GatewayError('invalid_request', `unexpected file field "${name}": files go in ${options.fileFields.map((field) => `"${field}"`).join(' or ')}`, { param: name }));
      }
      if (CONTROL.test(info.filename ?? '')) {
        stream.resume();
        return fail(new GatewayError('invalid_request', `the filename of "${name}" holds a control character`, { param: name }));
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        bytes += chunk.length;
        total += chunk.length;
        if (total > maxTotalBytes) fail(new GatewayError('request_too_large', `the uploaded files are larger than ${Math.round(maxTotalBytes / 1024 / 1024)} MiB together, the most this endpoint takes`, { param: name }));
      });
      stream.on('limit', () => fail(new GatewayError('request_too_large', `the uploaded file is larger than ${Math.round(options.maxFileBytes / 1024 / 1024)} MiB, the most this endpoint takes`, { param: name })));
      stream.on('end', () => {
        uploads.push({ field: name, filename: info.filename || (name === 'file' ? 'audio' : name), contentType: info.mimeType || 'application/octet-stream', chunks, bytes });
      });
    });
    parser.on('filesLimit', () => fail(new GatewayError('invalid_request', maxFiles === 1 ? 'send one file per request' : `send at most ${maxFiles} files per request`)));
    parser.on('fieldsLimit', () => fail(new GatewayError('invalid_request', `more than ${MAX_FIELDS} form fields`)));
    parser.on('error', (error: Error) => fail(new GatewayError('invalid_request', `the multipart body could not be read: ${error.message}`)));
    parser.on('close', () => {
      if (!failed) resolve({ fields, upload: uploads[0], uploads });
    });
    request.on('aborted', () => fail(new GatewayError('client_closed_request', 'the client closed the connection during the upload')));
    request.pipe(parser);
  });
}
