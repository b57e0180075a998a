/**
 * The parts of Anthropic's Messages API wire format (anthropic-version 2023-06-01) this adapter
 * writes and reads, as the API reference and the official SDK's `resources/messages` types define
 * them. Kept here, not imported from @anthropic-ai/sdk, because the SDK is only a dev dependency.
 */
import type { JsonObject } from '../types.js';

export const ANTHROPIC_VERSION = '2023-06-01';

export type CacheControl = { type: 'ephemeral'; ttl?: string };

export interface TextBlockParam {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
}

export type ImageSource = { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };

export interface ImageBlockParam {
  type: 'image';
  source: ImageSource;
  cache_control?: CacheControl;
}

export interface DocumentBlockParam {
  type: 'document';
  source: { type: 'base64'; media_type: 'application/pdf'; data: string } | { type: 'url'; url: string };
  cache_control?: CacheControl;
}

export interface ToolUseBlockParam {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
  cache_control?: CacheControl;
}

export interface ToolResultBlockParam {
  type: 'tool_result';
  tool_use_id: string;
  content: string | Array<TextBlockParam | ImageBlockParam>;
  cache_control?: CacheControl;
}

export interface ThinkingBlockParam {
  type: 'thinking';
  thinking: string;
  signature: string;
}

export interface RedactedThinkingBlockParam {
  type: 'redacted_thinking';
  data: string;
}

export type ContentBlockParam =
  | TextBlockParam
  | ImageBlockParam
  | DocumentBlockParam
  | ToolUseBlockParam
  | ToolResultBlockParam
  | ThinkingBlockParam
  | RedactedThinkingBlockParam;

export interface MessageParam {
  role: 'user' | 'assistant';
  content: string | ContentBlockParam[];
}

export interface ToolParam {
  name: string;
  description?: string;
  input_schema: JsonObject;
  cache_control?: CacheControl;
}

export type ToolChoice =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

/** The body of POST /v1/messages. */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: MessageParam[];
  system?: string | TextBlockParam[];
  tools?: ToolParam[];
  tool_choice?: ToolChoice;
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  thinking?: JsonObject;
  metadata?: { user_id: string };
  stream?: boolean;
}

/** `usage` of a Message and of message_start; message_delta carries the cumulative counts. */
export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  /** The cache writes by lifetime (their sum is cache_creation_input_tokens); 1-hour writes cost more. */
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
  output_tokens_details?: { thinking_tokens?: number } | null;
  /** Server tools the API ran (billed per use beside the tokens): `web_search_requests`, … */
  server_tool_use?: { web_search_requests?: number | null; [tool: string]: unknown } | null;
  /** Where the model ran (data residency): `"us"` (US-only inference, billed at 1.1× every token rate) or `"global"`. */
  inference_geo?: string | null;
}

export type ResponseContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: string; [field: string]: unknown };

/** A Message, the response of POST /v1/messages. */
export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ResponseContentBlock[];
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

/** The error envelope: `{"type":"error","error":{"type","message"},"request_id"}`. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string; details?: { error_code?: string } | null };
  request_id?: string | null;
}
