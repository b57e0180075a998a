/**
 * `output_parse_pii` on a streamed answer: the placeholders the prompt's masking handed out
 * (`<EMAIL_ADDRESS_1>`) are replaced by the original values in each chunk's text before the
 * client's encoder writes it — OpenAI SSE and Anthropic events alike, as both are written from the
 * same canonical chunks. A placeholder may arrive split across chunks (`<EMAIL_` then
 * `ADDRESS_1>`): the tail of a choice's text that could still be the start of one is held back
 * and sent with the next chunk of that choice, with its finish chunk, or at the end of the stream.
 * Upstream runs are never forwarded untouched here (forwardsSse off): every chunk is rewritten.
 * Only answer text is restored (`delta.content`, a completion's `text`), not tool-call arguments.
 */
import type { ResponseFormat, StreamEncoder } from '../gateway/response-format.js';
import type { ChatChunk, EmittedChunk } from '../providers/types.js';
import type { PiiVault } from './pii.js';

const PLACEHOLDER = /<[A-Z0-9_]+_\d+>/g;

/** Restores placeholders in text that arrives in pieces; one per choice of a stream. */
export class PlaceholderRestorer {
  private held = '';

  constructor(
    private readonly vault: PiiVault,
    private readonly onRestored: () => void,
  ) {}

  /** The text that can go out now, with placeholders restored; a possible placeholder start is kept back. */
  push(text: string): string {
    const pending = this.held + text;
    const cut = this.holdFrom(pending);
    this.held = pending.slice(cut);
    return this.restore(pending.slice(0, cut));
  }

  /** Everything held, restored as far as it goes (the stream or the choice ended). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return this.restore(rest);
  }

  /** Where the held tail starts: the last `<` whose rest could still grow into a placeholder of this vault. */
  private holdFrom(text: string): number {
    const start = text.lastIndexOf('<');
    if (start < 0) return text.length;
    const tail = text.slice(start);
    if (tail.includes('>')) return text.length;
    for (const placeholder of this.vault.originals.keys()) if (placeholder.startsWith(tail)) return start;
    return text.length;
  }

  private restore(text: string): string {
    if (!text.includes('<')) return text;
    let restored = false;
    const out = text.replace(PLACEHOLDER, (placeholder) => {
      const original = this.vault.originals.get(placeholder);
      if (original === undefined) return placeholder;
      restored = true;
      return original;
    });
    if (restored) this.onRestored();
    return out;
  }
}

type Choice = ChatChunk['choices'][number] & { text?: unknown };

export function restoringFormat(format: ResponseFormat, vault: PiiVault, onRestored: () => void): ResponseFormat {
  let told = false;
  const restored = () => {
    if (told) return;
    told = true;
    onRestored();
  };
  return {
    openAI: format.openAI,
    chat: (response, raw) => format.chat(response, raw),
    stream(options) {
      const inner = format.stream(options);
      const restorers = new Map<number, PlaceholderRestorer>();
      let last: ChatChunk | undefined;
      /** Choices written as a completion's `text`, not a chat delta. */
      const texts = new Set<number>();
      const restorerOf = (index: number) => {
        let restorer = restorers.get(index);
        if (!restorer) restorers.set(index, (restorer = new PlaceholderRestorer(vault, restored)));
        return restorer;
      };
      const rewrite = (chunk: ChatChunk): ChatChunk | undefined => {
        last = chunk;
        let changed = false;
        const choices: Choice[] = [];
        for (const choice of chunk.choices ?? []) {
          const item = choice as Choice;
          const field = typeof item.delta?.content === 'string' ? 'content' : typeof item.text === 'string' ? 'text' : undefined;
          const finishing = item.finish_reason != null;
          if (!field && !finishing) {
            choices.push(item);
            continue;
          }
          const restorer = restorerOf(item.index ?? 0);
          if (field === 'text') texts.add(item.index ?? 0);
          const incoming = field === 'text' ? (item.text as string) : field === 'content' ? (item.delta.content as string) : '';
          // A finishing choice sends what it held back.
          const text = restorer.push(incoming) + (finishing ? restorer.flush() : '');
          if (text === incoming) {
            choices.push(item);
            continue;
          }
          changed = true;
          // A piece held back whole leaves nothing to send unless the chunk carries more (a role, a finish).
          if (field === 'text') {
            if (text || finishing) choices.push({ ...item, text });
          } else if (text || finishing || Object.keys(item.delta ?? {}).some((key) => key !== 'content')) {
            choices.push({ ...item, delta: { ...item.delta, content: text } });
          }
        }
        if (!changed) return chunk;
        if (choices.length === 0 && !chunk.usage) return undefined;
        return { ...chunk, choices };
      };
      const encoder: StreamEncoder = {
        contentType: inner.contentType,
        forwardsSse: false,
        chunks(emitted) {
          const out: EmittedChunk[] = [];
          for (const item of emitted) {
            const chunk = rewrite(item.chunk);
            if (chunk === item.chunk) out.push(item);
            else if (chunk) out.push({ chunk });
          }
          return out.length > 0 ? inner.chunks(out) : '';
        },
        error: (error) => inner.error(error),
        end(summary) {
          // A stream that ended without a finish chunk still owes what was held back.
          let out = '';
          for (const [index, restorer] of restorers) {
            const text = restorer.flush();
            if (!text || !last) continue;
            const choice = texts.has(index) ? { index, text, delta: {}, finish_reason: null } : { index, delta: { content: text }, finish_reason: null };
            out += inner.chunks([{ chunk: { ...last, choices: [choice], usage: undefined } }]);
          }
          return out + inner.end(summary);
        },
      };
      return encoder;
    },
  };
}
