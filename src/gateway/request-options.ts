/**
 * LiteLLM's request conventions, read in one place for every model endpoint (/v1/chat/completions,
 * /v1/completions, /v1/embeddings, /v1/messages) before the body is validated: the fields that steer
 * the gateway are taken off a copy of the body (the client's object is never written) and set on the
 * call context, so no upstream ever sees them.
 *
 * - `metadata` → kept on the usage row (`requester_metadata`), bounded; never forwarded.
 * - `tags`, `metadata.tags`, header `x-litellm-tags` (comma-separated) → `requestTags`.
 * - `user` (or Anthropic's `metadata.user_id`, or header `x-litellm-end-user-id`) → `endUser`. `user`
 *   is also an OpenAI parameter (the provider's abuse monitoring), so it stays on the request.
 * - `num_retries` / `x-litellm-num-retries`, `timeout` / `x-litellm-timeout` → per-call retries and
 *   upstream timeout, bounded (the body wins over the header).
 * - `mock_response` → answered locally (stages/mock.ts).
 * - `caching` (LiteLLM's boolean) → the gateway's own `cache` controls, read by the cache stage.
 * - `guardrails` (a list of names, or LiteLLM's object keyed by name) and `metadata.guardrails` →
 *   `guardrails`, the configured guardrails this call adds (stages/guardrails.ts refuses unknown names).
 * - `user_api_key_*` (what LiteLLM's proxy writes into metadata about the key) → removed with a
 *   warning: who calls is only ever what the API key says.
 */
import { isJsonObject } from '../json-object.js';
import { GatewayError } from '../errors.js';
import type { CallContext, RequestOptions } from './call-context.js';
import { assertRequestBounds, REQUEST_BOUNDS } from './request-bounds.js';

type HeaderBag = Record<string, string | string[] | undefined>;

/** Most retries a request may ask for (each may wait for a backoff). */
export const MAX_REQUEST_RETRIES = 10;
/** Longest upstream timeout a request may ask for, in seconds. */
export const MAX_REQUEST_TIMEOUT_SECONDS = 600;

/** Body fields that are the gateway's alone (besides `cache`, `fallbacks`, `power_level`, read by their stages). */
const CONSUMED = ['metadata', 'tags', 'num_retries', 'timeout', 'mock_response', 'guardrails', 'caching'] as const;
const IDENTITY_PREFIX = 'user_api_key_';

function fail(param: string, message: string): never {
  throw new GatewayError('invalid_request', message, { param });
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function headerOf(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The body without the gateway's own fields; the body itself when it has none (nothing to copy). */
function needsCopy(body: Record<string, unknown>): boolean {
  for (const field of CONSUMED) if (field in body) return true;
  for (const key in body) if (key.startsWith(IDENTITY_PREFIX)) return true;
  return false;
}

/**
 * Reads the request's LiteLLM fields and headers into `context` and returns the body the request
 * path works on. A body that is not an object is returned as it is (validation refuses it).
 */
export function consumeRequestOptions(context: CallContext, headers: HeaderBag, raw: unknown, endpoint: 'openai' | 'anthropic' = 'openai'): unknown {
  if (!isJsonObject(raw)) return raw;
  assertRequestBounds(raw);
  const unsupportedHeaders = unsupportedLiteLLMHeaders(headers);
  // The usual request: no LiteLLM field or header, at most `user`. Nothing to copy or allocate.
  if (!needsCopy(raw) && !hasLiteLLMHeader(headers) && unsupportedHeaders.length === 0) {
    const endUser = endUserOf(raw, undefined, endpoint);
    if (endUser !== undefined && context.endUser === undefined) context.endUser = endUser;
    return raw;
  }
  const options: RequestOptions = {};
  const warnings: string[] = unsupportedHeaders.map((name) =>
    ACCOUNT_HEADERS.includes(name)
      ? `ignored header "${name}": which OpenAI organization or project pays is the operator's choice (litellm_params.organization), so it was not forwarded`
      : `ignored header "${name}": this gateway does not support it`,
  );

  const tags = new Set<string>();
  addTags(tags, raw.tags, 'tags');
  let metadata: Record<string, unknown> | undefined;
  if (present(raw.metadata)) {
    if (!isJsonObject(raw.metadata)) fail('metadata', `"metadata" must be an object, got ${Array.isArray(raw.metadata) ? 'array' : typeof raw.metadata}`);
    metadata = withoutIdentityFields(raw.metadata, 'metadata', warnings);
    addTags(tags, metadata.tags, 'metadata.tags');
  }
  const headerTags = headerOf(headers, 'x-litellm-tags');
  if (headerTags !== undefined) {
    for (const tag of headerTags.split(',')) {
      const trimmed = tag.trim();
      if (trimmed.length > REQUEST_BOUNDS.tagChars) fail('x-litellm-tags', `a tag in x-litellm-tags is ${trimmed.length} characters long; at most ${REQUEST_BOUNDS.tagChars} are accepted`);
      if (trimmed.length > 0) tags.add(trimmed);
    }
  }
  if (tags.size > REQUEST_BOUNDS.tags) fail('tags', `the request has ${tags.size} tags (body, metadata.tags and x-litellm-tags together); at most ${REQUEST_BOUNDS.tags} are accepted`);
  if (tags.size > 0) context.requestTags = [...tags];
  if (metadata && Object.keys(metadata).length > 0) context.requestMetadata = metadata;

  // An end-user header (general_settings.user_header_name, x-litellm-end-user-id) was read at the edge and wins (end-user.ts).
  const endUser = endUserOf(raw, metadata, endpoint) ?? headerOf(headers, 'x-litellm-end-user-id')?.trim();
  if (endUser !== undefined && endUser.length > 0 && context.endUser === undefined) {
    if (endUser.length > REQUEST_BOUNDS.userChars) fail('x-litellm-end-user-id', `the end user id is ${endUser.length} characters long; at most ${REQUEST_BOUNDS.userChars} are accepted`);
    context.endUser = endUser;
  }

  options.numRetries = retriesOf(raw.num_retries, 'num_retries') ?? retriesOf(headerNumber(headers, 'x-litellm-num-retries'), 'x-litellm-num-retries');
  const seconds = timeoutOf(raw.timeout, 'timeout') ?? timeoutOf(headerNumber(headers, 'x-litellm-timeout'), 'x-litellm-timeout');
  if (seconds !== undefined) options.timeoutMs = Math.round(seconds * 1000);

  if (present(raw.mock_response)) {
    if (typeof raw.mock_response !== 'string') fail('mock_response', '"mock_response" must be the text of the answer (a string)');
    options.mockResponse = raw.mock_response;
  }
  const guardrails = [...guardrailNames(raw.guardrails, 'guardrails'), ...guardrailNames(metadata?.guardrails, 'metadata.guardrails')];
  if (guardrails.length > 0) options.guardrails = [...new Set(guardrails)];

  if (numberOfOptions(options) > 0 || warnings.length > 0) context.requestOptions = warnings.length > 0 ? { ...options, warnings } : options;
  if (!needsCopy(raw)) return raw;

  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if ((CONSUMED as readonly string[]).includes(key)) continue;
    if (key.startsWith(IDENTITY_PREFIX)) {
      warnings.push(`removed "${key}": who calls is set by the API key, never by the request`);
      continue;
    }
    // JSON.parse keeps a "__proto__" field as an own field; assigned with `=` it would become the
    // copy's prototype instead and lend its fields (`stream: true`) to every later read of the request.
    if (key === '__proto__') Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
    else copy[key] = value;
  }
  // Anthropic's metadata carries its own user_id, which the /v1/messages mapping reads.
  if (endpoint === 'anthropic' && metadata && typeof metadata.user_id === 'string') copy.metadata = { user_id: metadata.user_id };
  if (present(raw.caching)) copy.cache = cacheControlsOf(raw.caching, raw.cache);
  if (warnings.length > 0) context.requestOptions = { ...options, warnings };
  return copy;
}

/**
 * general_settings.reject_clientside_metadata_tags (LiteLLM's auth_checks.py
 * _reject_clientside_metadata_tags_check, in its words): a request that sends tags of its own is
 * refused with 400, so only the key's tags are recorded and nothing the client says steers tag
 * routing. LiteLLM checks `metadata.tags` only; the body's `tags` and the x-litellm-tags header
 * are read as tags here (above), so they are refused too. Called only with the setting on
 * (http/client-tags.ts): the path above is unchanged without it.
 */
export function assertNoClientTags(headers: HeaderBag, body: unknown): void {
  let param: string | undefined;
  if (isJsonObject(body)) {
    if (isJsonObject(body.metadata) && 'tags' in body.metadata) param = 'metadata.tags';
    else if ('tags' in body) param = 'tags';
  }
  if (param === undefined && headers['x-litellm-tags'] !== undefined) param = 'x-litellm-tags';
  if (param === undefined) return;
  fail(param, `Client-side '${param}' not allowed in request. 'reject_clientside_metadata_tags'=True. Tags can only be set via API key metadata.`);
}

const HEADERS = ['x-litellm-tags', 'x-litellm-end-user-id', 'x-litellm-timeout', 'x-litellm-num-retries'];

/** LiteLLM's per-request headers read elsewhere: the key (authenticator.ts). */
const READ_ELSEWHERE = ['x-litellm-api-key'];

/**
 * OpenAI's headers choosing the organization / project of the account a call is billed to: on the
 * gateway that account is the operator's, so a client never chooses it (they are not forwarded).
 */
const ACCOUNT_HEADERS = ['openai-organization', 'openai-project'];

/**
 * `x-litellm-*` request headers (x-litellm-enable-message-redaction, …) that nothing here honours,
 * and OpenAI's account headers: warned about, never ignored unsaid.
 */
function unsupportedLiteLLMHeaders(headers: HeaderBag): string[] {
  let names: string[] | undefined;
  // On every request: no array of the names, and Node's header names are lower-case already.
  for (const name in headers) {
    if (name.startsWith('openai-')) {
      const lower = name.toLowerCase();
      if (ACCOUNT_HEADERS.includes(lower)) (names ??= []).push(lower);
      continue;
    }
    if (!name.startsWith('x-litellm-')) continue;
    const lower = name.toLowerCase();
    if (!HEADERS.includes(lower) && !READ_ELSEWHERE.includes(lower)) (names ??= []).push(lower);
  }
  return names ?? NONE;
}

const NONE: string[] = [];

function hasLiteLLMHeader(headers: HeaderBag): boolean {
  for (const name of HEADERS) if (headers[name] !== undefined) return true;
  return false;
}

function numberOfOptions(options: RequestOptions): number {
  return (options.numRetries !== undefined ? 1 : 0) + (options.timeoutMs !== undefined ? 1 : 0) + (options.mockResponse !== undefined ? 1 : 0) + (options.guardrails !== undefined ? 1 : 0);
}

function addTags(tags: Set<string>, value: unknown, param: string): void {
  if (!present(value)) return;
  if (!Array.isArray(value)) fail(param, `"${param}" must be an array of strings`);
  value.forEach((tag, index) => {
    if (typeof tag !== 'string') fail(`${param}[${index}]`, `${param}[${index}] must be a string`);
    if (tag.length > 0) tags.add(tag);
  });
}

function withoutIdentityFields(metadata: Record<string, unknown>, param: string, warnings: string[]): Record<string, unknown> {
  let kept: Record<string, unknown> | undefined;
  for (const key of Object.keys(metadata)) {
    if (!key.startsWith(IDENTITY_PREFIX)) continue;
    kept ??= { ...metadata };
    delete kept[key];
    warnings.push(`removed "${param}.${key}": who calls is set by the API key, never by the request`);
  }
  return kept ?? metadata;
}

function endUserOf(body: Record<string, unknown>, metadata: Record<string, unknown> | undefined, endpoint: 'openai' | 'anthropic'): string | undefined {
  if (endpoint === 'openai' && present(body.user)) {
    if (typeof body.user !== 'string') fail('user', '"user" must be a string (the id of your end user)');
    return body.user.length > 0 ? body.user : undefined;
  }
  const userId = metadata?.user_id;
  return typeof userId === 'string' && userId.length > 0 ? userId : undefined;
}

function headerNumber(headers: HeaderBag, name: string): number | string | undefined {
  const value = headerOf(headers, name)?.trim();
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : value;
}

function retriesOf(value: unknown, param: string): number | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_REQUEST_RETRIES) {
    fail(param, `"${param}" must be a whole number of retries from 0 to ${MAX_REQUEST_RETRIES}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function timeoutOf(value: unknown, param: string): number | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_REQUEST_TIMEOUT_SECONDS) {
    fail(param, `"${param}" must be a number of seconds above 0 and at most ${MAX_REQUEST_TIMEOUT_SECONDS}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function guardrailNames(value: unknown, param: string): string[] {
  if (!present(value)) return [];
  if (isJsonObject(value)) {
    for (const [name, settings] of Object.entries(value)) {
      if (present(settings) && !(isJsonObject(settings) && Object.keys(settings).length === 0)) fail(`${param}.${name}`, `per-request settings of guardrail "${name}" are not supported: name the guardrail only (its settings come from the config)`);
    }
    return Object.keys(value);
  }
  if (!Array.isArray(value)) fail(param, `"${param}" must be a list of guardrail names`);
  return value.map((name, index) => {
    if (typeof name !== 'string' || name.length === 0) fail(`${param}[${index}]`, `${param}[${index}] must be a guardrail name (a string)`);
    return name;
  });
}

/** LiteLLM's `caching` boolean as the gateway's cache controls (merged into a `cache` object the request also sent). */
function cacheControlsOf(caching: unknown, cache: unknown): Record<string, unknown> {
  if (typeof caching !== 'boolean') fail('caching', '"caching" must be true or false');
  const base = isJsonObject(cache) ? cache : {};
  return caching ? { ...base, 'use-cache': true } : { ...base, 'no-cache': true, 'no-store': true };
}
