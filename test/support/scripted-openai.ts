/**
 * An OpenAI-compatible upstream for billing invariants: every request carries its own script in its
 * last message (`#script {"words":N,"mode":"…","fail_after":K}`), so concurrent requests each get
 * their own answer and fault. It bills honestly and remembers what it billed per request nonce:
 * prompt tokens from the size of everything the model reads (messages, tools, functions), completion
 * tokens one per word it actually wrote. Wire format as OpenAI's: JSON with `usage`, SSE
 * `chat.completion.chunk` events, the usage chunk when `stream_options.include_usage` is set,
 * `data: [DONE]`, and OpenAI's error envelope.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockServer } from './mock-server.js';

export type ScriptMode =
  /** answers in full (usage in the body, or in the final chunk of a stream) */
  | 'complete'
  /** a stream that omits the usage chunk */
  | 'no-usage'
  /** 500 before anything */
  | 'error'
  /** 429 before anything */
  | 'rate-limited'
  /** a stream whose connection is reset after `fail_after` content chunks */
  | 'reset-mid-stream';

export interface Script {
  nonce: string;
  words: number;
  mode: ScriptMode;
  failAfter?: number;
  /** ms between stream chunks; for a JSON answer, ms before it */
  delayMs?: number;
}

export interface Served {
  nonce: string;
  status: number;
  stream: boolean;
  promptTokens: number;
  /** Content words written to the wire (what the provider produced and bills). */
  wordsWritten: number;
  /** Whether the gateway closed the connection before the answer ended. */
  aborted: boolean;
}

const SCRIPT = /#script (\{[^\n]*\})/;

export function scriptText(script: Script): string {
  return `#script ${JSON.stringify({ nonce: script.nonce, words: script.words, mode: script.mode, fail_after: script.failAfter, delay_ms: script.delayMs })}`;
}

/** Prompt tokens as a provider would count them: about four bytes a token of all the model reads. */
export function honestPromptTokens(body: Record<string, unknown>): number {
  const read = JSON.stringify([body.messages, body.tools ?? null, body.functions ?? null]);
  return Math.ceil(Buffer.byteLength(read, 'utf8') / 4);
}

/** A message's text, whether its content is a string or OpenAI's array of parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join('');
}

export class ScriptedOpenAI extends MockServer {
  readonly served = new Map<string, Served>();

  async start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const messages = (body.messages ?? []) as Array<{ content?: unknown }>;
    const match = SCRIPT.exec(textOf(messages.at(-1)?.content));
    if (!match) {
      // The gateway's own health probes carry no script: a short, correct answer.
      const payload = JSON.stringify({ id: 'chatcmpl-probe', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: String(body.model), choices: [{ index: 0, message: { role: 'assistant', content: 'ok', refusal: null }, logprobs: null, finish_reason: 'length' }], usage: { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 } });
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      response.end(payload);
      return;
    }
    const raw = JSON.parse(match[1]) as { nonce: string; words: number; mode: ScriptMode; fail_after?: number; delay_ms?: number };
    const stream = body.stream === true;
    const maxTokens = (body.max_completion_tokens ?? body.max_tokens) as number | undefined;
    const words = Math.max(1, Math.min(raw.words, maxTokens ?? raw.words));
    const served: Served = { nonce: raw.nonce, status: 200, stream, promptTokens: honestPromptTokens(body), wordsWritten: 0, aborted: false };
    this.served.set(raw.nonce, served);
    response.on('close', () => {
      if (!response.writableFinished) served.aborted = true;
    });

    if (raw.mode === 'error') {
      served.status = 500;
      response.writeHead(500, { 'content-type': 'application/json', 'x-request-id': 'req_scripted' });
      response.end(JSON.stringify({ error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } }));
      return;
    }
    if (raw.mode === 'rate-limited') {
      served.status = 429;
      response.writeHead(429, { 'content-type': 'application/json', 'x-request-id': 'req_scripted', 'retry-after': '1' });
      response.end(JSON.stringify({ error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } }));
      return;
    }
    const id = `chatcmpl-${raw.nonce}`;
    const created = Math.floor(Date.now() / 1000);
    const model = String(body.model);
    const text = Array.from({ length: words }, (_, index) => `w${index}`).join(' ');
    const usage = (completion: number) => ({
      prompt_tokens: served.promptTokens,
      completion_tokens: completion,
      total_tokens: served.promptTokens + completion,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    if (!stream) {
      // A slow answer (the client may hang up meanwhile: the prompt was read all the same).
      if (raw.delay_ms) await new Promise((resolve) => setTimeout(resolve, raw.delay_ms));
      if (response.destroyed) return;
      served.wordsWritten = words;
      const payload = JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: usage(words),
        system_fingerprint: 'fp_scripted',
      });
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      response.end(payload);
      return;
    }

    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': 'req_scripted' });
    const base = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_scripted' };
    const write = (event: unknown) => response.write(`data: ${JSON.stringify(event)}\n\n`);
    write({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }] });
    const pieces = text.split(/(?<= )/);
    for (const [index, piece] of pieces.entries()) {
      if (response.destroyed) return;
      if (raw.mode === 'reset-mid-stream' && index === (raw.fail_after ?? 1)) {
        response.socket?.destroy();
        return;
      }
      write({ ...base, choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }] });
      served.wordsWritten++;
      if (raw.delay_ms) await new Promise((resolve) => setTimeout(resolve, raw.delay_ms));
    }
    if (response.destroyed) return;
    write({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] });
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    if (includeUsage && raw.mode !== 'no-usage') write({ ...base, choices: [], usage: usage(served.wordsWritten) });
    response.end('data: [DONE]\n\n');
  }
}
