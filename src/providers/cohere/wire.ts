/**
 * Cohere API v2 wire types (chat `POST /v2/chat`, embed `POST /v2/embed`), from Cohere's API
 * reference and the cohere-typescript SDK's v2 types. Only the members this adapter writes or
 * reads are declared.
 */

export type CohereContent = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface CohereToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type CohereMessage =
  | { role: 'system'; content: string | Array<{ type: 'text'; text: string }> }
  | { role: 'user'; content: string | CohereContent[] }
  | { role: 'assistant'; content?: string | Array<{ type: 'text'; text: string }>; tool_calls?: CohereToolCall[]; tool_plan?: string }
  | { role: 'tool'; tool_call_id: string; content: string | Array<{ type: 'text'; text: string }> };

export interface CohereTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: unknown };
}

export interface CohereChatRequest {
  model: string;
  messages: CohereMessage[];
  stream?: boolean;
  tools?: CohereTool[];
  tool_choice?: 'REQUIRED' | 'NONE';
  max_tokens?: number;
  stop_sequences?: string[];
  temperature?: number;
  seed?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
  k?: number;
  p?: number;
  response_format?: { type: 'text' } | { type: 'json_object'; json_schema?: unknown };
  /** Constrains every tool call to its tool's schema (Cohere's structured outputs for tools). */
  strict_tools?: boolean;
}

export interface CohereUsage {
  billed_units?: { input_tokens?: number; output_tokens?: number; search_units?: number; classifications?: number };
  tokens?: { input_tokens?: number; output_tokens?: number };
}

export type CohereFinishReason = 'COMPLETE' | 'STOP_SEQUENCE' | 'MAX_TOKENS' | 'TOOL_CALL' | 'ERROR' | 'TIMEOUT' | string;

export interface CohereChatResponse {
  id?: string;
  finish_reason?: CohereFinishReason;
  message?: {
    role?: 'assistant';
    content?: Array<{ type: 'text'; text?: string } | { type: 'thinking'; thinking?: string } | { type: string; [extra: string]: unknown }>;
    tool_plan?: string;
    tool_calls?: Array<Partial<CohereToolCall>>;
  };
  usage?: CohereUsage;
}

/** One streamed event: its `type` repeats the SSE event name. */
export interface CohereStreamEvent {
  type?: string;
  id?: string;
  index?: number;
  delta?: {
    message?: {
      role?: string;
      content?: { type?: string; text?: string; thinking?: string };
      tool_plan?: string;
      tool_calls?: { id?: string; type?: 'function'; function?: { name?: string; arguments?: string } };
    };
    finish_reason?: CohereFinishReason;
    usage?: CohereUsage;
    error?: string;
  };
}

export interface CohereEmbedRequest {
  model: string;
  texts: string[];
  input_type: string;
  embedding_types: string[];
  output_dimension?: number;
}

export interface CohereEmbedResponse {
  id?: string;
  embeddings?: { float?: number[][] };
  meta?: { billed_units?: { input_tokens?: number } };
}
