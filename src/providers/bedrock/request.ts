/**
 * OpenAI chat request → Bedrock Converse request (`POST {endpoint}/model/{modelId}/converse`, or
 * `/converse-stream` for streams), SigV4-signed. Pure apart from the signing clock; throws a 400
 * naming the field when a request cannot be expressed in Converse's format.
 *
 * - system and developer messages → `system` text blocks; tool results (`role: tool`) →
 *   `toolResult` blocks of a user turn; consecutive turns of one role are merged, since Converse
 *   wants them to alternate.
 * - images must be base64 `data:` URLs (Converse takes image bytes, not URLs, and the gateway does
 *   not fetch client URLs); PDFs in `file` parts → `document` blocks.
 * - max_tokens / temperature / top_p / stop → inferenceConfig; tools → toolConfig. top_k has no
 *   Converse field: for Claude it goes in additionalModelRequestFields (`top_k`, Anthropic's own
 *   name), as the Bedrock documentation for Anthropic models shows; other models refuse it.
 *   tool_choice "none" has no Converse equivalent and is refused rather than ignored.
 * - The model id may be a foundation model id, a cross-region inference profile id
 *   (`us.anthropic.claude-…`) or an ARN; it is URL-encoded into the path.
 */
import { isJsonObject, parseEmbeddedJson } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { ChatMessage, ChatRequest, ChatTool, Deployment, JsonObject, UpstreamRequest } from '../types.js';
import { isAnthropicModel, maxTokensWithThinking, reasoningBlocks, thinkingOf } from './reasoning.js';
import { credentialsOf, signedHeaders } from './signing.js';
import type {
  BedrockContentBlock,
  BedrockConverseRequest,
  BedrockDocumentFormat,
  BedrockImageFormat,
  BedrockInferenceConfig,
  BedrockMessage,
  BedrockToolChoice,
  BedrockToolSpec,
} from './wire.js';

/** The OpenAI chat fields this adapter maps (besides model, messages, stream, stream_options). */
export const BEDROCK_SUPPORTED_PARAMS: ReadonlySet<string> = new Set([
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  // Anthropic models only, through additionalModelRequestFields (refused for the others).
  'top_k',
  'stop',
  'tools',
  'tool_choice',
  // Claude only, as extended thinking (reasoning.ts).
  'reasoning_effort',
  'thinking',
  // Only n = 1: Converse returns one message per call.
  'n',
]);

const IMAGE_FORMATS: Record<string, BedrockImageFormat> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };
const DOCUMENT_FORMATS: Record<string, BedrockDocumentFormat> = { 'application/pdf': 'pdf', 'text/csv': 'csv', 'text/html': 'html', 'text/plain': 'txt', 'text/markdown': 'md' };
const DATA_URL = /^data:([^;,]+)((?:;[^;,]+)*?);base64,(.*)$/s;

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param, provider: 'bedrock' });
}

/** `{api_base}/model/{modelId}/{action}`: the api_base is the Bedrock Runtime endpoint. */
export function modelUrl(target: Deployment, action: 'converse' | 'converse-stream' | 'invoke'): string {
  return `${target.apiBase}/model/${encodeURIComponent(target.upstreamModel)}/${action}`;
}

/** A signed JSON POST to the deployment's Bedrock Runtime endpoint. */
export function signedRequest(target: Deployment, url: string, body: string, framing: UpstreamRequest['framing'], accept = 'application/json'): UpstreamRequest {
  const headers = signedHeaders(url, body, { 'content-type': 'application/json', accept, ...target.headers }, credentialsOf(target));
  return { url, method: 'POST', headers, body, framing };
}

function textOf(content: ChatMessage['content'], param: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part, index) => {
      const record = part as JsonObject;
      const text = record.type === 'text' ? record.text : record.type === 'refusal' ? record.refusal : undefined;
      if (typeof text !== 'string') throw invalid(`${param}[${index}]`, `${param}[${index}] has type ${JSON.stringify(record.type)}; only text parts are accepted here`);
      return text;
    })
    .join('');
}

/** A document's name, unique within the request as Converse requires: from its message and part index. */
function documentName(param: string): string {
  const [message, part] = /messages\[(\d+)\]\.content\[(\d+)\]/.exec(param)?.slice(1) ?? ['0', '0'];
  return `document-${message}-${part}`;
}

function mediaBlock(url: string, param: string, kind: 'image' | 'document'): BedrockContentBlock {
  const match = DATA_URL.exec(url);
  if (!match) throw invalid(param, `${param} must be a base64 data: URL: Bedrock Converse takes the bytes of ${kind === 'image' ? 'an image' : 'a document'}, not a URL`);
  const mediaType = match[1].toLowerCase();
  if (kind === 'image') {
    const format = IMAGE_FORMATS[mediaType];
    if (!format) throw invalid(param, `${param}: Bedrock accepts images of type ${Object.keys(IMAGE_FORMATS).join(', ')}, got ${mediaType}`);
    return { image: { format, source: { bytes: match[3] } } };
  }
  const format = DOCUMENT_FORMATS[mediaType];
  if (!format) throw invalid(param, `${param}: Bedrock accepts documents of type ${Object.keys(DOCUMENT_FORMATS).join(', ')}, got ${mediaType}`);
  return { document: { format, name: documentName(param), source: { bytes: match[3] } } };
}

function userBlocks(content: ChatMessage['content'], param: string): BedrockContentBlock[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content.length > 0 ? [{ text: content }] : [];
  const blocks: BedrockContentBlock[] = [];
  content.forEach((raw, index) => {
    const part = raw as JsonObject;
    const partParam = `${param}[${index}]`;
    switch (part.type) {
      case 'text':
        if (typeof part.text !== 'string') throw invalid(`${partParam}.text`, `${partParam}.text must be a string`);
        // Converse refuses blank text blocks.
        if (part.text.length > 0) blocks.push({ text: part.text });
        break;
      case 'image_url': {
        const image = part.image_url;
        const url = typeof image === 'string' ? image : isJsonObject(image) && typeof image.url === 'string' ? image.url : undefined;
        if (url === undefined) throw invalid(`${partParam}.image_url.url`, `${partParam}.image_url.url must be a string`);
        blocks.push(mediaBlock(url, `${partParam}.image_url.url`, 'image'));
        break;
      }
      case 'file': {
        const file = isJsonObject(part.file) ? part.file : {};
        if (typeof file.file_data !== 'string') throw invalid(`${partParam}.file.file_data`, `${partParam}.file.file_data must be a base64 data: URL (file ids are not supported by Bedrock)`);
        blocks.push(mediaBlock(file.file_data, `${partParam}.file.file_data`, 'document'));
        break;
      }
      default:
        throw invalid(`${partParam}.type`, `${partParam} has type ${JSON.stringify(part.type)}, which Bedrock Converse cannot take; send text, image_url or file parts`);
    }
  });
  return blocks;
}

function toolInput(raw: unknown, param: string): unknown {
  if (raw === undefined || raw === null || raw === '') return {};
  if (typeof raw !== 'string') throw invalid(param, `${param} must be a JSON object encoded as a string`);
  try {
    const parsed: unknown = parseEmbeddedJson(raw);
    if (isJsonObject(parsed)) return parsed;
  } catch {
    // reported below
  }
  throw invalid(param, `${param} must be a JSON object encoded as a string (Bedrock tool inputs are objects)`);
}

function assistantBlocks(message: ChatMessage, param: string): BedrockContentBlock[] {
  // Signed reasoning goes back first, as Claude wrote it before its text and tool calls.
  const blocks: BedrockContentBlock[] = reasoningBlocks(message);
  const text = textOf(message.content, `${param}.content`);
  if (text.length > 0) blocks.push({ text });
  (message.tool_calls ?? []).forEach((call, index) => {
    const callParam = `${param}.tool_calls[${index}]`;
    const name = call?.function?.name;
    if (typeof call?.id !== 'string' || typeof name !== 'string' || name.length === 0) throw invalid(callParam, `${callParam} needs an "id" and a "function.name"`);
    blocks.push({ toolUse: { toolUseId: call.id, name, input: toolInput(call.function.arguments, `${callParam}.function.arguments`) } });
  });
  return blocks;
}

function toolResultBlock(message: ChatMessage, param: string): BedrockContentBlock {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
    throw invalid(`${param}.tool_call_id`, `${param} (role "tool") needs the "tool_call_id" of the tool call it answers`);
  }
  const text = textOf(message.content, `${param}.content`);
  return { toolResult: { toolUseId: message.tool_call_id, content: [{ text }] } };
}

export function convertMessages(messages: ChatMessage[]): { system: Array<{ text: string }>; messages: BedrockMessage[] } {
  const system: Array<{ text: string }> = [];
  const turns: BedrockMessage[] = [];
  const append = (role: BedrockMessage['role'], blocks: BedrockContentBlock[]) => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: [...blocks] });
  };
  messages.forEach((message, index) => {
    const param = `messages[${index}]`;
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOf(message.content, `${param}.content`);
        if (text.length > 0) system.push({ text });
        break;
      }
      case 'user':
        append('user', userBlocks(message.content, `${param}.content`));
        break;
      case 'assistant':
        append('assistant', assistantBlocks(message, param));
        break;
      case 'tool':
        append('user', [toolResultBlock(message, param)]);
        break;
      default:
        throw invalid(`${param}.role`, `${param}: role ${JSON.stringify(message.role)} is not supported by Bedrock Converse; send tool results as role "tool" messages with a tool_call_id`);
    }
  });
  return { system, messages: turns };
}

function convertTools(tools: ChatTool[]): BedrockToolSpec[] {
  return tools.map((tool, index) => {
    const param = `tools[${index}]`;
    if (tool.type !== 'function' || !isJsonObject(tool.function) || typeof tool.function.name !== 'string') {
      throw invalid(`${param}.type`, `${param} must be a "function" tool with a function.name (Bedrock takes no other tool types)`);
    }
    return {
      toolSpec: {
        name: tool.function.name,
        ...(tool.function.description ? { description: tool.function.description } : {}),
        inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
      },
    };
  });
}

function convertToolChoice(choice: ChatRequest['tool_choice']): BedrockToolChoice | undefined {
  if (choice === undefined || choice === null || choice === 'auto') return choice === 'auto' ? { auto: {} } : undefined;
  if (choice === 'required') return { any: {} };
  if (choice === 'none') throw invalid('tool_choice', 'tool_choice "none" has no equivalent in Bedrock Converse: leave the tools out of the request instead');
  if (isJsonObject(choice) && choice.type === 'function' && isJsonObject(choice.function) && typeof choice.function.name === 'string') return { tool: { name: choice.function.name } };
  throw invalid('tool_choice', 'tool_choice must be "auto", "required" or {"type":"function","function":{"name":…}}');
}

function withDefaults(request: ChatRequest, target: Deployment): ChatRequest {
  const merged: ChatRequest = { ...request };
  for (const [key, value] of Object.entries(target.defaultParams)) {
    if (BEDROCK_SUPPORTED_PARAMS.has(key) && (merged[key] === undefined || merged[key] === null)) merged[key] = value;
  }
  return merged;
}

export function converseBody(original: ChatRequest, target: Deployment): BedrockConverseRequest {
  const request = withDefaults(original, target);
  if (typeof request.n === 'number' && request.n !== 1) throw invalid('n', 'n must be 1: Bedrock Converse returns one answer per call');
  const { system, messages } = convertMessages(request.messages);
  if (messages.length === 0) throw invalid('messages', 'messages must contain at least one user or assistant message (Bedrock Converse takes system text separately)');
  const body: BedrockConverseRequest = { messages };
  if (system.length > 0) body.system = system;

  const inference: BedrockInferenceConfig = {};
  const thinking = thinkingOf(request, target.upstreamModel);
  const requested = request.max_completion_tokens ?? request.max_tokens;
  const maxTokens = thinking ? maxTokensWithThinking(typeof requested === 'number' ? requested : undefined, thinking, target.modelInfo) : requested;
  if (typeof maxTokens === 'number') inference.maxTokens = maxTokens;
  if (typeof request.temperature === 'number') inference.temperature = request.temperature;
  if (typeof request.top_p === 'number') inference.topP = request.top_p;
  if (typeof request.stop === 'string') inference.stopSequences = [request.stop];
  else if (Array.isArray(request.stop) && request.stop.length > 0) inference.stopSequences = request.stop;
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  const additional: JsonObject = {};
  if (typeof request.top_k === 'number') {
    if (!isAnthropicModel(target.upstreamModel)) throw invalid('top_k', `top_k is not supported by Bedrock Converse for ${target.upstreamModel} (only Anthropic models take it)`);
    additional.top_k = request.top_k;
  }
  if (thinking) additional.thinking = thinking;
  if (Object.keys(additional).length > 0) body.additionalModelRequestFields = additional;

  if (Array.isArray(request.tools) && request.tools.length > 0) {
    const toolChoice = convertToolChoice(request.tool_choice);
    body.toolConfig = { tools: convertTools(request.tools), ...(toolChoice ? { toolChoice } : {}) };
  } else if (request.tool_choice !== undefined && request.tool_choice !== null && request.tool_choice !== 'none' && request.tool_choice !== 'auto') {
    throw invalid('tool_choice', 'tool_choice names a tool but the request declares no tools');
  }
  return body;
}

export function buildBedrockChatRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
  const body = JSON.stringify(converseBody(request, target));
  if (request.stream === true) return signedRequest(target, modelUrl(target, 'converse-stream'), body, 'eventstream', 'application/vnd.amazon.eventstream');
  return signedRequest(target, modelUrl(target, 'converse'), body, 'json');
}
