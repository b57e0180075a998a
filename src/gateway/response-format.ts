/**
 * How canonical (OpenAI-format) results are written to a client. The OpenAI format is the default;
 * the Anthropic-compatible /v1/messages endpoint supplies its own format. A stream encoder holds
 * the state of one stream.
 */
import type { GatewayError } from '../errors.js';
import { usageToOpenAI } from '../providers/shared/usage.js';
import { mentionsUsageObject } from '../providers/shared/chunk-usage.js';
import type { ChatChunk, ChatResponse, EmittedChunk, Usage } from '../providers/types.js';

export interface StreamEncoder {
  readonly contentType: string;
  /** Writes OpenAI SSE, so a run of upstream events (EmittedChunk.sse) can go out as it came. */
  readonly forwardsSse?: boolean;
  /** Serializes a batch of chunks (may return '' to hold them back). */
  chunks(emitted: EmittedChunk[]): string;
  /** The stream failed after it was committed; the text that tells the client. */
  error(error: GatewayError): string;
  /** The stream ended normally; `usage` is the final (reported or counted) usage. */
  end(summary: { usage: Usage | undefined; last: ChatChunk | undefined; usageForwarded: boolean }): string;
}

export interface ResponseFormat {
  /** Set on OpenAI's own format (and formats wrapping it): its chat bodies may carry the platform's metadata field. */
  readonly openAI?: boolean;
  /** A non-streaming chat response; `raw` is the upstream body when the response is unchanged. */
  chat(response: ChatResponse, raw: string | undefined): string;
  /** A provider-native JSON answer as the client gets it; without this method, exactly as received. */
  native?(raw: string, parsed: unknown): string;
  stream(options: { includeUsage: boolean }): StreamEncoder;
}

class OpenAIStreamEncoder implements StreamEncoder {
  readonly contentType = 'text/event-stream; charset=utf-8';
  readonly forwardsSse = true;

  constructor(private readonly includeUsage: boolean) {}

  chunks(emitted: EmittedChunk[]): string {
    let out = '';
    for (const item of emitted) {
      // A run holds neither usage nor errors (the transform vetted it): it goes out as it came.
      if (item.sse !== undefined) {
        out += item.sse;
        continue;
      }
      const { raw } = item;
      // The usage-only chunk was requested by the gateway for billing; hide it unless asked for.
      // (A raw chunk is parsed only when it carries a usage object; `"usage":null` is not one.)
      if (!this.includeUsage && !item.usageFree && (raw === undefined || mentionsUsageObject(raw))) {
        const { chunk } = item;
        if (chunk.usage && (chunk.choices?.length ?? 0) === 0) continue;
      }
      out += `data: ${raw ?? JSON.stringify(item.chunk)}\n\n`;
    }
    return out;
  }

  error(error: GatewayError): string {
    return `data: ${JSON.stringify(error.toEnvelope())}\n\n`;
  }

  end({ usage, last, usageForwarded }: { usage: Usage | undefined; last: ChatChunk | undefined; usageForwarded: boolean }): string {
    let out = '';
    if (this.includeUsage && !usageForwarded && usage) {
      const usageChunk: ChatChunk = {
        id: last?.id ?? '',
        object: 'chat.completion.chunk',
        created: last?.created ?? Math.floor(Date.now() / 1000),
        model: last?.model ?? '',
        choices: [],
        usage: usageToOpenAI(usage),
      };
      out += `data: ${JSON.stringify(usageChunk)}\n\n`;
    }
    return `${out}data: [DONE]\n\n`;
  }
}

export const openAIResponseFormat: ResponseFormat = {
  openAI: true,
  chat: (response, raw) => raw ?? JSON.stringify(response),
  stream: ({ includeUsage }) => new OpenAIStreamEncoder(includeUsage),
};

/**
 * A stream relayed as the upstream wrote it (`/openai/v1/*`): each event's own bytes, the
 * upstream's `[DONE]` included, nothing added at the end (the usage chunk the gateway asked for
 * left out unless the client asked for it too); a failure after the first event ends it
 * with OpenAI's error envelope as a `data:` event, as on /v1/chat/completions.
 */
class OpenAIRelayEncoder implements StreamEncoder {
  readonly contentType = 'text/event-stream; charset=utf-8';

  constructor(
    private readonly includeUsage: boolean,
    /** Told the Response's id once, from the first event that carries it (a relayed Responses stream). */
    private onResponseId?: (id: string) => void,
  ) {}

  chunks(emitted: EmittedChunk[]): string {
    let out = '';
    for (const item of emitted) {
      if (this.onResponseId && item.chunk.id !== '') {
        this.onResponseId(item.chunk.id);
        this.onResponseId = undefined;
      }
      // The usage-only chunk the relay asked for to bill the stream (the transform leaves it no
      // choices): hidden unless the client asked for it too.
      if (item.raw === undefined || (!this.includeUsage && item.usageFree === false && item.chunk.choices.length === 0)) continue;
      out += item.raw;
    }
    return out;
  }

  error(error: GatewayError): string {
    return `data: ${JSON.stringify(error.toEnvelope())}\n\n`;
  }

  end(): string {
    return '';
  }
}

/** `/openai/v1/*`: the JSON answer and the stream's events as the upstream wrote them. */
export const openAIRelayFormat: ResponseFormat = {
  openAI: true,
  chat: openAIResponseFormat.chat,
  stream: ({ includeUsage }) => new OpenAIRelayEncoder(includeUsage),
};

/**
 * `/openai/v1/responses` relayed as `openAIRelayFormat` does, telling `onResponseId` the Response's
 * id: the JSON answer's `id` (read from the body the gateway parsed anyway), or the first stream
 * event carrying the Response (`response.created`; ResponsesNativeStreamTransform gives its chunk the id).
 */
export function openAIRelayResponsesFormat(onResponseId: (id: string) => void): ResponseFormat {
  return {
    openAI: true,
    chat: openAIResponseFormat.chat,
    native: (raw, parsed) => {
      const id = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown }).id : undefined;
      if (typeof id === 'string' && id !== '') onResponseId(id);
      return raw;
    },
    stream: ({ includeUsage }) => new OpenAIRelayEncoder(includeUsage, onResponseId),
  };
}
