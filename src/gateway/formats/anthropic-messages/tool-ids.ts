/**
 * Gemini thinking models sign their function calls and need the signature back with the call on the
 * next turn (Gemini 3 refuses the turn without it). OpenAI-format messages carry it as
 * `tool_calls[].extra_content.google.thought_signature` (the convention of Google's OpenAI
 * compatibility layer, which the Gemini adapter follows). An Anthropic tool_use block has no field
 * for it, but its id comes back verbatim (in the assistant turn and in `tool_result.tool_use_id`),
 * so the signature rides in the id, base64url-encoded to keep Anthropic's id alphabet
 * ([A-Za-z0-9_-]).
 */
import { randomBytes } from 'node:crypto';
import type { ChatToolCall } from '../../../providers/types.js';

const MARKER = '__thought__';

function signatureOf(call: { extra_content?: unknown }): string | undefined {
  const google = (call.extra_content as { google?: { thought_signature?: unknown } } | undefined)?.google;
  const signature = google?.thought_signature;
  return typeof signature === 'string' && signature.length > 0 ? signature : undefined;
}

/** The tool_use id for an OpenAI tool call: its id (or a fresh one), with its thought signature. */
export function toolUseIdOf(call: { id?: string | null; extra_content?: unknown }): string {
  const id = call.id && call.id.length > 0 ? call.id : `toolu_${randomBytes(12).toString('hex')}`;
  const signature = signatureOf(call);
  return signature ? `${id}${MARKER}${Buffer.from(signature, 'base64').toString('base64url')}` : id;
}

/**
 * The OpenAI tool call fields for a tool_use id. The id itself is kept whole, so that the
 * tool_result answering it (which quotes the same id) still matches.
 */
export function toolCallExtrasOf(toolUseId: string): Pick<ChatToolCall, 'id'> & { extra_content?: { google: { thought_signature: string } } } {
  const at = toolUseId.indexOf(MARKER);
  if (at < 0) return { id: toolUseId };
  const encoded = toolUseId.slice(at + MARKER.length);
  return { id: toolUseId, extra_content: { google: { thought_signature: Buffer.from(encoded, 'base64url').toString('base64') } } };
}
