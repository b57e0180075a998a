/**
 * The parts of OpenAI's Responses API wire format this endpoint reads and writes, from the official
 * `openai` SDK's `resources/responses/responses.d.ts` and the API reference. Declared here: the SDK
 * is a dev dependency, and a gateway keeps serving clients of every version.
 */
import type { ChatMessage, JsonObject } from '../../../providers/types.js';

export interface ResponseOutputText {
  type: 'output_text';
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}

export interface ResponseOutputMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  status: 'in_progress' | 'completed' | 'incomplete';
  content: ResponseOutputText[];
}

export interface ResponseFunctionCall {
  id: string;
  type: 'function_call';
  status: 'in_progress' | 'completed' | 'incomplete';
  call_id: string;
  name: string;
  arguments: string;
}

export interface ResponseReasoningItem {
  id: string;
  type: 'reasoning';
  summary: unknown[];
  content: Array<{ type: 'reasoning_text'; text: string }>;
  /** Signed thinking, opaque to the client (reasoning-blocks.ts). */
  encrypted_content?: string;
  status?: 'in_progress' | 'completed' | 'incomplete';
}

export type ResponseOutputItem = ResponseOutputMessage | ResponseFunctionCall | ResponseReasoningItem;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'completed' | 'failed' | 'in_progress' | 'incomplete';

export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  /** When the response completed (seconds); null until then. */
  completed_at: number | null;
  background: false;
  status: ResponseStatus;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  model: string;
  output: ResponseOutputItem[];
  /** The SDK's convenience field: all output_text joined (the API itself sends it too). */
  output_text: string;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number | null;
  text: { format: JsonObject };
  tool_choice: unknown;
  tools: unknown[];
  top_p: number | null;
  truncation: 'disabled';
  usage: ResponseUsage | null;
  user: string | null;
  metadata: Record<string, string>;
}

/** What the response side needs to know about the request it answers. */
export interface ResponsesRequestContext {
  /** `resp_…`, chosen before the call so a stream can name it in its first event. */
  id: string;
  createdAt: number;
  /** The model name exactly as the client sent it. */
  model: string;
  instructions: string | null;
  maxOutputTokens: number | null;
  parallelToolCalls: boolean;
  previousResponseId: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number | null;
  topP: number | null;
  textFormat: JsonObject;
  toolChoice: unknown;
  tools: unknown[];
  user: string | null;
  metadata: Record<string, string>;
}

/** An input item as stored and listed by GET /v1/responses/{id}/input_items (each with an id). */
export type ResponseInputItem = JsonObject & { id: string; type: string };

/** A request mapped to a chat request, with what the store keeps of it. */
export interface MappedResponsesRequest {
  /** The chat request for this turn alone (the route prepends a stored conversation). */
  messages: ChatMessage[];
  context: ResponsesRequestContext;
  inputItems: ResponseInputItem[];
  /** Fields accepted with no effect here, said in the x-switchboard-warnings header. */
  warnings: string[];
}
