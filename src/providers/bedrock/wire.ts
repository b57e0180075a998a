/**
 * Bedrock Runtime wire types, from the AWS SDK's @aws-sdk/client-bedrock-runtime models
 * (ConverseRequest / ConverseResponse / ConverseStreamOutput) and the Bedrock API reference.
 * Only the members this adapter writes or reads are declared.
 */

export type BedrockImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';
export type BedrockDocumentFormat = 'pdf' | 'csv' | 'doc' | 'docx' | 'xls' | 'xlsx' | 'html' | 'txt' | 'md';

export interface BedrockToolResultContent {
  text?: string;
  json?: unknown;
}

export interface BedrockContentBlock {
  text?: string;
  image?: { format: BedrockImageFormat; source: { bytes: string } };
  document?: { format: BedrockDocumentFormat; name: string; source: { bytes: string } };
  toolUse?: { toolUseId: string; name: string; input: unknown };
  toolResult?: { toolUseId: string; content: BedrockToolResultContent[]; status?: 'success' | 'error' };
  reasoningContent?: { reasoningText?: { text: string; signature?: string }; redactedContent?: string };
  cachePoint?: { type: 'default' };
}

export interface BedrockMessage {
  role: 'user' | 'assistant';
  content: BedrockContentBlock[];
}

export interface BedrockInferenceConfig {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stopSequences?: string[];
}

export interface BedrockToolSpec {
  toolSpec: { name: string; description?: string; inputSchema: { json: unknown } };
}

export type BedrockToolChoice = { auto: Record<string, never> } | { any: Record<string, never> } | { tool: { name: string } };

export interface BedrockConverseRequest {
  messages: BedrockMessage[];
  system?: Array<{ text: string }>;
  inferenceConfig?: BedrockInferenceConfig;
  toolConfig?: { tools: BedrockToolSpec[]; toolChoice?: BedrockToolChoice };
  additionalModelRequestFields?: Record<string, unknown>;
}

export interface BedrockUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

export type BedrockStopReason =
  | 'end_turn'
  | 'tool_use'
  | 'max_tokens'
  | 'stop_sequence'
  | 'guardrail_intervened'
  | 'content_filtered'
  | 'model_context_window_exceeded'
  | string;

export interface BedrockConverseResponse {
  output?: { message?: BedrockMessage };
  stopReason?: BedrockStopReason;
  usage?: BedrockUsage;
  metrics?: { latencyMs?: number };
}

/** ConverseStream events, by their `:event-type` header; each payload is the member's object. */
export interface BedrockStreamEvents {
  messageStart: { role: 'assistant' };
  contentBlockStart: { contentBlockIndex: number; start?: { toolUse?: { toolUseId: string; name: string } } };
  contentBlockDelta: {
    contentBlockIndex: number;
    delta?: { text?: string; toolUse?: { input: string }; reasoningContent?: { text?: string; signature?: string; redactedContent?: string } };
  };
  contentBlockStop: { contentBlockIndex: number };
  messageStop: { stopReason: BedrockStopReason; additionalModelResponseFields?: unknown };
  metadata: { usage?: BedrockUsage; metrics?: { latencyMs?: number } };
}

/** Titan Text Embeddings V2 (InvokeModel `amazon.titan-embed-text-v2:0`). */
export interface TitanEmbeddingRequest {
  inputText: string;
  dimensions?: number;
  normalize?: boolean;
}

export interface TitanEmbeddingResponse {
  embedding?: number[];
  inputTextTokenCount?: number;
}

/** Cohere Embed on Bedrock (InvokeModel `cohere.embed-*`). */
export interface CohereBedrockEmbeddingRequest {
  texts: string[];
  input_type: string;
  truncate?: 'NONE' | 'START' | 'END';
  embedding_types?: string[];
  output_dimension?: number;
}
