/**
 * Cohere's errors: `{"message": "…"}` with the HTTP status (400 invalid request, 401 / 498 invalid
 * API key, 402 billing, 404, 429 rate or trial limit, 499 cancelled, 500, 503). 498 is Cohere's
 * "invalid token" status: treated as 401 so that it is an authentication failure everywhere.
 */
import { parseHttpError } from '../shared/errors.js';
import type { ProviderErrorInfo } from '../types.js';

type HeaderBag = Record<string, string | string[] | undefined>;

export function parseCohereError(status: number, body: string, headers: HeaderBag): ProviderErrorInfo {
  return parseHttpError(status === 498 ? 401 : status, body, headers);
}
