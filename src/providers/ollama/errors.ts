/**
 * Ollama's error answers: `{"error": "model \"x\" not found, try pulling it first"}` with a status
 * that keeps its meaning (docs/api/errors.mdx: 400, 404, 429, 500, 502). A plain-text "404 page not
 * found" comes from Ollama's router when the path is wrong, which in practice means an api_base
 * that is not the server root; the message says so.
 */
import { parseHttpError } from '../shared/errors.js';
import type { ProviderErrorInfo } from '../types.js';

type HeaderBag = Record<string, string | string[] | undefined>;

export function parseOllamaError(status: number, body: string, headers: HeaderBag): ProviderErrorInfo {
  const info = parseHttpError(status, body, headers);
  if (status === 404 && /^404 page not found$/i.test(body.trim())) {
    return { ...info, message: `${body.trim()}: api_base must be the Ollama server's root URL (such as http://localhost:11434), without /v1 or /api` };
  }
  return info;
}
