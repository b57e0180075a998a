/**
 * A run of upstream OpenAI SSE events that the relay forwards exactly as they arrived (one
 * `data: <json>\n\n` per chunk), without splitting, parsing or re-framing them one by one. Its
 * chunks are parsed only if someone reads them: the last one when the gateway writes its own usage
 * chunk, all of them when it has to count tokens itself.
 */
import type { ChatChunk, EmittedChunk } from '../providers/types.js';
import { parsedChatChunk } from '../providers/shared/chunk-shape.js';
import { runChunks } from './streamed-answer.js';

export class SseRun implements EmittedChunk {
  readonly usageFree = true;
  private lastParsed: ChatChunk | undefined;

  constructor(readonly sse: string) {}

  /** The run's last chunk. */
  get chunk(): ChatChunk {
    if (this.lastParsed === undefined) {
      const start = this.sse.lastIndexOf('\n\n', this.sse.length - 3);
      this.lastParsed = parsedChatChunk(this.sse.slice(start === -1 ? 6 : start + 8, this.sse.length - 2));
    }
    return this.lastParsed;
  }

  /** Every chunk of the run, in order. */
  chunks(): ChatChunk[] {
    return runChunks(this.sse);
  }
}
