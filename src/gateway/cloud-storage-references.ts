/**
 * Media referenced by a Cloud Storage URI (`gs://bucket/object`) is read by the provider with the
 * operator's identity, not the caller's: Vertex AI fetches a `fileData.fileUri` of `gs://…` as the
 * project's Vertex AI service agent, which reads the project's buckets. Any key that reached a
 * Vertex deployment could otherwise have the model read out (transcribe, describe, quote) objects
 * of the operator's buckets it could never read itself. Such references are refused with 400 before
 * anything is sent, unless the caller holds llm.manage_providers (an admin key) — the same rule as
 * for the other resources of the provider account the gateway's keys share (server tools, files,
 * background responses). http(s) URLs are fetched by the provider from the public internet, as any
 * client's, and stay allowed.
 */
import { isJsonObject } from '../json-object.js';
import { GatewayError } from '../errors.js';
import type { ChatRequest } from '../providers/types.js';

/** A URI the provider would read from the operator's cloud storage. */
export function isCloudStorageUri(value: unknown): value is string {
  return typeof value === 'string' && /^\s*gs:\/\//i.test(value);
}

function refused(param: string, uri: string): GatewayError {
  return new GatewayError(
    'invalid_request',
    `${param}: ${JSON.stringify(uri.trim().slice(0, 100))} is a Cloud Storage URI, which the provider reads with this gateway's cloud identity (the operator's buckets), not yours: only a key with the llm.manage_providers permission may send one; send the file inline (a base64 data: URL) or as a public https URL`,
    { param },
  );
}

/** Refuses `gs://` image URLs in a chat request's messages, unless the caller may reach the provider account's resources. */
export function assertNoCloudStorageInChat(request: ChatRequest, mayUseProviderStorage: boolean): void {
  if (mayUseProviderStorage) return;
  request.messages.forEach((message, index) => {
    if (!Array.isArray(message.content)) return;
    message.content.forEach((part, partIndex) => {
      if (!isJsonObject(part)) return;
      const image = (part as { image_url?: unknown }).image_url;
      const url = isJsonObject(image) ? image.url : image;
      if (isCloudStorageUri(url)) throw refused(`messages[${index}].content[${partIndex}].image_url.url`, url);
    });
  });
}

/** Field names under which Google's APIs take a file's URI (JSON and proto spellings). */
const URI_FIELDS = new Set(['fileUri', 'file_uri', 'gcsUri', 'gcs_uri']);
/** Nesting walked at most: the JSON body parser already refuses deeper bodies (http/json-body.ts, MAX_JSON_DEPTH). */
const MAX_DEPTH = 128;

/**
 * Refuses Cloud Storage URIs anywhere in a Gemini / Vertex AI native body (`contents`,
 * `systemInstruction`, a countTokens `generateContentRequest`, …), unless the caller may reach the
 * provider account's resources.
 */
export function assertNoCloudStorageInGeminiBody(body: unknown, mayUseProviderStorage: boolean): void {
  if (mayUseProviderStorage) return;
  const visit = (node: unknown, path: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new GatewayError('invalid_request', `${path || 'the body'} is nested more than ${MAX_DEPTH} levels deep`, { param: path || 'body' });
    if (Array.isArray(node)) {
      node.forEach((item, index) => visit(item, `${path}[${index}]`, depth + 1));
      return;
    }
    if (!isJsonObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      const param = path ? `${path}.${key}` : key;
      if (URI_FIELDS.has(key) && isCloudStorageUri(value)) throw refused(param, value);
      if (typeof value === 'object' && value !== null) visit(value, param, depth + 1);
    }
  };
  visit(body, '', 0);
}
