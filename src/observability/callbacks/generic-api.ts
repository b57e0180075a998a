/**
 * The generic_api callback (LiteLLM's, also named "generic"): POSTs batches of StandardLoggingPayload
 * as a JSON array to GENERIC_LOGGER_ENDPOINT with the GENERIC_LOGGER_HEADERS
 * ("Name=value,Other=value", as LiteLLM reads them).
 */
import type { LoggedCall } from './callback-content.js';
import { postJson } from './delivery-queue.js';
import { standardLoggingPayload } from './standard-logging-payload.js';

export interface GenericApiSettings {
  endpoint: string;
  headers: Record<string, string>;
}

/** Reads the destination from the environment; throws a sentence when it cannot be used. */
export function genericApiSettingsFrom(env: Record<string, string | undefined>): GenericApiSettings {
  const endpoint = env.GENERIC_LOGGER_ENDPOINT?.trim();
  if (!endpoint) throw new Error('the generic_api callback needs GENERIC_LOGGER_ENDPOINT (the URL the logs are POSTed to)');
  try {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
  } catch {
    throw new Error(`GENERIC_LOGGER_ENDPOINT is not an http(s) URL: ${endpoint}`);
  }
  return { endpoint, headers: parseHeaders(env.GENERIC_LOGGER_HEADERS ?? '') };
}

/** "Authorization=Bearer x,X-Team=a" → headers; a part without "=" is refused (naming `variable`). */
export function parseHeaders(text: string, variable = 'GENERIC_LOGGER_HEADERS'): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0) throw new Error(`${variable}: "${part.trim()}" is not Name=value`);
    headers[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return headers;
}

export function genericApiSender(settings: GenericApiSettings, options: { redact: boolean }): (batch: LoggedCall[], signal: AbortSignal) => Promise<void> {
  return (batch, signal) =>
    postJson(
      settings.endpoint,
      batch.map(({ row, content }) => standardLoggingPayload(row, options, content)),
      settings.headers,
      signal,
    );
}
