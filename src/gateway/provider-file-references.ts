/**
 * Files a provider stores (OpenAI's and Anthropic's Files APIs, Gemini's Files API) belong to the
 * provider account every key of this gateway shares: uploaded by the operator or by admin keys
 * through the /openai/v1 relay, which keeps the `files` endpoints to llm.manage_providers
 * (http/routes/openai-media.ts). A prompt that names such a file by id has the model read it, so
 * any key that learnt an id could have the model quote out another caller's file. These references
 * are refused with 400 naming the field before anything is sent, unless the caller holds
 * llm.manage_providers (an admin key) — the same rule as the relay's. Wire shapes
 * (@anthropic-ai/sdk beta messages, openai chat/responses, @google/genai types):
 * - Anthropic (`anthropic-beta: files-api-2025-04-14`): an `image` / `document` block's
 *   `source: {type: "file", file_id}`, and a `container_upload` block `{type, file_id}`;
 * - OpenAI chat: a content part `{type: "file", file: {file_id}}`; Responses: an `input_file` or
 *   `input_image` part with `file_id`;
 * - Gemini: a `fileData.fileUri` (proto `file_data.file_uri`), or an image URL the chat mapping
 *   turns into one, naming a Files API file (`https://generativelanguage.googleapis.com/v1beta/files/…`).
 * Inline files (base64 data, data: URLs) and public URLs stay allowed.
 * The same for an earlier spoken answer named by id in a chat assistant turn (`"audio": {"id"}`,
 * openai ChatCompletionAssistantMessageParam.audio): OpenAI keeps the audio of an answer given with
 * `"modalities": ["audio"]`, which only admin keys may ask for (gateway/validate.ts), and the model
 * hears it again.
 */
import { GatewayError } from '../errors.js';
import { isJsonObject } from '../json-object.js';
import type { ChatRequest } from '../providers/types.js';

/** Block and part types whose `file_id` names a stored file (Anthropic sources, container uploads; Responses parts). */
const FILE_ID_TYPES = new Set(['file', 'container_upload', 'input_file', 'input_image']);
/** A Gemini Files API file (any API version), as `File.uri` names it. */
const GEMINI_FILE_URI = /^\s*https?:\/\/generativelanguage\.googleapis\.com\/v[^/]*\/files\//i;
const URL_KEY = /(url|uri)$/i;
/** Nesting walked at most: the JSON body parser already refuses deeper bodies (http/json-body.ts). */
const MAX_DEPTH = 128;

function refused(path: Array<string | number>, field: string, reference: string): GatewayError {
  let param = '';
  for (const segment of path) param += typeof segment === 'number' ? `[${segment}]` : param ? `.${segment}` : segment;
  param += param ? `.${field}` : field;
  const shown = JSON.stringify(reference.trim().slice(0, 100));
  if (field === AUDIO_ID) {
    return new GatewayError(
      'invalid_request',
      `${param}: ${shown} names an audio answer stored on the provider account this gateway's keys share, which another caller asked for (audio answers need an admin key): only a key with the llm.manage_providers permission may reference one; send the earlier answer as text ("content")`,
      { param },
    );
  }
  return new GatewayError(
    'invalid_request',
    `${param}: ${shown} names a file stored on the provider account this gateway's keys share, which other callers uploaded: only a key with the llm.manage_providers permission may reference one; send the file inline (base64 data or a data: URL)`,
    { param },
  );
}

const AUDIO_ID = 'audio.id';

/** A chat message's earlier audio answer by id (`{"role": "assistant", "audio": {"id"}}`). */
function audioIdOf(message: Record<string, unknown>): string | undefined {
  const audio = message.audio;
  return typeof message.role === 'string' && isJsonObject(audio) && typeof audio.id === 'string' && audio.id !== '' ? audio.id : undefined;
}

/** The stored-file reference one object makes itself (not its children): the field and its value. */
function referenceOf(node: Record<string, unknown>): [string, string] | undefined {
  const audio = audioIdOf(node);
  if (audio !== undefined) return [AUDIO_ID, audio];
  const type = node.type;
  if (typeof type !== 'string') return undefined;
  if (FILE_ID_TYPES.has(type) && typeof node.file_id === 'string' && node.file_id !== '') return ['file_id', node.file_id];
  if (type === 'file' && isJsonObject(node.file) && typeof node.file.file_id === 'string' && node.file.file_id !== '') return ['file.file_id', node.file.file_id];
  return undefined;
}

/** `path` is a stack of the segments walked, joined only when a reference is found. */
function visit(node: unknown, path: Array<string | number>, depth: number): void {
  if (typeof node !== 'object' || node === null) return;
  if (depth > MAX_DEPTH) throw new GatewayError('invalid_request', `the body is nested more than ${MAX_DEPTH} levels deep`, { param: 'body' });
  if (Array.isArray(node)) {
    for (let index = 0; index < node.length; index++) {
      path.push(index);
      visit(node[index], path, depth + 1);
      path.pop();
    }
    return;
  }
  const object = node as Record<string, unknown>;
  const reference = referenceOf(object);
  if (reference) throw refused(path, reference[0], reference[1]);
  // A tool call's arguments are the caller's own JSON (a `file_id` there names nothing stored).
  const toolCall = typeof object.type === 'string' && object.type.endsWith('tool_use');
  for (const key of Object.keys(object)) {
    const value = object[key];
    if (typeof value === 'string') {
      if (URL_KEY.test(key) && GEMINI_FILE_URI.test(value)) throw refused(path, key, value);
      continue;
    }
    if (typeof value !== 'object' || value === null || key === 'metadata' || key === 'args' || (toolCall && key === 'input')) continue;
    path.push(key);
    visit(value, path, depth + 1);
    path.pop();
  }
}

/**
 * Refuses stored-file references anywhere in a body relayed as it came (`/anthropic`, `/gemini`,
 * `/openai/v1/*`, a native `/v1/responses`), unless the caller may use the provider account's resources.
 */
export function assertNoProviderFilesInBody(body: unknown, mayUseProviderResources: boolean): void {
  if (mayUseProviderResources || !isJsonObject(body)) return;
  visit(body, [], 0);
}

/** Refuses stored-file references in a chat request's message parts (text-only messages cost one check each). */
export function assertNoProviderFilesInChat(request: ChatRequest, mayUseProviderResources: boolean): void {
  if (mayUseProviderResources) return;
  const messages = request.messages;
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index];
    const audio = audioIdOf(message as unknown as Record<string, unknown>);
    if (audio !== undefined) throw refused(['messages', index], AUDIO_ID, audio);
    const content = message.content;
    if (Array.isArray(content)) visit(content, ['messages', index, 'content'], 0);
  }
}
