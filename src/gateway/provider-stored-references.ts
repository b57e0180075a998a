/**
 * Objects OpenAI's Responses API stores on the provider account every key of this gateway shares,
 * named by id in a request (openai/resources/responses/responses.d.ts, ResponseCreateParams):
 * `previous_response_id` (a stored response, whose conversation the model reads), `conversation`
 * (`"conv_…"` or `{id}`), `prompt: {id, version, variables}` (a stored prompt template) and an input
 * item `{"type":"item_reference","id"}` (or `{id}` alone) naming a stored item. The gateway records
 * no owner for what the upstream stores (conversations and prompts are created through the relay's
 * admin-only endpoints), so a key that learnt another tenant's id would continue its conversation:
 * for a key without llm.manage_providers each is refused with 400 naming the field, before anything
 * is sent. Only top-level fields and `input`'s items are looked at (a few checks per request).
 *
 * Gemini's context caches are the same kind of object: a `cachedContents/…` resource (Vertex AI:
 * `projects/…/cachedContents/…`) holds a system instruction, contents and tools someone stored on
 * the Google project every key shares, and a `generateContent` body naming it in `cachedContent`
 * (proto `cached_content`; in a `countTokens` body, inside `generateContentRequest`) has the model
 * read all of it (@google/genai GenerateContentParameters.config.cachedContent). The gateway serves
 * no `cachedContents` endpoint, so every cache was made outside it, by the operator or another
 * tenant: refused the same way for a key without llm.manage_providers.
 */
import { GatewayError } from '../errors.js';
import { isJsonObject } from '../json-object.js';

function refused(param: string, value: unknown): GatewayError {
  const shown = typeof value === 'string' ? ` ${JSON.stringify(value.slice(0, 100))}` : '';
  return new GatewayError(
    'invalid_request',
    `${param}${shown} names an object stored on the provider account this gateway's keys share (a response, conversation, prompt or item other callers may have made), whose owner the gateway does not know: only a key with the llm.manage_providers permission may reference one; send the conversation in "input" and the instructions in "instructions", or use /v1/responses, which keeps each caller's responses for "previous_response_id"`,
    { param },
  );
}

/**
 * Refuses references to stored Responses objects in a body relayed as it came, unless the caller
 * may use the provider account's resources. `previousResponse: false` leaves `previous_response_id`
 * to the caller (a route that resolves it among the gateway's own stored responses).
 */
export function assertNoProviderStoredObjects(body: Record<string, unknown>, mayUseProviderResources: boolean, previousResponse = true): void {
  if (mayUseProviderResources) return;
  const previous = body.previous_response_id;
  if (previousResponse && typeof previous === 'string' && previous !== '') throw refused('previous_response_id', previous);
  const conversation = body.conversation;
  if (typeof conversation === 'string' && conversation !== '') throw refused('conversation', conversation);
  if (isJsonObject(conversation)) throw refused('conversation.id', conversation.id);
  const prompt = body.prompt;
  if (isJsonObject(prompt)) throw refused('prompt.id', prompt.id);
  const input = body.input;
  if (!Array.isArray(input)) return;
  for (let index = 0; index < input.length; index++) {
    const item: unknown = input[index];
    if (!isJsonObject(item) || typeof item.id !== 'string' || item.id === '') continue;
    // An item_reference, or an item with an id and neither type nor role (OpenAI reads it as one).
    if (item.type === 'item_reference' || ((item.type === undefined || item.type === null) && item.role === undefined)) throw refused(`input[${index}].id`, item.id);
  }
}

const CACHED_CONTENT_FIELDS = ['cachedContent', 'cached_content'] as const;
const GENERATE_REQUEST_FIELDS = ['generateContentRequest', 'generate_content_request'] as const;

function refusedCache(param: string, value: unknown): GatewayError {
  const shown = typeof value === 'string' ? ` ${JSON.stringify(value.slice(0, 100))}` : '';
  return new GatewayError(
    'invalid_request',
    `${param}${shown} names a context cache stored on the Google project this gateway's keys share (the gateway creates none, so the operator or another caller stored its contents): only a key with the llm.manage_providers permission may use one; send the context in "contents" and "systemInstruction"`,
    { param },
  );
}

function assertNoCacheField(body: Record<string, unknown>, prefix: string): void {
  for (const field of CACHED_CONTENT_FIELDS) {
    const value = body[field];
    if (value !== undefined && value !== null && value !== '') throw refusedCache(prefix + field, value);
  }
}

/**
 * Refuses a Gemini context cache named in a `/gemini` body (a generateContent body's own field, or a
 * countTokens body's `generateContentRequest`), unless the caller may use the provider account's resources.
 */
export function assertNoGeminiContextCache(body: Record<string, unknown>, mayUseProviderResources: boolean): void {
  if (mayUseProviderResources) return;
  assertNoCacheField(body, '');
  for (const field of GENERATE_REQUEST_FIELDS) {
    const inner = body[field];
    if (isJsonObject(inner)) assertNoCacheField(inner, `${field}.`);
  }
}
