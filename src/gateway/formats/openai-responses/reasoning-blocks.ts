/**
 * Signed thinking (LiteLLM's `thinking_blocks`: Anthropic's `thinking` blocks with their signature,
 * and `redacted_thinking`) travels in a reasoning item's `encrypted_content`, the field OpenAI uses
 * for reasoning only its author can read back. Anthropic refuses a tool-use turn with thinking on
 * unless the signed blocks come back, so a stored conversation keeps them and a stateless client
 * that sends its output items back (as with `include: ["reasoning.encrypted_content"]`) returns them.
 * The content is opaque to clients: `sb1.` + base64url of the blocks as JSON.
 */
import type { JsonObject } from '../../../providers/types.js';

const PREFIX = 'sb1.';

export function encodeThinkingBlocks(blocks: JsonObject[]): string {
  return PREFIX + Buffer.from(JSON.stringify(blocks)).toString('base64url');
}

/** The blocks, or undefined for content this gateway did not write (another server's reasoning). */
export function decodeThinkingBlocks(content: unknown): JsonObject[] | undefined {
  if (typeof content !== 'string' || !content.startsWith(PREFIX)) return undefined;
  try {
    const blocks = JSON.parse(Buffer.from(content.slice(PREFIX.length), 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(blocks)) return undefined;
    const kept = blocks.filter(
      (block): block is JsonObject =>
        typeof block === 'object' && block !== null && ((block.type === 'thinking' && typeof block.thinking === 'string' && typeof block.signature === 'string') || (block.type === 'redacted_thinking' && typeof block.data === 'string')),
    );
    return kept.length > 0 ? kept : undefined;
  } catch {
    return undefined;
  }
}

/** LiteLLM's signed blocks of a message, or of a stream delta (where the text came as reasoning). */
export function signedBlocksOf(value: unknown): JsonObject[] {
  if (!Array.isArray(value)) return [];
  return value.filter((block): block is JsonObject => typeof block === 'object' && block !== null && ((block.type === 'thinking' && typeof block.signature === 'string' && block.signature.length > 0) || (block.type === 'redacted_thinking' && typeof block.data === 'string')));
}
