/**
 * OpenAI chat request → Gemini `generateContent` / `streamGenerateContent` request.
 *
 * Choices worth knowing (each follows Google's API reference or SDK types):
 * - system and developer messages, wherever they appear, become `systemInstruction` (Gemini has
 *   no system role inside `contents`); their text parts are kept in order.
 * - assistant → role `model`; tool results (`role: tool`) → `functionResponse` parts in a `user`
 *   content, named after the matching assistant tool call (searched backwards, so ids reused by a
 *   later turn resolve to the nearest call); consecutive contents of one role are merged because
 *   Gemini expects the turns to alternate.
 * - images: `data:` URLs → `inlineData`; http(s) URLs → `fileData.fileUri`, with the MIME type
 *   guessed from the file extension when it has one. Gemini fetches the URL itself (public URLs,
 *   YouTube and Files API URIs); the gateway never downloads client URLs, which keeps the adapter
 *   pure and the gateway out of server-side request forgery.
 * - a thinking model's `thoughtSignature` on a function call travels through OpenAI clients in
 *   `tool_calls[].extra_content.google.thought_signature` (the convention of Google's own OpenAI
 *   compatibility layer) and is sent back on the functionCall part.
 * - function call / response ids are not sent upstream: ids the gateway generated (`call_0`) are
 *   unknown to Gemini.
 * - reasoning_effort → thinkingConfig.thinkingBudget with the budgets Google documents for its
 *   OpenAI compatibility layer (none 0, low 1024, medium 8192, high 24576); thought summaries are
 *   requested (includeThoughts) so that clients receive `reasoning_content`.
 */
import { isJsonObject, parseEmbeddedJson } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { ChatContentPart, ChatMessage, ChatRequest, ChatTool, Deployment, JsonObject, UpstreamRequest } from '../types.js';
import { toGeminiParameters, toGeminiResponseSchema } from './schema.js';
import type {
  GeminiContent,
  GeminiGenerateContentRequest,
  GeminiGenerationConfig,
  GeminiPart,
  GeminiThinkingConfig,
  GeminiTool,
  GeminiToolConfig,
} from './wire.js';

/** The OpenAI chat fields this adapter maps (besides model, messages, stream, stream_options). */
export const GEMINI_SUPPORTED_PARAMS: ReadonlySet<string> = new Set([
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'n',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'response_format',
  'reasoning_effort',
  'tools',
  'tool_choice',
]);

/** Thinking budgets Google documents for reasoning_effort in its OpenAI compatibility layer. */
const THINKING_BUDGETS: Record<string, number> = { none: 0, low: 1024, medium: 8192, high: 24576 };

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
};

const AUDIO_TYPES: Record<string, string> = { wav: 'audio/wav', mp3: 'audio/mp3' };

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/**
 * `{apiBase}/v1beta/{models/name}:{method}`. An api_base that already ends in a version segment
 * (`.../v1beta`) is used as is, since LiteLLM configs often carry it.
 */
export function methodUrl(target: Deployment, method: string, query = ''): string {
  const base = /\/v1(alpha|beta)?\d*$/.test(target.apiBase) ? target.apiBase : `${target.apiBase}/v1beta`;
  return `${base}/${modelResource(target.upstreamModel)}:${method}${query}`;
}

/** `models/gemini-2.0-flash`; tuned models keep their own collection (`tunedModels/...`). */
export function modelResource(model: string): string {
  if (model.startsWith('models/') || model.startsWith('tunedModels/')) return model;
  return `models/${encodeURIComponent(model)}`;
}

/** The API key goes in `x-goog-api-key`, never in the URL where proxies and logs would keep it. */
export function geminiHeaders(target: Deployment): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (target.apiKey) headers['x-goog-api-key'] = target.apiKey;
  return Object.assign(headers, target.headers);
}

function textOf(content: ChatMessage['content'], param: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part, index) => {
      if (part.type === 'text' && typeof part.text === 'string') return part.text;
      throw invalid(`${param}[${index}]`, `${param}[${index}] has type "${part.type}"; only text parts are accepted here`);
    })
    .join('');
}

function parseDataUrl(url: string, param: string): { mimeType: string; data: string } {
  const match = /^data:([^;,]*)((?:;[^;,]*)*?)(;base64)?,(.*)$/s.exec(url);
  if (!match) throw invalid(param, `${param} is not a valid data: URL`);
  const mimeType = match[1] || 'text/plain';
  if (match[3]) return { mimeType, data: match[4] };
  let text: string;
  try {
    text = decodeURIComponent(match[4]);
  } catch {
    throw invalid(param, `${param} is not a valid data: URL (malformed percent-encoding); send the data base64-encoded (";base64,")`);
  }
  return { mimeType, data: Buffer.from(text, 'utf8').toString('base64') };
}

function guessMimeType(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const extension = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return extension ? IMAGE_TYPES[extension] : undefined;
}

function mediaPart(url: string, param: string): GeminiPart {
  if (url.startsWith('data:')) return { inlineData: parseDataUrl(url, param) };
  if (/^https?:\/\//i.test(url) || url.startsWith('gs://')) {
    const mimeType = guessMimeType(url);
    return { fileData: mimeType ? { mimeType, fileUri: url } : { fileUri: url } };
  }
  throw invalid(param, `${param} must be a data: URL or an http(s) URL`);
}

function userPart(part: ChatContentPart, param: string): GeminiPart | undefined {
  switch (part.type) {
    case 'text': {
      const text = (part as { text?: unknown }).text;
      if (typeof text !== 'string') throw invalid(`${param}.text`, `${param}.text must be a string`);
      // Gemini refuses empty text parts ("empty text parameter").
      return text.length > 0 ? { text } : undefined;
    }
    case 'image_url': {
      const image = (part as { image_url?: unknown }).image_url;
      const url = typeof image === 'string' ? image : isJsonObject(image) ? image.url : undefined;
      if (typeof url !== 'string') throw invalid(`${param}.image_url.url`, `${param}.image_url.url must be a string`);
      return mediaPart(url, `${param}.image_url.url`);
    }
    case 'input_audio': {
      const audio = (part as { input_audio?: unknown }).input_audio;
      if (!isJsonObject(audio) || typeof audio.data !== 'string' || typeof audio.format !== 'string') {
        throw invalid(`${param}.input_audio`, `${param}.input_audio must be {"data": base64, "format": "wav" | "mp3"}`);
      }
      return { inlineData: { mimeType: AUDIO_TYPES[audio.format] ?? `audio/${audio.format}`, data: audio.data } };
    }
    case 'file': {
      const file = (part as { file?: unknown }).file;
      const data = isJsonObject(file) ? file.file_data : undefined;
      if (typeof data !== 'string' || !data.startsWith('data:')) {
        throw invalid(`${param}.file.file_data`, `${param}.file.file_data must be a data: URL (uploaded file ids are not supported by Gemini)`);
      }
      return { inlineData: parseDataUrl(data, `${param}.file.file_data`) };
    }
    default:
      throw invalid(`${param}.type`, `${param} has type "${part.type}", which Gemini cannot take; send text, image_url, input_audio or file parts`);
  }
}

function userParts(content: ChatMessage['content'], param: string): GeminiPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content.length > 0 ? [{ text: content }] : [];
  return content.map((part, index) => userPart(part, `${param}[${index}]`)).filter((part): part is GeminiPart => part !== undefined);
}

interface ToolCallExtras {
  extra_content?: { google?: { thought_signature?: unknown } };
}

function parseArguments(raw: unknown, param: string): JsonObject {
  if (raw === undefined || raw === null || raw === '') return {};
  if (isJsonObject(raw)) return raw;
  if (typeof raw === 'string') {
    try {
      const parsed: unknown = parseEmbeddedJson(raw);
      if (isJsonObject(parsed)) return parsed;
    } catch {
      // reported below
    }
  }
  throw invalid(param, `${param} must be a JSON object encoded as a string (Gemini takes function arguments as an object)`);
}

function assistantParts(message: ChatMessage, param: string): GeminiPart[] {
  const parts: GeminiPart[] = [];
  const text = textOf(message.content, `${param}.content`);
  if (text.length > 0) parts.push({ text });
  (message.tool_calls ?? []).forEach((call, index) => {
    const callParam = `${param}.tool_calls[${index}]`;
    const name = call?.function?.name;
    if (typeof name !== 'string' || name.length === 0) throw invalid(`${callParam}.function.name`, `${callParam}.function.name must be a non-empty string`);
    const part: GeminiPart = { functionCall: { name, args: parseArguments(call.function.arguments, `${callParam}.function.arguments`) } };
    const signature = (call as ToolCallExtras).extra_content?.google?.thought_signature;
    if (typeof signature === 'string') part.thoughtSignature = signature;
    parts.push(part);
  });
  return parts;
}

/** The function name of a tool result: from the nearest earlier assistant call with its id. */
function toolCallName(messages: ChatMessage[], index: number, message: ChatMessage): string {
  const id = message.tool_call_id;
  if (typeof id === 'string') {
    for (let earlier = index - 1; earlier >= 0; earlier--) {
      const call = messages[earlier].role === 'assistant' ? messages[earlier].tool_calls?.find((candidate) => candidate?.id === id) : undefined;
      if (call?.function?.name) return call.function.name;
    }
  }
  if (typeof message.name === 'string' && message.name.length > 0) return message.name;
  throw invalid(
    `messages[${index}].tool_call_id`,
    `messages[${index}] is a tool result whose tool_call_id ${JSON.stringify(id ?? null)} matches no earlier assistant tool call; Gemini needs the function name, so send the assistant message with its tool_calls before the result`,
  );
}

/** A tool result as Gemini's response object: a JSON object as is, anything else as {content}. */
function functionResponseBody(content: ChatMessage['content'], param: string): JsonObject {
  const text = textOf(content, param);
  try {
    const parsed: unknown = parseEmbeddedJson(text);
    if (isJsonObject(parsed)) return parsed;
  } catch {
    // plain text result (or JSON nested too deep to pass on as an object)
  }
  return { content: text };
}

interface Converted {
  contents: GeminiContent[];
  systemInstruction?: GeminiContent;
}

function pushContent(contents: GeminiContent[], role: 'user' | 'model', parts: GeminiPart[]): void {
  if (parts.length === 0) return;
  const last = contents.at(-1);
  if (last && last.role === role) last.parts = [...(last.parts ?? []), ...parts];
  else contents.push({ role, parts });
}

export function convertMessages(messages: ChatMessage[]): Converted {
  const contents: GeminiContent[] = [];
  const systemParts: GeminiPart[] = [];
  messages.forEach((message, index) => {
    const param = `messages[${index}]`;
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOf(message.content, `${param}.content`);
        if (text.length > 0) systemParts.push({ text });
        break;
      }
      case 'user':
        pushContent(contents, 'user', userParts(message.content, `${param}.content`));
        break;
      case 'assistant':
        pushContent(contents, 'model', assistantParts(message, param));
        break;
      case 'tool':
        pushContent(contents, 'user', [{ functionResponse: { name: toolCallName(messages, index, message), response: functionResponseBody(message.content, `${param}.content`) } }]);
        break;
      case 'function': {
        if (typeof message.name !== 'string' || message.name.length === 0) throw invalid(`${param}.name`, `${param} has role "function" but no "name"`);
        pushContent(contents, 'user', [{ functionResponse: { name: message.name, response: functionResponseBody(message.content, `${param}.content`) } }]);
        break;
      }
      default:
        throw invalid(`${param}.role`, `${param}.role "${String(message.role)}" is not supported`);
    }
  });
  return systemParts.length > 0 ? { contents, systemInstruction: { parts: systemParts } } : { contents };
}

function convertTools(tools: ChatTool[]): GeminiTool[] {
  const declarations = tools.map((tool, index) => {
    const param = `tools[${index}]`;
    if (tool.type !== 'function') throw invalid(`${param}.type`, `${param}.type "${String(tool.type)}" is not supported by Gemini; only "function" tools are`);
    const parameters = toGeminiParameters(tool.function.parameters, `${param}.function.parameters`);
    return {
      name: tool.function.name,
      ...(tool.function.description ? { description: tool.function.description } : {}),
      ...(parameters ? { parameters } : {}),
    };
  });
  return declarations.length > 0 ? [{ functionDeclarations: declarations }] : [];
}

function convertToolChoice(choice: ChatRequest['tool_choice']): GeminiToolConfig {
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  if (isJsonObject(choice) && choice.type === 'function' && isJsonObject(choice.function) && typeof choice.function.name === 'string') {
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
  }
  throw invalid('tool_choice', 'tool_choice must be "auto", "none", "required" or {"type":"function","function":{"name":...}}');
}

/** Client fields win; deployment defaults (litellm_params) fill the gaps. */
function parameter(request: ChatRequest, target: Deployment, name: string): unknown {
  const value = request[name];
  return value !== undefined && value !== null ? value : target.defaultParams[name] ?? undefined;
}

function numberParameter(request: ChatRequest, target: Deployment, name: string): number | undefined {
  const value = parameter(request, target, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(name, `"${name}" must be a number`);
  return value;
}

function maxOutputTokens(request: ChatRequest, target: Deployment): number | undefined {
  const client = request.max_completion_tokens ?? request.max_tokens;
  if (client !== undefined && client !== null) return client;
  const fallback = target.defaultParams.max_completion_tokens ?? target.defaultParams.max_tokens;
  return typeof fallback === 'number' ? fallback : undefined;
}

function responseFormat(format: unknown, config: GeminiGenerationConfig): void {
  if (format === undefined || format === null) return;
  if (!isJsonObject(format) || typeof format.type !== 'string') throw invalid('response_format', 'response_format must be {"type": "text" | "json_object" | "json_schema"}');
  if (format.type === 'text') return;
  if (format.type === 'json_object') {
    config.responseMimeType = 'application/json';
    return;
  }
  if (format.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    const schema = isJsonObject(format.json_schema) ? format.json_schema.schema : undefined;
    if (schema !== undefined) config.responseSchema = toGeminiResponseSchema(schema);
    return;
  }
  throw invalid('response_format.type', `response_format.type "${format.type}" is not supported; use "text", "json_object" or "json_schema"`);
}

function thinkingConfig(effort: unknown): GeminiThinkingConfig | undefined {
  if (effort === undefined || effort === null) return undefined;
  const budget = typeof effort === 'string' ? THINKING_BUDGETS[effort] : undefined;
  if (budget === undefined) {
    throw invalid('reasoning_effort', `reasoning_effort ${JSON.stringify(effort)} has no Gemini thinking budget; use one of ${Object.keys(THINKING_BUDGETS).join(', ')}`);
  }
  return budget === 0 ? { thinkingBudget: 0 } : { thinkingBudget: budget, includeThoughts: true };
}

export function generationConfig(request: ChatRequest, target: Deployment): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = {};
  const temperature = numberParameter(request, target, 'temperature');
  if (temperature !== undefined) config.temperature = temperature;
  const topP = numberParameter(request, target, 'top_p');
  if (topP !== undefined) config.topP = topP;
  const topK = numberParameter(request, target, 'top_k');
  if (topK !== undefined) config.topK = topK;
  const maxTokens = maxOutputTokens(request, target);
  if (maxTokens !== undefined) config.maxOutputTokens = maxTokens;
  const stop = parameter(request, target, 'stop');
  if (typeof stop === 'string') config.stopSequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) config.stopSequences = stop.filter((item): item is string => typeof item === 'string');
  const n = numberParameter(request, target, 'n');
  if (n !== undefined) config.candidateCount = n;
  const seed = numberParameter(request, target, 'seed');
  if (seed !== undefined) config.seed = seed;
  const presence = numberParameter(request, target, 'presence_penalty');
  if (presence !== undefined) config.presencePenalty = presence;
  const frequency = numberParameter(request, target, 'frequency_penalty');
  if (frequency !== undefined) config.frequencyPenalty = frequency;
  responseFormat(parameter(request, target, 'response_format'), config);
  const thinking = thinkingConfig(parameter(request, target, 'reasoning_effort'));
  if (thinking) config.thinkingConfig = thinking;
  return config;
}

export function geminiChatBody(request: ChatRequest, target: Deployment): GeminiGenerateContentRequest {
  const { contents, systemInstruction } = convertMessages(request.messages);
  const body: GeminiGenerateContentRequest = { contents };
  if (systemInstruction) body.systemInstruction = systemInstruction;
  const tools = Array.isArray(request.tools) ? convertTools(request.tools) : [];
  if (tools.length > 0) {
    body.tools = tools;
    if (request.tool_choice !== undefined && request.tool_choice !== null) body.toolConfig = convertToolChoice(request.tool_choice);
  }
  const config = generationConfig(request, target);
  if (Object.keys(config).length > 0) body.generationConfig = config;
  return body;
}

export function buildGeminiChatRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
  const stream = request.stream === true;
  return {
    url: stream ? methodUrl(target, 'streamGenerateContent', '?alt=sse') : methodUrl(target, 'generateContent'),
    method: 'POST',
    headers: geminiHeaders(target),
    body: JSON.stringify(geminiChatBody(request, target)),
    framing: 'sse',
  };
}
