/**
 * The Generative Language API (v1beta) wire format, as far as this adapter reads or writes it.
 * Field names follow Google's REST reference and the `@google/genai` SDK types (camelCase proto3
 * JSON). Proto3 JSON leaves out fields that hold their default value, so an absent count means 0
 * and an absent `index` means candidate 0.
 */
import type { JsonObject } from '../types.js';

export interface GeminiBlob {
  mimeType: string;
  /** base64 */
  data: string;
}

export interface GeminiFileData {
  mimeType?: string;
  fileUri: string;
}

export interface GeminiFunctionCall {
  /** Set by newer models; echoed back in the matching functionResponse. */
  id?: string;
  name: string;
  args?: JsonObject;
}

export interface GeminiFunctionResponse {
  id?: string;
  name: string;
  response: JsonObject;
}

export interface GeminiPart {
  text?: string;
  /** True on a thought summary part (thinking models with includeThoughts). */
  thought?: boolean;
  /** Opaque signature a thinking model attaches to a part; must be sent back with it. */
  thoughtSignature?: string;
  inlineData?: GeminiBlob;
  fileData?: GeminiFileData;
  functionCall?: GeminiFunctionCall;
  functionResponse?: GeminiFunctionResponse;
}

export interface GeminiContent {
  role?: 'user' | 'model';
  parts?: GeminiPart[];
}

/** The OpenAPI 3.0 subset Gemini accepts for responseSchema and function parameters. */
export interface GeminiSchema {
  type?: 'STRING' | 'NUMBER' | 'INTEGER' | 'BOOLEAN' | 'ARRAY' | 'OBJECT' | 'NULL';
  format?: string;
  title?: string;
  description?: string;
  nullable?: boolean;
  enum?: string[];
  items?: GeminiSchema;
  properties?: Record<string, GeminiSchema>;
  required?: string[];
  propertyOrdering?: string[];
  anyOf?: GeminiSchema[];
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minProperties?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  default?: unknown;
  example?: unknown;
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  parameters?: GeminiSchema;
}

export interface GeminiTool {
  functionDeclarations: GeminiFunctionDeclaration[];
}

export interface GeminiToolConfig {
  functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] };
}

export interface GeminiThinkingConfig {
  thinkingBudget?: number;
  includeThoughts?: boolean;
}

export interface GeminiGenerationConfig {
  temperature?: number;
  topP?: number;
  topK?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  candidateCount?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseMimeType?: string;
  responseSchema?: GeminiSchema;
  thinkingConfig?: GeminiThinkingConfig;
}

export interface GeminiGenerateContentRequest {
  contents: GeminiContent[];
  systemInstruction?: GeminiContent;
  tools?: GeminiTool[];
  toolConfig?: GeminiToolConfig;
  generationConfig?: GeminiGenerationConfig;
}

export interface GeminiCandidate {
  content?: GeminiContent;
  finishReason?: string;
  index?: number;
  safetyRatings?: unknown[];
  finishMessage?: string;
}

/** One modality's share of a count (Google's ModalityTokenCount). */
export interface GeminiModalityTokenCount {
  /** MODALITY_UNSPECIFIED, TEXT, IMAGE, VIDEO, AUDIO or DOCUMENT. */
  modality?: string;
  tokenCount?: number;
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  totalTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
  /** The prompt's tokens by modality (audio is billed above text on some models). */
  promptTokensDetails?: GeminiModalityTokenCount[];
  /** The cached part's tokens by modality. */
  cacheTokensDetails?: GeminiModalityTokenCount[];
  /** The tool-use prompt's tokens by modality. */
  toolUsePromptTokensDetails?: GeminiModalityTokenCount[];
  /** The candidates' tokens by modality (generated images are billed above text on image models). */
  candidatesTokensDetails?: GeminiModalityTokenCount[];
}

export interface GeminiGenerateContentResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string; safetyRatings?: unknown[] };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  responseId?: string;
}

/** Google's error envelope (google.rpc.Status as JSON). */
export interface GoogleErrorBody {
  error: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<{ '@type'?: string; [field: string]: unknown }>;
  };
}

export interface GeminiEmbedContentRequest {
  model: string;
  content: GeminiContent;
  outputDimensionality?: number;
}

export interface GeminiBatchEmbedContentsResponse {
  embeddings?: Array<{ values?: number[] }>;
}
