/**
 * `ollama/<model>`: an OpenAI chat request as Ollama's POST /api/generate (docs/api.md, "Generate a
 * completion"), which takes one `prompt`, an optional `system` and the `images`. The chat is
 * flattened the way LiteLLM's `ollama/` provider does it, with two refinements so that the model's
 * own template still frames the text: leading system messages go to `system` (not into the prompt),
 * and a single user turn is sent as the bare prompt. Longer chats become LiteLLM's transcript of
 * "### User:" / "### Assistant:" / "### System:" sections.
 */
import type { ChatMessage, ChatRequest, Deployment, JsonObject, UpstreamRequest } from '../types.js';
import { ollamaToolCalls } from './chat-request.js';
import { readContent } from './content.js';
import { controlsFor, ollamaPost, withDefaults } from './options.js';

export interface FlattenedChat {
  system?: string;
  prompt: string;
  images: string[];
}

const isSystem = (message: ChatMessage) => message.role === 'system' || message.role === 'developer';
const isUserSide = (message: ChatMessage) => message.role === 'user' || message.role === 'tool' || message.role === 'function';

function toolCallsText(message: ChatMessage, index: number): string {
  if (!message.tool_calls || message.tool_calls.length === 0) return '';
  // LiteLLM's rendering: the calls without ids, arguments as objects.
  const calls = ollamaToolCalls(message, index).map((call) => ({ function: call.function }));
  return `Tool Calls: ${JSON.stringify(calls, null, 2)}`;
}

export function flattenMessages(messages: ChatMessage[]): FlattenedChat {
  const images: string[] = [];
  const texts = messages.map((message, index) => {
    const content = readContent(message, index);
    images.push(...content.images);
    return content.text;
  });

  let start = 0;
  const systemTexts: string[] = [];
  while (start < messages.length && isSystem(messages[start])) systemTexts.push(texts[start++]);
  const system = systemTexts.filter((text) => text.length > 0).join('\n\n');
  // Only instructions and nothing to answer: they are the prompt (an empty prompt only loads the model).
  if (start === messages.length) return { prompt: system, images };
  if (start === messages.length - 1 && messages[start].role === 'user') {
    return { ...(system ? { system } : {}), prompt: texts[start], images };
  }

  const sections: string[] = [];
  let index = start;
  while (index < messages.length) {
    const message = messages[index];
    const heading = isUserSide(message) ? 'User' : isSystem(message) ? 'System' : 'Assistant';
    const parts: string[] = [];
    // Consecutive messages of the same side are merged into one section, as LiteLLM does.
    while (index < messages.length) {
      const current = messages[index];
      const currentHeading = isUserSide(current) ? 'User' : isSystem(current) ? 'System' : 'Assistant';
      if (currentHeading !== heading) break;
      const text = [texts[index], current.role === 'assistant' ? toolCallsText(current, index) : ''].filter((part) => part.length > 0).join('\n');
      if (text.length > 0) parts.push(text);
      index++;
    }
    if (parts.length > 0) sections.push(`### ${heading}:\n${parts.join('\n')}`);
  }
  return { ...(system ? { system } : {}), prompt: sections.join('\n\n'), images };
}

export function buildOllamaGenerateRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
  const merged = withDefaults(request, target);
  const stream = request.stream === true;
  const { system, prompt, images } = flattenMessages(merged.messages);
  const body: JsonObject = { model: target.upstreamModel, prompt };
  if (system !== undefined) body.system = system;
  if (images.length > 0) body.images = images;
  // Ollama streams unless told otherwise, so the choice is always explicit.
  body.stream = stream;
  Object.assign(body, controlsFor(merged));
  return ollamaPost(target, '/api/generate', body, stream);
}
