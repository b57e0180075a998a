/**
 * The most a request can cost, reserved against budgets and credits before the upstream call. It
 * should not be below the real cost (a call that costs more is still charged in full, and counted
 * as a reservation overrun), yet close enough not to refuse requests a budget could pay for:
 * - prompt tokens ≤ UTF-8 bytes of everything the model reads (a BPE token spans at least one
 *   byte), plus per-message framing and a fixed allowance per image or audio clip. "Everything" is
 *   the whole request body except the known control fields below, serialized: tool and function
 *   definitions, message names, tool-call and function-call arguments in the history, response
 *   formats and any field a provider may add — an allow-list of billable fields would let a new
 *   or renamed one through unpriced;
 * - completion tokens ≤ max_tokens (else the deployment's default, else the model's output limit,
 *   else DEFAULT_MAX_OUTPUT_TOKENS) plus the predicted output (`prediction`, billed as completion
 *   tokens), times the number of completions generated (`n`, or `best_of` when larger, for each
 *   prompt of a completions request whose `prompt` is an array of prompts);
 * - at the dearest price among the deployments that may serve it (fallbacks included).
 */
import type { ChatMessage, Deployment, MediaUnits, TokenPrices } from '../providers/types.js';
import { isJsonObject, someJsonObject } from '../json-object.js';
import { durationBoundPico, mediaCostPico } from './cost.js';
import { billsReportedSearches, chatSearchesPerCall } from './media-pricing.js';
import { pdfTokens, startPdfReading } from './pdf-pages.js';
import { reservedPrices } from './priority-default.js';

export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;
const IMAGE_TOKENS = 3_000;
const MESSAGE_FRAMING_TOKENS = 8;
const PICO_PER_MICRO = 1_000_000;

/**
 * Request fields that steer sampling, streaming or accounting and never reach the model as text.
 * `messages` and `prediction` are counted on their own; anything not listed here is counted as
 * prompt input.
 */
const CONTROL_FIELDS = new Set([
  'model',
  'messages',
  'prediction',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'n',
  'best_of',
  'temperature',
  'top_p',
  'top_k',
  'min_p',
  'frequency_penalty',
  'presence_penalty',
  'repetition_penalty',
  'seed',
  'logprobs',
  'top_logprobs',
  'logit_bias',
  'echo',
  'user',
  'store',
  'metadata',
  'service_tier',
  'parallel_tool_calls',
  'reasoning_effort',
  'stop',
  'encoding_format',
  'dimensions',
  'timeout',
]);

/** Message fields that are framing, not text (the framing allowance covers them). */
const MESSAGE_CONTROL_FIELDS = new Set(['role', 'content']);

export interface CostInput {
  kind: 'chat' | 'completion' | 'embeddings';
  body: Record<string, unknown>;
  /**
   * The request goes upstream as the client sent it (a provider-native call): the gateway cannot set
   * its output limit, so a reservation covers its worst case (billing/reservation-plan.ts).
   */
  relayed?: boolean;
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Bytes of a value as sent: strings as their text, anything else as its JSON. */
function serializedBytes(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string') return utf8Length(value);
  return utf8Length(JSON.stringify(value) ?? '');
}

function contentBytes(content: ChatMessage['content']): { bytes: number; images: number; pictures: number } {
  if (typeof content === 'string') return { bytes: utf8Length(content), images: 0, pictures: 0 };
  let bytes = 0;
  let images = 0;
  let pictures = 0;
  if (!Array.isArray(content)) return { bytes: serializedBytes(content), images: 0, pictures: 0 };
  for (const part of content) {
    if (part.type === 'text' && typeof part.text === 'string') bytes += utf8Length(part.text);
    else if (part.type === 'image_url' || part.type === 'input_audio') {
      images++;
      if (part.type === 'image_url') pictures++;
    }
    // A document's tokens grow with its size; its (base64) bytes bound them, and a small one
    // still costs at least a page's worth. A PDF is billed by its pages too (pdfTokens).
    else if (part.type === 'file') bytes += Math.max(IMAGE_TOKENS, serializedBytes(part) + pdfTokens(isJsonObject(part.file) ? part.file.file_data : undefined));
    else bytes += serializedBytes(part);
  }
  return { bytes, images, pictures };
}

/** Every field of a message other than its role and content: name, tool calls, function call, … */
function messageExtraBytes(message: ChatMessage): number {
  let bytes = 0;
  // (for…in over own fields: Object.entries built a pair per field of every message of every call.)
  for (const field in message) if (Object.hasOwn(message, field) && !MESSAGE_CONTROL_FIELDS.has(field)) bytes += serializedBytes((message as Record<string, unknown>)[field]);
  return bytes;
}

/** A prompt's bound, its image parts (`image_url`, `input_image`), and whether it names input the provider keeps itself. */
interface PromptBound {
  kind: CostInput['kind'];
  tokens: number;
  pictures: number;
  storedInput: boolean;
}

function messagesBound(messages: unknown, into: PromptBound): void {
  if (!Array.isArray(messages)) {
    into.tokens += serializedBytes(messages);
    return;
  }
  into.tokens += MESSAGE_FRAMING_TOKENS;
  for (const message of messages as ChatMessage[]) {
    if (typeof message !== 'object' || message === null) {
      into.tokens += serializedBytes(message);
      continue;
    }
    const { bytes, images, pictures } = contentBytes(message.content);
    into.tokens += bytes + images * IMAGE_TOKENS + MESSAGE_FRAMING_TOKENS + messageExtraBytes(message);
    into.pictures += pictures;
  }
}

/**
 * Bounds already computed, by request body: admission, the reservation plan and the settlement's
 * usage bounds each need it, and a body is never changed once parsed (stages hand on copies).
 */
const knownBounds = new WeakMap<object, PromptBound>();

function boundOf(input: CostInput): PromptBound {
  const known = knownBounds.get(input.body);
  if (known && known.kind === input.kind) return known;
  const bound = computePromptTokenBound(input);
  knownBounds.set(input.body, bound);
  return bound;
}

/** Upper bound of prompt tokens. */
export function promptTokenBound(input: CostInput): number {
  return boundOf(input).tokens;
}

function computePromptTokenBound(input: CostInput): PromptBound {
  const { body } = input;
  const bound: PromptBound = { kind: input.kind, tokens: 0, pictures: 0, storedInput: someJsonObject(body, namesStoredInput) };
  startPdfReading();
  if (input.kind === 'chat') messagesBound(body.messages, bound);
  // Images other than a chat message's parts (a relayed native body's input_image / image_url
  // parts, held like a chat image part: OpenAI bills an image by its pixels, not its bytes),
  // Gemini inline media and the pages of inline PDFs: counted by one walk.
  else {
    const parts = nativeMediaParts(body);
    bound.pictures = parts.pictures;
    bound.tokens += (parts.pictures + parts.inline) * IMAGE_TOKENS + parts.pdfTokens;
  }
  for (const field in body) if (Object.hasOwn(body, field) && !CONTROL_FIELDS.has(field)) bound.tokens += serializedBytes(body[field]);
  // The prompt of a completion ends with a separator token; a request without one still costs it.
  if (input.kind !== 'chat') bound.tokens += 1;
  return bound;
}

/**
 * Tokens of a predicted output: OpenAI bills the rejected part of it as completion tokens, beyond
 * the answer's own limit. A relayed call (`/openai/v1/chat/completions`) carries it in `native`.
 */
export function predictionTokenBound(body: Record<string, unknown>): number {
  const prediction = body.prediction ?? (isJsonObject(body.native) ? body.native.prediction : undefined);
  if (prediction === undefined || prediction === null) return 0;
  if (typeof prediction === 'object' && !Array.isArray(prediction) && 'content' in prediction) {
    const content = (prediction as { content: unknown }).content;
    if (typeof content === 'string') return utf8Length(content);
    if (Array.isArray(content)) return content.reduce<number>((sum, part) => sum + (typeof part?.text === 'string' ? utf8Length(part.text) : serializedBytes(part)), 0);
  }
  return serializedBytes(prediction);
}

/**
 * A count as an upstream may read it: a number, or a numeric string (OpenAI refuses one, but
 * OpenAI-compatible servers that coerce types, such as pydantic-based ones, take "20" as 20).
 */
function countOf(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\s*\d+(\.\d*)?\s*$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? Math.ceil(number) : undefined;
}

/**
 * Prompts of a completions request, as OpenAI counts them (each gets its own `n` / `best_of`
 * completions): a string is one prompt, an array of strings or of token arrays one per element, an
 * array of token ids one. A relayed call (`/openai/v1/completions`) carries the client's body in
 * `native`. A media call's `prompt` (images: `units` set) is one description, never several.
 */
export function promptCount(body: Record<string, unknown>): number {
  if (body.units !== undefined && body.units !== null) return 1;
  const native = body.native;
  const prompt = body.prompt !== undefined ? body.prompt : typeof native === 'object' && native !== null && !Array.isArray(native) ? (native as Record<string, unknown>).prompt : undefined;
  if (!Array.isArray(prompt) || prompt.length === 0) return 1;
  if (prompt.every((item) => typeof item === 'number')) return 1;
  return prompt.length;
}

/**
 * Completions generated (and billed) per request: `n`, or `best_of` when it asks for more (the
 * provider generates `best_of` and returns `n`), for each prompt of the request.
 */
export function generatedChoices(body: Record<string, unknown>): number {
  return promptCount(body) * choicesPerPrompt(body);
}

/** Completions generated for each prompt: `n`, or `best_of` when larger (at least one). */
export function choicesPerPrompt(body: Record<string, unknown>): number {
  const counts = [body.n, body.best_of].map(countOf).filter((value): value is number => value !== undefined);
  return Math.max(1, ...counts);
}

/** The output a deployment allows a request that names no limit: its configured default, else the model's window. */
export function modelOutputLimit(_input: CostInput, deployment: Deployment): number {
  const configured = (deployment.defaultParams.max_completion_tokens ?? deployment.defaultParams.max_tokens) as number | undefined;
  return configured ?? deployment.modelInfo.max_output_tokens ?? deployment.modelInfo.max_tokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
}

/** Output limit settlement accepts when neither the request, the deployment nor model_info names one. */
export const DEFAULT_OUTPUT_TOKEN_LIMIT = 131_072;
/** Output tokens settlement accepts per choice beyond the limit when the request asks for reasoning. */
export const REASONING_ALLOWANCE = 32_768;

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 ? Math.floor(value) : undefined;
}

/**
 * The most completion tokens a provider may honestly bill for the request on `deployment`, as
 * settlement bounds a report (billing/usage-bounds.ts): the output limit as sent, else the
 * deployment's default, else model_info's, else DEFAULT_OUTPUT_TOKEN_LIMIT, plus a reasoning
 * allowance per choice when the request asks for reasoning or thinking, plus the predicted output
 * (its rejected tokens are billed in completion_tokens, as the reservation counts them), times the
 * completions generated (generatedChoices: every prompt's `n`, or `best_of` when larger).
 */
export function billableOutputLimit(input: CostInput, deployment: Deployment): number {
  if (input.kind === 'embeddings') return 0;
  const { body } = input;
  const requested = positive(body.max_completion_tokens) ?? positive(body.max_tokens);
  const configured = positive(deployment.defaultParams.max_completion_tokens) ?? positive(deployment.defaultParams.max_tokens);
  const limit = requested ?? configured ?? positive(deployment.modelInfo.max_output_tokens) ?? positive(deployment.modelInfo.max_tokens) ?? DEFAULT_OUTPUT_TOKEN_LIMIT;
  const choices = generatedChoices(body);
  const reasoning = body.reasoning_effort !== undefined && body.reasoning_effort !== null && body.reasoning_effort !== 'none' ? REASONING_ALLOWANCE : 0;
  const thinking = typeof body.thinking === 'object' && body.thinking !== null ? REASONING_ALLOWANCE : 0;
  return (limit + Math.max(reasoning, thinking) + predictionTokenBound(body)) * choices;
}

function outputBound(input: CostInput, deployment: Deployment): number {
  if (input.kind === 'embeddings') return 0;
  // A relayed call goes upstream without a limit the gateway chose: it reserves all that
  // settlement would accept from the provider, so no honest report can pass the reservation.
  if (input.relayed === true) return Math.max(billableOutputLimit(input, deployment), (modelOutputLimitOf(input, deployment) + predictionTokenBound(input.body)) * generatedChoices(input.body));
  return (modelOutputLimitOf(input, deployment) + predictionTokenBound(input.body)) * generatedChoices(input.body);
}

/** The request's own output limit, else the deployment's (modelOutputLimit). */
function modelOutputLimitOf(input: CostInput, deployment: Deployment): number {
  const requested = (input.body.max_completion_tokens ?? input.body.max_tokens) as number | undefined;
  return requested ?? modelOutputLimit(input, deployment);
}

/**
 * Prompt tokens one image may cost on gpt-4o-mini: 2,833 plus 5,667 per 512-px tile of its
 * high-detail rendering (scaled to fit 2,048 px, then its shortest side to 768 px: at most 2 × 4
 * tiles), so that its images cost in dollars what gpt-4o's do (OpenAI's vision pricing; a 2-tile
 * image is billed 8,512). OpenAI's nano models (gpt-4.1-nano, gpt-5-nano) bill an image by its
 * 32-px patches, at most 1,536, times 2.46: up to 3,779 tokens, above IMAGE_TOKENS. Every other
 * model's image fits in IMAGE_TOKENS (gpt-4o: 85 + 170 per tile, at most 1,445; gpt-4.1-mini and
 * gpt-5-mini 1,536 × 1.62, o4-mini × 1.72; Claude about 1,600).
 */
const GPT_4O_MINI_IMAGE_TOKENS = 2_833 + 8 * 5_667;
// A fine-tuned model (`ft:gpt-4o-mini-2024-07-18:org::id`) reads images as its base model does.
const GPT_4O_MINI = /(?:^|\/|ft:)gpt-4o-mini(?:$|-\d{4}-\d{2}-\d{2}(?:$|:))/i;
const NANO_IMAGE_TOKENS = Math.ceil(1_536 * 2.46);
/** gpt-4.1-nano, gpt-5-nano and later nano models, dated snapshots included. */
const OPENAI_NANO = /(?:^|\/|ft:)gpt-[\d.]+-nano(?:$|-\d{4}-\d{2}-\d{2}(?:$|:))/i;

/**
 * Chat (`image_url`) and Responses (`input_image`) image parts anywhere in a body (`pictures`: a
 * 1-bit 1,024 × 1,536 PNG is a few hundred bytes and 1,536 patches, 2,489 tokens on gpt-4.1-mini), and
 * Gemini inline media parts and Anthropic `image` blocks (`inline`: `inlineData` / `inline_data`;
 * Anthropic bills an image up to ~1,600 tokens by its pixels, so a 226-byte 1-bit PNG of
 * 1,092 × 1,092 px or a URL costs as much as any image). Google bills an image by a
 * fixed count whatever its bytes (Gemini 3: 1,120 tokens at its default media resolution, 2,240 at
 * MEDIA_RESOLUTION_ULTRA_HIGH), so a tiny inline image holds IMAGE_TOKENS beside its bytes, as a
 * chat image part does; its bytes alone held a 1×1 PNG at a few dozen tokens. `pdfTokens`: the
 * pages of the inline PDFs among them (Gemini inline data, an Anthropic base64 `document`, an
 * OpenAI `file` / `input_file`), which one allowance per part does not cover.
 */
function nativeMediaParts(value: unknown): { pictures: number; inline: number; pdfTokens: number } {
  let pictures = 0;
  let inline = 0;
  let pdf = 0;
  someJsonObject(value, (node) => {
    if (node.type === 'image_url' || node.type === 'input_image') pictures++;
    const media = isJsonObject(node.inlineData) ? node.inlineData : isJsonObject(node.inline_data) ? node.inline_data : undefined;
    // An Anthropic `image` block (base64, URL or file source) is billed by its pixels, whatever its bytes.
    if (node.type === 'image' && isJsonObject(node.source)) inline++;
    else if (media) {
      inline++;
      pdf += pdfTokens(media.data, media.mimeType ?? media.mime_type);
    } else if (node.type === 'document' && isJsonObject(node.source)) pdf += pdfTokens(node.source.data, node.source.media_type);
    else if (node.type === 'input_file') pdf += pdfTokens(node.file_data);
    else if (node.type === 'file' && isJsonObject(node.file)) pdf += pdfTokens(node.file.file_data);
    return false;
  });
  return { pictures, inline, pdfTokens: pdf };
}

/**
 * Prompt tokens a request's images may cost on `deployment` beyond what promptTokenBound holds for
 * them (IMAGE_TOKENS each): on gpt-4o-mini (its name or model_info.base_model) up to
 * GPT_4O_MINI_IMAGE_TOKENS an image, on a nano model the rest of NANO_IMAGE_TOKENS; held by the
 * reservation and accepted by the usage bounds; 0 elsewhere.
 */
export function extraImageTokens(input: CostInput, deployment: Pick<Deployment, 'upstreamModel' | 'modelInfo'>): number {
  const model = typeof deployment.modelInfo.base_model === 'string' ? deployment.modelInfo.base_model : deployment.upstreamModel;
  if (GPT_4O_MINI.test(model)) return boundOf(input).pictures * GPT_4O_MINI_IMAGE_TOKENS;
  if (OPENAI_NANO.test(model)) return boundOf(input).pictures * (NANO_IMAGE_TOKENS - IMAGE_TOKENS);
  return 0;
}

/**
 * The tool-use system prompt Anthropic adds to a Claude call that carries `tools`, billed as input
 * tokens and absent from the request body (Anthropic, "Tool use with Claude" → pricing, and "Tool
 * use pricing and tokens": Claude Opus 4 / Sonnet 4 / Sonnet 3.7 / Sonnet 3.5 346 tokens with
 * tool_choice auto or none, 313 with any or tool; Claude 3 Opus 530 / 281; Claude 3 Sonnet 159 /
 * 235; Claude 3 Haiku 264 / 340). The larger figure of each family, whatever the tool_choice; a
 * Claude model the table does not name gets the largest documented figure. Anthropic models on
 * Bedrock (Converse `toolConfig`) and Vertex are the same models with the same prompt.
 */
const CLAUDE_TOOL_PROMPT_TOKENS: ReadonlyArray<readonly [RegExp, number]> = [
  [/claude-3-opus/, 530],
  [/claude-3-sonnet/, 235],
  [/claude-3-haiku/, 340],
  [/claude-3-[57]-sonnet|claude-(?:opus|sonnet)-4(?:-\d{8}|@|-v\d|:|$)/, 346],
];
const UNKNOWN_CLAUDE_TOOL_PROMPT_TOKENS = 530;

/**
 * Anthropic-defined tools (a `type` such as `bash_20250124`) bring their own definitions, billed
 * as input tokens beyond the few bytes the body names them with: the bash tool 245 tokens, the text
 * editor 700, the computer use tool 735 plus its 499-token system prompt (Anthropic's pages for each
 * tool). Any other Anthropic-defined tool (memory, server tools, a new version) counts the largest.
 */
const ANTHROPIC_DEFINED_TOOL_TOKENS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^bash_/, 245],
  [/^text_editor_/, 700],
];
const OTHER_ANTHROPIC_DEFINED_TOOL_TOKENS = 735 + 499;

function claudeToolPromptTokens(model: string): number {
  for (const [family, tokens] of CLAUDE_TOOL_PROMPT_TOKENS) if (family.test(model)) return tokens;
  return UNKNOWN_CLAUDE_TOOL_PROMPT_TOKENS;
}

/** Tokens the definitions of Anthropic-defined tools add beyond their bytes (client tools `{name, input_schema}` are in the bound). */
function anthropicDefinedToolTokens(tools: unknown[]): number {
  let tokens = 0;
  for (const tool of tools) {
    const type = isJsonObject(tool) ? tool.type : undefined;
    if (typeof type !== 'string' || type === 'custom' || type === 'function') continue;
    const known = ANTHROPIC_DEFINED_TOOL_TOKENS.find(([pattern]) => pattern.test(type));
    tokens += known ? known[1] : OTHER_ANTHROPIC_DEFINED_TOOL_TOKENS;
  }
  return tokens;
}

/**
 * The tools a body gives the model: a chat request's `tools` (or a response_format, which the
 * Anthropic adapter sends as a forced tool: providers/anthropic/json-response.ts), a relayed
 * Anthropic Messages body's `tools` (in `native`). Undefined when it gives none — the common case,
 * decided by a few property reads.
 */
function toolsOf(input: CostInput): unknown[] | undefined {
  const { body } = input;
  if (input.kind === 'chat') {
    if (Array.isArray(body.tools) && body.tools.length > 0) return body.tools;
    const format = body.response_format as { type?: unknown } | undefined;
    return isJsonObject(format) && (format.type === 'json_object' || format.type === 'json_schema') ? [] : undefined;
  }
  const native = body.native;
  if (input.relayed !== true || !isJsonObject(native)) return undefined;
  return Array.isArray(native.tools) && native.tools.length > 0 ? native.tools : undefined;
}

/**
 * Prompt tokens a provider adds to a call with tools that the request body does not carry: on a
 * Claude model (provider `anthropic`, or a model named `claude` on Bedrock, Vertex, …) the
 * tool-use system prompt and the definitions of Anthropic-defined tools. 0 without tools, and on
 * other providers: OpenAI counts function definitions from the text it is sent (their JSON bytes
 * bound those tokens) and Gemini documents no prompt of its own for function declarations.
 */
export function toolPromptTokens(input: CostInput, deployment: Pick<Deployment, 'provider' | 'upstreamModel' | 'modelInfo'>): number {
  const tools = toolsOf(input);
  if (tools === undefined) return 0;
  const model = (typeof deployment.modelInfo.base_model === 'string' ? deployment.modelInfo.base_model : deployment.upstreamModel).toLowerCase();
  if (deployment.provider !== 'anthropic' && !model.includes('claude')) return 0;
  return claudeToolPromptTokens(model) + anthropicDefinedToolTokens(tools);
}

/**
 * Prompt tokens `deployment` may bill beyond the request's own bound, whatever the request's size:
 * gpt-4o-mini's and the nano models' image tokens (extraImageTokens) and a provider's tool prompt (toolPromptTokens).
 * The reservation holds them (promptReadBound) and the usage bounds accept them (usage-bounds.ts).
 */
export function providerAddedPromptTokens(input: CostInput, deployment: Pick<Deployment, 'provider' | 'upstreamModel' | 'modelInfo'>): number {
  return extraImageTokens(input, deployment) + toolPromptTokens(input, deployment);
}

/** Input window assumed when model_info names none (the largest current context windows). */
export const DEFAULT_INPUT_WINDOW = 2_000_000;

/**
 * Fields whose string value makes the provider read input it keeps itself: a Response's earlier
 * conversation, a Conversation, a file by id or URL (chat, Responses and Anthropic `file_id`,
 * Responses `file_url`, Gemini's `fileUri` in `fileData`), a Gemini context cache (`cachedContent`).
 */
export const STORED_INPUT_FIELDS = ['previous_response_id', 'conversation', 'file_id', 'file_url', 'fileUri', 'file_uri', 'cachedContent', 'cached_content'] as const;

/**
 * Whether one object of a body names input the provider keeps or fetches itself (also a
 * Conversation or a stored prompt given as `{id}`, and an Anthropic document by URL: a PDF of any
 * number of pages). Only string ids count: a tool's JSON schema with a parameter named `file_id`
 * (an object) names no stored input. Images by URL are not here: each is bounded by the per-image
 * allowance of the prompt bound.
 */
function namesStoredInput(node: Record<string, unknown>): boolean {
  for (const field of STORED_INPUT_FIELDS) {
    const named = node[field];
    if (typeof named === 'string' && named !== '') return true;
  }
  if (node.type === 'document' && isJsonObject(node.source) && node.source.type === 'url') return true;
  if (namesRemoteDocument(node)) return true;
  if (namesKeptItem(node)) return true;
  // Visited for every object of every request body: no array built per node.
  return namedById(node.conversation) || namedById(node.prompt);
}

/**
 * Whether one object of a body names by id an item OpenAI stored from an earlier call and reads
 * again as input: a Responses `item_reference` (`{"type":"item_reference","id"}`, its type optional
 * at the top of `input`: an item with an id and neither type nor role), or a chat assistant turn's
 * `audio: {id}` (an earlier spoken answer, read again as audio). A few bytes either way for an item
 * of any length. Shared with the usage bounds (usage-bounds.ts), which must accept what it bills.
 */
export function namesKeptItem(node: Record<string, unknown>): boolean {
  if (node.type === 'item_reference') return typeof node.id === 'string' && node.id !== '';
  if (typeof node.role === 'string' && namedById(node.audio)) return true;
  const items = node.input;
  if (!Array.isArray(items)) return false;
  for (const item of items) {
    if (isJsonObject(item) && (item.type === undefined || item.type === null) && item.role === undefined && typeof item.id === 'string' && item.id !== '') return true;
  }
  return false;
}

/**
 * Whether one object of a body is a document the provider fetches by URL on a chat call: Mistral's
 * `{"type": "document_url", "document_url": "https://…"}` and OpenRouter's `{"type": "file", "file":
 * {"file_data": "https://…"}}` (a URL where OpenAI's shape carries the file inline). A PDF of any
 * number of pages: its URL says nothing of what the provider reads and bills. Shared with the usage
 * bounds (usage-bounds.ts), which must accept what it bills.
 */
export function namesRemoteDocument(node: Record<string, unknown>): boolean {
  if (node.type === 'document_url') return isRemoteReference(node.document_url) || (isJsonObject(node.document_url) && isRemoteReference(node.document_url.url));
  if (node.type === 'file' && isJsonObject(node.file)) return isRemoteReference(node.file.file_data);
  return false;
}

/** A URL the provider fetches: any string that is not inline data. */
function isRemoteReference(value: unknown): boolean {
  return typeof value === 'string' && value !== '' && !value.startsWith('data:') && /^[a-z][a-z0-9+.-]*:/i.test(value);
}

/** A stored object named by its id (`{id: "conv_…"}`). */
function namedById(value: unknown): boolean {
  return isJsonObject(value) && typeof value.id === 'string' && value.id !== '';
}

/**
 * The prompt tokens `deployment` may bill a request for: its bound (`promptTokens`), the extra
 * image tokens of gpt-4o-mini and the tool prompt of a Claude call with tools
 * (providerAddedPromptTokens), and — when the request names input the provider keeps itself (a
 * Response's previous_response_id, a Conversation, a file by id or URL, Gemini fileData, a Gemini
 * context cache, a stored prompt, an earlier item or spoken answer by id) — up to the model's
 * whole input window (model_info.max_input_tokens, else DEFAULT_INPUT_WINDOW): the request's few bytes say nothing of
 * how long that input is, the provider bills every token of it, and the usage bounds accept as
 * much (usage-bounds.ts).
 * Reserved at less, concurrent calls of a key passed its budget by as many calls as ran at once.
 */
export function promptReadBound(input: CostInput, deployment: Pick<Deployment, 'provider' | 'upstreamModel' | 'modelInfo'>, promptTokens = promptTokenBound(input)): number {
  const read = promptTokens + providerAddedPromptTokens(input, deployment);
  if (!boundOf(input).storedInput && !feedsToolResults(input) && !readsTimedMedia(input, deployment)) return read;
  return Math.max(read, deployment.modelInfo.max_input_tokens ?? DEFAULT_INPUT_WINDOW);
}

/**
 * Whether tools the provider runs itself feed their results to the model as input: a relayed
 * call's server-side tools (Anthropic's web search and fetch, Gemini's grounding and URL context,
 * the Responses API's web and file search, code execution: server-tools.ts). Their results are
 * billed as input tokens, as many as the searches or pages bring, up to the model's window: the
 * reservation holds that (promptReadBound) and the usage bounds accept it (usage-bounds.ts).
 */
export function feedsToolResults(input: CostInput): boolean {
  const serverTools = input.body.serverTools;
  return Array.isArray(serverTools) && serverTools.length > 0;
}

/** Google's providers: they bill audio and video inline by duration (32 tokens a second of audio, about 263 of video). */
const GOOGLE_PROVIDERS = new Set(['gemini', 'vertex_ai', 'vertex_ai_beta']);
const TIMED_MIME = /^(?:audio|video)\//i;
const TIMED_DATA_URL = /^data:(?:audio|video)\//i;

/**
 * Whether a call to a Google model carries audio or video inline (Gemini `inlineData` of an audio or
 * video type, a chat `input_audio` part, a chat `file` part whose data URL is audio or video). Google
 * bills them by their duration, which their bytes do not bound: an hour of compressed silence or a
 * 10-minute video fits in a few kilobytes. Such input is read beyond the request's bytes: reserved
 * (promptReadBound) and accepted (usage-bounds.ts) up to the model's input window.
 */
export function readsTimedMedia(input: CostInput, deployment: Pick<Deployment, 'provider'>): boolean {
  if (!GOOGLE_PROVIDERS.has(deployment.provider)) return false;
  return someJsonObject(input.body, (node) => {
    const media = isJsonObject(node.inlineData) ? node.inlineData : isJsonObject(node.inline_data) ? node.inline_data : undefined;
    if (media) {
      const mimeType = media.mimeType ?? media.mime_type;
      return typeof mimeType === 'string' && TIMED_MIME.test(mimeType);
    }
    if (node.type === 'input_audio') return true;
    if (node.type === 'file' && isJsonObject(node.file)) return typeof node.file.file_data === 'string' && TIMED_DATA_URL.test(node.file.file_data);
    return false;
  });
}

/** Keys of a Gemini part that carries media inline or by reference (either JSON spelling). */
const MEDIA_KEYS = ['inlineData', 'inline_data', 'fileData', 'file_data'] as const;
/** Chat and Responses parts that may hold audio. */
const MEDIA_PART_TYPES = new Set(['input_audio', 'file', 'input_file']);
/** An image by its URL: a data: URL of an image type, or an http(s) URL whose path ends in an image extension. */
const IMAGE_URL = /^(?:data:image\/|https?:\/\/[^?#]*\.(?:png|jpe?g|gif|webp|heic|heif|bmp)(?:[?#]|$))/i;

/** Whether one object of a body is a part that may hold audio (see mayCarryAudio). */
function audioPart(node: Record<string, unknown>): boolean {
  for (const key of MEDIA_KEYS) {
    if (!Object.hasOwn(node, key) || node[key] === undefined || node[key] === null) continue;
    // Media declared an image (mimeType image/*) holds no audio.
    const media = node[key];
    const mimeType = isJsonObject(media) ? (media.mimeType ?? media.mime_type) : undefined;
    if (typeof mimeType === 'string' && /^image\//i.test(mimeType)) continue;
    return true;
  }
  // An assistant turn that was spoken (`audio: {id}`) is read again as audio input.
  if (typeof node.role === 'string' && node.audio !== undefined && node.audio !== null) return true;
  const type = node.type;
  if (typeof type === 'string' && MEDIA_PART_TYPES.has(type)) return true;
  if (type === 'image_url') {
    const image = node.image_url;
    const url = typeof image === 'string' ? image : isJsonObject(image) ? image.url : undefined;
    return !(typeof url === 'string' && IMAGE_URL.test(url));
  }
  return false;
}

/**
 * Whether a request may carry audio, which some models bill above text (TokenPrices.audioInputPerToken:
 * Gemini 2.x Flash, OpenAI's audio models). One rule for every kind of body, the canonical chat
 * request and a relayed native one (`native`) alike: any part other than text or an image —
 * input_audio, a file, an image_url whose URL is no image (Gemini reads whatever media is at a URL,
 * a video's sound track included), Gemini inlineData / fileData not declared an image — or an
 * assistant turn's `audio`. The reservation prices its prompt at the audio rate only then, so a
 * text-only call reserves what it did before.
 */
export function mayCarryAudio(input: CostInput): boolean {
  return someJsonObject(input.body, audioPart);
}

/**
 * The dearest rate a prompt token of a call with at most `promptTokens` prompt tokens may be billed
 * at: input, cache writes (1-hour ones included), cache reads, image input, audio input when the
 * request may carry audio (`audio`: mayCarryAudio; by default it may), and the long-context tier's
 * rates when the prompt may be above its threshold.
 */
export function dearestInputPrice(prices: TokenPrices, promptTokens = Number.POSITIVE_INFINITY, audio = true): number {
  const rates = [prices.inputPerToken, prices.cacheWritePerToken ?? 0, prices.cacheWrite1hPerToken ?? 0, prices.cacheReadPerToken ?? 0, prices.imageInputPerToken ?? 0, audio ? (prices.audioInputPerToken ?? 0) : 0];
  const tier = prices.longContext;
  if (tier && promptTokens > tier.aboveTokens) rates.push(tier.inputPerToken, tier.cacheWritePerToken ?? 0, tier.cacheWrite1hPerToken ?? 0, tier.cacheReadPerToken ?? 0);
  return Math.max(...rates);
}

/** Gemini's image-generating models (gemini-2.5-flash-image, gemini-2.0-flash-preview-image-generation, …): their names say `image`. */
const IMAGE_GENERATING_MODEL = /-image(?:-|@|$)/;

/** Whether a list of response modalities names images (`["TEXT", "IMAGE"]`, `["image"]`). */
function namesImage(modalities: unknown): boolean {
  return Array.isArray(modalities) && modalities.some((item) => typeof item === 'string' && item.toLowerCase() === 'image');
}

/**
 * Whether a call to `deployment` may produce images, which some models bill above text output
 * (TokenPrices.imageOutputPerToken: gemini-2.5-flash-image $30 against $2.50 per 1M). One rule for
 * every kind of body: the deployment has an image output rate, and its model generates images
 * (an image-generating Gemini model may answer with an image whatever the request names), or the
 * request asks for them — Gemini's `generationConfig.responseModalities` (or the REST API's
 * snake_case `generation_config.response_modalities`) naming IMAGE, or a chat body's `modalities`
 * naming `image`. The reservation prices output at the image rate only then, so a text-only call
 * reserves what it did before.
 */
export function mayProduceImages(input: CostInput, deployment: Pick<Deployment, 'prices' | 'upstreamModel'>): boolean {
  if (deployment.prices?.imageOutputPerToken === undefined) return false;
  if (typeof deployment.upstreamModel === 'string' && IMAGE_GENERATING_MODEL.test(deployment.upstreamModel.toLowerCase())) return true;
  // A relayed native body (the Gemini-native route) is the request's `native`.
  const body = isJsonObject(input.body.native) ? input.body.native : input.body;
  if (namesImage(body.modalities)) return true;
  return [body.generationConfig, body.generation_config].some((config) => isJsonObject(config) && (namesImage(config.responseModalities) || namesImage(config.response_modalities)));
}

/**
 * The dearest rate an output token may be billed at when the prompt has at most `promptTokens`
 * tokens: output, image output when the call may produce images (`images`: mayProduceImages; by
 * default it may), and the long-context tier's output rate.
 */
export function dearestOutputPrice(prices: TokenPrices, promptTokens = Number.POSITIVE_INFINITY, images = true): number {
  const tier = prices.longContext;
  const text = tier && promptTokens > tier.aboveTokens ? Math.max(prices.outputPerToken, tier.outputPerToken) : prices.outputPerToken;
  return images ? Math.max(text, prices.imageOutputPerToken ?? 0) : text;
}

/**
 * Whether the deployment has a price for what the call bills: its tokens (a price of 0, a free
 * local model, is a price), or, for a media call billed by units (images, speech characters,
 * transcript seconds, rerank searches), those units. On a deployment without one the call would be
 * recorded at an unknown cost and charged nothing, whatever budget or credits its caller is held to.
 */
export function pricesCall(input: CostInput, deployment: Deployment): boolean {
  const units = input.body.units as MediaUnits | undefined;
  if (deployment.perSecondPico !== undefined) return true;
  if (units === undefined || units === null) return deployment.prices !== undefined;
  const unitsPriced = mediaCostPico(units, deployment) !== undefined;
  // Server-side tool uses (web searches, grounded prompts) are billed beside the call's tokens, not
  // instead of them; a media call bills its units, or tokens (gpt-image-1 answers with usage).
  return input.body.serverTools !== undefined ? deployment.prices !== undefined && unitsPriced : unitsPriced || deployment.prices !== undefined;
}

/** Micro-dollars (rounded up); 0 when no deployment has a known price. */
/** `promptTokens`: the input's promptTokenBound when the caller has it already. */
export function maxCostMicros(input: CostInput, deployments: readonly Deployment[], promptTokens = promptTokenBound(input)): number {
  // Media calls (images, speech, rerank) bill units besides tokens: the most they can bill, at each deployment's price.
  const units = input.body.units as MediaUnits | undefined;
  const audio = deployments.some((deployment) => deployment.prices?.audioInputPerToken !== undefined) && mayCarryAudio(input);
  let worst = 0;
  for (const deployment of deployments) {
    const prompt = promptReadBound(input, deployment, promptTokens);
    const prices = reservedPrices(deployment, input.body);
    const tokens = prices ? prompt * dearestInputPrice(prices, prompt, audio) + outputBound(input, deployment) * dearestOutputPrice(prices, prompt, mayProduceImages(input, deployment)) : 0;
    worst = Math.max(worst, tokens + beyondTokensPico(input, deployment, units));
  }
  return Math.ceil(worst / PICO_PER_MICRO);
}

/**
 * The most citation tokens, and the most reasoning tokens reported beside the completion, that one
 * call to a Perplexity research model is billed for (Usage.citationTokens, researchReasoningTokens),
 * and the most search queries (Usage.searchQueries) — reserved before the call (beyondTokensPico)
 * and accepted from its answer (usage-bounds.ts: a report above is held to it), so that what is
 * charged never passes what was reserved. Perplexity documents no limit on either, and no request
 * parameter caps them (`reasoning_effort` only steers them; `max_tokens` caps the completion, not
 * the reasoning before it). The model's context window does not bound them either: they add up over
 * the many steps of a research run (the deep research answer test item 362 carries as Perplexity's
 * example reports 136,902 reasoning tokens, 11,914 citation tokens and 22 searches, on a model with
 * a 128k-token window). So the tokens are held at DEFAULT_INPUT_WINDOW (2,000,000, the window
 * assumed for input read beyond the request; 14× that example) each, and the searches at 1,000
 * (45× that example; Perplexity's pricing notes speak of 30): at sonar-deep-research's prices, $4
 * of citation tokens, $6 of reasoning and $5 of searches held beside the prompt and output.
 */
export const RESEARCH_TOKEN_BOUND = DEFAULT_INPUT_WINDOW;
export const MAX_RESEARCH_SEARCHES = 1_000;

/**
 * Pico-dollars the research usage of one call may bill on `deployment` (RESEARCH_TOKEN_BOUND
 * citation and reasoning tokens at its rates, MAX_RESEARCH_SEARCHES searches where it bills the
 * searches it reports); 0 on deployments without such rates (every provider but Perplexity).
 */
function researchBoundPico(input: CostInput, deployment: Deployment): number {
  if (input.kind === 'embeddings') return 0;
  const prices = deployment.prices;
  const tokens = RESEARCH_TOKEN_BOUND * ((prices?.citationPerToken ?? 0) + (prices?.researchReasoningPerToken ?? 0));
  const searches = input.kind === 'chat' && billsReportedSearches(deployment) ? (mediaCostPico({ webSearches: MAX_RESEARCH_SEARCHES }, deployment) ?? 0) : 0;
  return tokens + searches;
}

/**
 * What a call can bill on `deployment` besides its tokens, in pico-dollars: its media units (images,
 * speech, rerank searches, server-tool uses), the web search OpenAI's search models run on every chat
 * call, Perplexity's research usage (researchBoundPico) and — priced per second — its longest
 * attempt (cost.ts durationBoundPico). Every reservation holds it, with or without an output limit
 * the client chose (reservation-plan.ts).
 */
export function beyondTokensPico(input: CostInput, deployment: Deployment, units = input.body.units as MediaUnits | undefined): number {
  // OpenAI's search models run a web search for every chat call, billed per search.
  const searches = input.kind === 'chat' ? chatSearchesPerCall(deployment) : 0;
  const media = (units ? (mediaCostPico(units, deployment) ?? 0) : 0) + (searches > 0 ? (mediaCostPico({ webSearches: searches }, deployment) ?? 0) : 0);
  return media + researchBoundPico(input, deployment) + durationBoundPico(deployment);
}
