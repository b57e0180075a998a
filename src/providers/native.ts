/**
 * A provider's own API relayed untranslated (`/gemini/...`): the request goes to the deployment
 * as the client wrote it, with the deployment's model and credentials put in, and the answer comes
 * back as the provider wrote it; the gateway only reads the usage (and the text, for a local count
 * when the usage is missing). Pure mappers, as the adapters are.
 */
import type { ChatStreamTransform, Deployment, UpstreamRequest, Usage } from './types.js';

/**
 * A file a client uploaded (multipart), held once in memory as the chunks it arrived in: each
 * attempt streams the same chunks upstream, never a copy.
 */
export interface Upload {
  /** The form field it came in (`file`). */
  field: string;
  filename: string;
  contentType: string;
  chunks: Buffer[];
  bytes: number;
  /** Its duration when the file says it exactly (WAV); else unknown. */
  seconds?: number;
}

export interface NativeCall {
  /** The provider's method: `generateContent`, `countTokens`, ... */
  method: string;
  body: Record<string, unknown>;
  stream: boolean;
  /** The output cap the gateway holds the call to: the client's own, or lower by a routing rule or power level. */
  maxTokens?: number;
  /** Client headers the provider's API reads, forwarded (the deployment's credentials and headers win). */
  headers?: Record<string, string>;
  /** A multipart call's file; `body` then holds its other form fields. */
  upload?: Upload;
  /** Every file of a multipart call that sends several, `upload` first. */
  uploads?: Upload[];
  /** The HTTP method when it is not POST (a GET or DELETE relayed by `/openai/v1/*`). */
  httpMethod?: 'GET' | 'DELETE';
  /** The client's query string (`?…`), forwarded. */
  query?: string;
}

export interface NativeProvider {
  /** How the API is named in messages (`gemini`, `OpenAI-compatible`). */
  readonly label: string;
  /** Whether deployments of this provider serve the API (its `method`, where that depends on it). */
  serves(provider: string, method?: string, upstreamModel?: string): boolean;
  buildRequest(call: NativeCall, target: Deployment): UpstreamRequest;
  /** Usage in a JSON answer: undefined when the provider reports none (unknown, not free). */
  usageOf(call: NativeCall, body: unknown, target?: Deployment): Usage | undefined;
  /**
   * The answer in the API's own shape when the deployment speaks another (an OpenAI endpoint
   * mapped to a provider's native equivalent); undefined when the answer is relayed as received.
   */
  answerOf?(call: NativeCall, body: unknown, target: Deployment): unknown;
  /**
   * For a bytes answer (speech) that the deployment returns inside JSON (Gemini's inline audio):
   * the bytes to send, their content type and the usage; undefined when the answer is bytes already.
   */
  bytesOf?(call: NativeCall, body: unknown, target: Deployment): { chunks: Buffer[]; contentType: string; usage: Usage | undefined } | undefined;
  /** The answer's text (generated text and function calls). */
  textOf(body: unknown): string;
  /** Reads usage, text and in-stream errors from the events of a streamed answer, which go out unchanged. */
  createStreamTransform(target: Deployment): ChatStreamTransform;
}
