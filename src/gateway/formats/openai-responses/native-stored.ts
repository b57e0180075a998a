/**
 * How a Responses request relayed natively to OpenAI or Azure OpenAI is written to the client (the
 * route sends the upstream `store: false` and the stored conversation inline, so the gateway keeps
 * the response, as it does for every provider): the upstream's Response and events, with the
 * fields that describe the client's request put back — `store` and `previous_response_id` as the
 * client sent them, `model` the name the client asked for, `output_text` as on translated
 * responses — and each Response that finished
 * (`completed` or `incomplete`) handed to `onComplete`, under the upstream's own id, which is the id
 * the client sees. A failure after the first event ends the stream with `response.failed` (the
 * last Response seen, with the error), as on translated streams.
 */
import { isJsonObject } from '../../../json-object.js';
import type { GatewayError } from '../../../errors.js';
import type { ChatResponse, EmittedChunk } from '../../../providers/types.js';
import type { ResponseFormat, StreamEncoder } from '../../response-format.js';
import { decodeThinkingBlocks } from './reasoning-blocks.js';
import { outputTextOf } from './response.js';
import type { ResponseObject, ResponseOutputItem } from './types.js';

type Json = Record<string, unknown>;

export interface NativeResponsesEcho {
  /** The model name the client asked for. */
  model: string;
  store: boolean;
  previousResponseId: string | null;
}

const FINISHED = new Set(['completed', 'incomplete']);

/** The Response with the client's own request fields; undefined when `value` is not a Response. */
function echoed(value: unknown, echo: NativeResponsesEcho): Json | undefined {
  if (!isJsonObject(value) || value.object !== 'response' || typeof value.id !== 'string') return undefined;
  const response: Json = { ...value, output: outputInShape(value.output), model: echo.model, previous_response_id: echo.previousResponseId, store: echo.store };
  // As on translated responses (and the SDK's own Response type): all output text joined.
  if (typeof response.output_text !== 'string') response.output_text = outputTextOf(response.output as ResponseOutputItem[]);
  return response;
}

function itemInShape(item: unknown): boolean {
  return isJsonObject(item) && (item.type !== 'message' || (Array.isArray(item.content) && item.content.every(isJsonObject)));
}

/**
 * The upstream's output as the gateway reads it (output_text, the stored conversation): a list of
 * objects, each message's `content` a list of objects. Whatever the upstream wrote there, what does
 * not fit is left out, so that reading it never stops the answer; an output in shape is kept as it is.
 */
function outputInShape(output: unknown): unknown[] {
  if (!Array.isArray(output)) return [];
  if (output.every(itemInShape)) return output;
  return output.filter(isJsonObject).map((item) => (itemInShape(item) ? item : { ...item, content: Array.isArray(item.content) ? item.content.filter(isJsonObject) : [] }));
}

class NativeResponsesEncoder implements StreamEncoder {
  readonly contentType = 'text/event-stream; charset=utf-8';
  private nextSequence = 0;
  private last: Json | undefined;

  constructor(
    private readonly echo: NativeResponsesEcho,
    private readonly onComplete: ((response: ResponseObject) => void) | undefined,
  ) {}

  chunks(emitted: EmittedChunk[]): string {
    let out = '';
    for (const item of emitted) if (item.raw !== undefined) out += this.event(item.raw);
    return out;
  }

  /** One upstream event (`event:` and `data:` lines): those carrying the Response are rewritten, the others pass as they came. */
  private event(raw: string): string {
    const at = raw.indexOf('data: ');
    if (at < 0) return raw;
    const data = raw.slice(at + 6).trimEnd();
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return raw;
    }
    if (!isJsonObject(parsed)) return raw;
    if (typeof parsed.sequence_number === 'number') this.nextSequence = parsed.sequence_number + 1;
    else this.nextSequence++;
    const response = echoed(parsed.response, this.echo);
    if (!response) return raw;
    this.last = response;
    if (parsed.type === 'response.completed' || parsed.type === 'response.incomplete') {
      if (FINISHED.has(String(response.status))) this.onComplete?.(response as unknown as ResponseObject);
    }
    return `${raw.slice(0, at)}data: ${JSON.stringify({ ...parsed, response })}\n\n`;
  }

  error(error: GatewayError): string {
    const envelope = error.toEnvelope().error;
    const sequence = this.nextSequence;
    if (!this.last) {
      return `event: error\ndata: ${JSON.stringify({ type: 'error', code: envelope.code ?? envelope.type ?? null, message: envelope.message, param: envelope.param ?? null, sequence_number: sequence })}\n\n`;
    }
    const failed = { ...this.last, status: 'failed', error: { code: 'server_error', message: envelope.message } };
    return `event: response.failed\ndata: ${JSON.stringify({ type: 'response.failed', response: failed, sequence_number: sequence })}\n\n`;
  }

  end(): string {
    return '';
  }
}

/** The format of a natively relayed Responses request; `onComplete` sees each Response that finished (the route stores it). */
export function openAIResponsesNativeFormat(echo: NativeResponsesEcho, onComplete?: (response: ResponseObject) => void): ResponseFormat {
  return {
    // Only native answers reach this format (the route stage gives it to OpenAI and Azure attempts alone).
    chat: (_response: ChatResponse, raw: string | undefined) => raw ?? '',
    native: (raw, parsed) => {
      const response = echoed(parsed, echo);
      if (!response) return raw;
      if (FINISHED.has(String(response.status))) onComplete?.(response as unknown as ResponseObject);
      return JSON.stringify(response);
    },
    stream: () => new NativeResponsesEncoder(echo, onComplete),
  };
}

/**
 * Stored items (earlier inputs and outputs of the conversation) as input of a native request sent
 * with `store: false`: ids dropped (OpenAI looks up an item sent with its id among stored ones);
 * assistant messages as text; reasoning kept only when it is OpenAI's encrypted reasoning (with its
 * id, as OpenAI reads it back), the gateway's own (another provider's signed thinking) and
 * reasoning without content left out.
 */
export function itemsForNativeInput(items: unknown[]): Json[] {
  const out: Json[] = [];
  for (const item of items) {
    if (!isJsonObject(item)) continue;
    if (item.type === 'reasoning') {
      if (typeof item.encrypted_content === 'string' && decodeThinkingBlocks(item.encrypted_content) === undefined && !item.encrypted_content.startsWith('sb1.')) out.push(item);
      continue;
    }
    const { id: _id, ...rest } = item;
    if (rest.type === 'message' && rest.role === 'assistant' && Array.isArray(rest.content)) {
      const text = rest.content.map((part) => (isJsonObject(part) && typeof part.text === 'string' ? part.text : isJsonObject(part) && typeof part.refusal === 'string' ? part.refusal : '')).join('');
      out.push({ type: 'message', role: 'assistant', content: text });
      continue;
    }
    out.push(rest);
  }
  return out;
}
