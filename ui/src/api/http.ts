/**
 * The one place the UI talks HTTP: every request carries the session's key as
 * `Authorization: Bearer …` (never in a URL), errors become ApiError with the gateway's
 * OpenAI-style envelope decoded, and a 401 ends the session.
 */
import { session } from '../session';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The gateway has no such route: the feature is not available on this gateway (yet). */
  get unavailable(): boolean {
    return this.status === 404 && (this.code === 'route_not_found' || this.code === null);
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function authorization(key?: string): Record<string, string> {
  const secret = key ?? session.current()?.key;
  return secret ? { authorization: `Bearer ${secret}` } : {};
}

async function errorOf(response: Response, path: string): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`.trim();
  let code: string | null = null;
  try {
    const body = (await response.json()) as { error?: { message?: unknown; code?: unknown } | string; detail?: unknown; message?: unknown };
    if (typeof body.error === 'object' && body.error) {
      if (typeof body.error.message === 'string') message = body.error.message;
      if (typeof body.error.code === 'string') code = body.error.code;
    } else if (typeof body.error === 'string') {
      message = body.error;
    } else if (typeof body.detail === 'string') {
      message = body.detail;
    } else if (typeof body.message === 'string') {
      message = body.message;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(message, response.status, code, path);
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  body?: unknown;
  query?: Query;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Use this key instead of the session's (sign-in probes a key before keeping it). */
  key?: string;
}

/** Sends a request and returns the raw Response once its status is 2xx. */
export async function send(path: string, options: RequestOptions = {}): Promise<Response> {
  const url = withQuery(path, options.query);
  const headers: Record<string, string> = { ...authorization(options.key), ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError('the gateway did not answer: check that it is running', 0, 'network_error', path);
  }
  if (!response.ok) {
    const error = await errorOf(response, path);
    if (response.status === 401 && !options.key) session.expire('The gateway refused the key: sign in again.');
    throw error;
  }
  if (!options.key) session.touch();
  return response;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options);
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** Downloads a response body (e.g. a CSV export) as a file, without putting the key in a URL. */
export async function download(path: string, query: Query, filename: string): Promise<void> {
  const response = await send(path, { query });
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = href;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 1_000);
}

/** A TanStack refetchInterval that stops polling an endpoint this gateway does not serve. */
export function pollUnlessUnavailable(ms: number) {
  return (query: { state: { error: Error | null } }): number | false => (query.state.error instanceof ApiError && query.state.error.unavailable ? false : ms);
}
