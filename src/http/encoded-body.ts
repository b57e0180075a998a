/**
 * A request body the gateway reads (JSON), as text, decoded from its Content-Encoding. Clients
 * that compress what they send (gzip, deflate, br) are served instead of being told their body is
 * not JSON; any other coding is refused with 415 naming it, never read as if it were plain. The
 * limit (general_settings.max_request_size_mb) holds for the bytes received and for the bytes they
 * decompress to, counted as they stream: a small body that inflates to gigabytes (a zip bomb) is
 * stopped once it passes the limit. Multipart uploads and pass-through bodies are not read here.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { errorCodes } from 'fastify';
import { GatewayError } from '../errors.js';

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** The decoder of the body's Content-Encoding (undefined: none, or identity); a GatewayError (415) for any other. */
export function decoderFor(header: string | string[] | undefined): (() => Transform) | undefined {
  if (header === undefined) return undefined;
  const coding = (Array.isArray(header) ? header.join(', ') : header).trim().toLowerCase();
  if (coding === '' || coding === 'identity') return undefined;
  const decoder = Object.hasOwn(DECODERS, coding) ? DECODERS[coding] : undefined;
  if (!decoder) {
    throw new GatewayError('unsupported_media_type', `Content-Encoding "${coding.slice(0, 64)}" is not supported: send the body uncompressed, or compressed with one of gzip, deflate or br`);
  }
  return decoder;
}

/**
 * Reads the body to its end and calls `done` once with its text, or with the error: Fastify's own
 * (body too large, wrong Content-Length: error-handler.ts words them), a 415 for an unknown coding,
 * a 413 for a body that decompresses past the limit, a 400 for one that does not decompress.
 */
export function readBodyText(headers: IncomingHttpHeaders, payload: Readable, limit: number, done: (error: Error | null, text?: string) => void): void {
  const declared = Number(headers['content-length']);
  if (declared > limit) {
    done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  let decoding: Transform | undefined;
  try {
    decoding = decoderFor(headers['content-encoding'])?.();
  } catch (error) {
    done(error as Error);
    return;
  }
  const coding = decoding ? String(headers['content-encoding']).trim().toLowerCase() : 'identity';
  const chunks: Buffer[] = [];
  let received = 0;
  let decoded = 0;
  let finished = false;
  const finish = (error: Error | null) => {
    if (finished) return;
    finished = true;
    payload.removeListener('data', onData);
    payload.removeListener('error', onError);
    if (error && decoding) {
      payload.unpipe(decoding);
      decoding.destroy();
    }
    if (error) done(error);
    else done(null, chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  };
  // The bytes as they came: held to the limit and to the Content-Length, decoded or not.
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    else if (!decoding) chunks.push(chunk);
  };
  const onError = (error: Error) => finish(new GatewayError('invalid_request', `the request body could not be read: ${error.message}`));
  const complete = () => {
    finish(!Number.isNaN(declared) && received !== declared ? new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH() : null);
  };
  payload.on('data', onData);
  payload.on('error', onError);
  if (!decoding) {
    payload.once('end', complete);
    payload.resume();
    return;
  }
  decoding.on('data', (chunk: Buffer) => {
    decoded += chunk.length;
    if (decoded > limit) {
      finish(new GatewayError('request_too_large', `the request body decompresses (${coding}) to more than the limit of ${Math.round(limit / 1024 / 1024)} MiB (general_settings.max_request_size_mb)`));
    } else {
      chunks.push(chunk);
    }
  });
  decoding.on('error', (error: Error) => finish(new GatewayError('invalid_request', `the request body is not valid ${coding} data (Content-Encoding: ${coding}): ${error.message}`)));
  decoding.once('end', complete);
  payload.pipe(decoding);
}
