/**
 * What one upstream attempt hands the settle stage: a parsed JSON response, or an opened stream
 * whose relay resolves to how it ended. Settling (usage → cost → record) happens in settle.ts.
 */
import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../../errors.js';
import type { Usage } from '../../providers/types.js';
import type { Call } from '../call.js';
import type { StreamEncoder } from '../response-format.js';
import type { StreamedAnswer } from '../streamed-answer.js';

export interface JsonAttempted {
  kind: 'json';
  /** The response body in the client's format. */
  body: string;
  /**
   * The parsed answer, for its text and finish reasons: a chat answer as the OpenAI-shaped response
   * the provider's adapter mapped it to (an Anthropic or Gemini body has no `choices`); any other as
   * the upstream sent it.
   */
  parsed: unknown;
  usage: Usage | undefined;
  /** The answer's text, when the attempt reads it itself (native calls); else taken from `parsed`. */
  text?: string;
  /** The answer's media type when it is not JSON (a transcript as text, srt, vtt). */
  contentType?: string;
  upstreamLatencyMs: number;
  /** Adjustments made for the provider (dropped parameters), for the x-switchboard-warnings header. */
  warnings: string[];
  /** Set when the answer is over max_response_size_mb: it is billed, then refused with this error. */
  refused?: GatewayError;
  /** The provider's rate-limit headers as llm_provider-* (litellm-headers.ts). */
  providerHeaders?: Record<string, string>;
}

/** How a relayed stream ended. */
export interface StreamEnd {
  usage: Usage | undefined;
  /** Why it ended early; undefined when it completed. */
  error: GatewayError | undefined;
  /** The gateway cut it (duration cap, key revoked): neither the client's doing nor the deployment's failure. */
  cut: boolean;
  /** The client went away, or the gateway cut the stream: only what was produced is billed. */
  aborted: boolean;
  upstreamLatencyMs: number;
  /** Milliseconds from the call's start to the first chunk. */
  firstChunkAt: number;
  /** The relayed text (read only when counted locally or stored). */
  text(): string;
  /** The output to count locally (the text, reasoning and refusals); `text` when absent. */
  countedText?(): string;
  /** The finish reasons the stream reported (read only when traced). */
  finishReasons(): string[];
  /** What was relayed, unparsed, read once on demand (streamed-answer.ts): the logging callbacks' content. */
  answer(): StreamedAnswer;
}

export interface StreamAttempted {
  kind: 'stream';
  /** performance.now() when the request went upstream. */
  sentAt: number;
  warnings: string[];
  /** The provider's rate-limit headers as llm_provider-* (litellm-headers.ts). */
  providerHeaders?: Record<string, string>;
  encoder: StreamEncoder;
  /** Pumps the stream to the client; releases the deployment and the upstream when done. */
  relay(response: ServerResponse): Promise<StreamEnd>;
  /**
   * Ends the opened stream without relaying it (a during_call guardrail refused the answer): the
   * rest is read to its end (not relayed), as a stream a post_call guardrail cut is, and what the
   * upstream produced is billed — its reported usage, else counted; a client that leaves meanwhile
   * cancels the upstream call, and what arrived is billed.
   * Absent on attempts the guardrails never see (provider-native bytes).
   */
  discard?(error: GatewayError): Promise<StreamEnd>;
}

export type Attempted = JsonAttempted | StreamAttempted;

/** Runs one planned attempt (call.attempt) against its deployment. */
export type Attempt = (call: Call) => Promise<Attempted>;
