/**
 * Media a request names by URL is downloaded by the upstream itself; a self-hosted server (vLLM,
 * SGLang, LM Studio, …) does so from inside the operator's network, so an internal URL there would
 * let any key make it request the operator's internal services (security/media-url.ts). Such URLs
 * are refused with 400 before anything is sent — as written, and then as resolved (the returned
 * promise, to be awaited before the call goes upstream) — unless the caller holds llm.manage_providers (an
 * admin key) — on every deployment: a cloud provider cannot reach them anyway, and any
 * OpenAI-compatible deployment (`openai/` with an api_base) may be a self-hosted server.
 *
 * A URL is looked for where servers take one: string values under a key ending in `url` or `uri`
 * (`image_url.url`, `video_url.url`, `audio_url.url`, `input_image.image_url`, `file_url`,
 * `server_url`, …) or `file_data` (a file part's content, which OpenRouter and others also take as a
 * URL), never in text. Chat requests are checked on their non-text message parts only,
 * so the common text-only request costs one pass over its messages.
 */
import { GatewayError } from '../errors.js';
import { isJsonObject } from '../json-object.js';
import type { ChatRequest } from '../providers/types.js';
import { assertNoCloudStorageInChat } from './cloud-storage-references.js';
import { assertNoProviderFilesInChat } from './provider-file-references.js';
import { assertMediaHostsResolvePublic, type MediaHostUse } from '../security/media-host-resolution.js';
import { internalMediaUrlKind, isFetchableUrl, mediaUrlHostNames } from '../security/media-url.js';

const URL_KEY = /(?:url|uri|^file_data)$/i;
/** Nesting walked at most: the JSON body parser already refuses deeper bodies (http/json-body.ts). */
const MAX_DEPTH = 128;
/** Parts that carry only text: a URL written in text is not fetched. */
const TEXT_PARTS = new Set(['text', 'input_text', 'output_text']);

function refused(param: string, url: string, kind: string): GatewayError {
  return new GatewayError(
    'invalid_request',
    `${param}: ${JSON.stringify(url.trim().slice(0, 100))} points at an internal address (${kind}); a self-hosted upstream would fetch it from inside this gateway's network, so only a key with the llm.manage_providers permission may send one; send the media inline (a base64 data: URL) or as a public URL`,
    { param },
  );
}

/** The host names of the URLs that passed as written, each with where it was first met: resolved before anything is sent. */
type Hosts = Map<string, MediaHostUse>;

function visit(node: unknown, key: string, path: string, depth: number, hosts: Hosts): void {
  if (typeof node === 'string') {
    if (URL_KEY.test(key) && isFetchableUrl(node)) {
      const kind = internalMediaUrlKind(node);
      if (kind) throw refused(path, node, kind);
      for (const name of mediaUrlHostNames(node)) if (!hosts.has(name)) hosts.set(name, { param: path, url: node });
    }
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  if (depth > MAX_DEPTH) throw new GatewayError('invalid_request', `${path || 'the body'} is nested more than ${MAX_DEPTH} levels deep`, { param: path || 'body' });
  if (Array.isArray(node)) {
    node.forEach((item, index) => visit(item, key, `${path}[${index}]`, depth + 1, hosts));
    return;
  }
  for (const name of Object.keys(node)) visit((node as Record<string, unknown>)[name], name, path ? `${path}.${name}` : name, depth + 1, hosts);
}

/** Nothing to wait for when no URL names a host by name (the common request); else the lookups. */
const resolved = (hosts: Hosts): Promise<void> | undefined => (hosts.size === 0 ? undefined : assertMediaHostsResolvePublic(hosts));

/**
 * Refuses internal media URLs in a chat request's message parts, unless the caller may reach
 * internal addresses: throws for a URL internal as written, and returns the lookups of the names
 * that passed (a promise that rejects for one resolving to an internal address), if any.
 */
export function assertNoInternalMediaInChat(request: ChatRequest, mayReachInternal: boolean): Promise<void> | undefined {
  if (mayReachInternal) return undefined;
  // Made only for a message part that is not text: the common text-only request allocates nothing.
  let hosts: Hosts | undefined;
  const messages = request.messages;
  for (let index = 0; index < messages.length; index++) {
    const content = messages[index].content;
    if (!Array.isArray(content)) continue;
    for (let partIndex = 0; partIndex < content.length; partIndex++) {
      const part = content[partIndex];
      if (!isJsonObject(part) || TEXT_PARTS.has(part.type as string)) continue;
      visit(part, '', `messages[${index}].content[${partIndex}]`, 0, (hosts ??= new Map()));
    }
  }
  return hosts === undefined ? undefined : resolved(hosts);
}

/**
 * Refuses internal media URLs anywhere in a body relayed as it came (`/openai/v1/*`, `/v1/rerank`,
 * `/anthropic`, a native `/v1/responses`, the extra fields of `/v1/embeddings`), except under the
 * keys in `skip` (the caller's `metadata`, an embeddings `input` of text) — unless the caller may
 * reach internal addresses.
 */
export function assertNoInternalMediaInBody(body: unknown, mayReachInternal: boolean, skip: readonly string[] = ['metadata']): Promise<void> | undefined {
  if (mayReachInternal || !isJsonObject(body)) return undefined;
  const hosts: Hosts = new Map();
  for (const name of Object.keys(body)) if (!skip.includes(name)) visit(body[name], name, name, 1, hosts);
  return resolved(hosts);
}

/**
 * The checks of a chat request's media references, as every chat route makes them: Cloud Storage
 * URIs (read with the operator's cloud identity, cloud-storage-references.ts), files stored on the
 * shared provider account named by id (provider-file-references.ts) and internal URLs (fetched from
 * inside the operator's network, above). All are waived for a key that may reach the provider
 * account's resources and internal addresses (llm.manage_providers).
 */
export function assertChatMediaReferences(request: ChatRequest, mayUseProviderResources: boolean): Promise<void> | undefined {
  if (mayUseProviderResources) return undefined;
  assertNoCloudStorageInChat(request, false);
  assertNoProviderFilesInChat(request, false);
  return assertNoInternalMediaInChat(request, false);
}
