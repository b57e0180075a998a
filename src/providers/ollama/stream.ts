/**
 * An Ollama NDJSON stream (/api/chat or /api/generate with `stream: true`) as OpenAI chunks. Each
 * line carries a piece of text (`message.content` / `response`), of thinking, or whole tool calls;
 * the last line has `done: true`, the finish reason and the token counts. The first chunk carries
 * the assistant role, tool calls arrive complete (id, name, arguments) with their index, and the
 * done line becomes the finish chunk. Usage is kept for the relay, which writes the usage chunk.
 */
import type { GatewayError } from '../../errors.js';
import type { ChatChunk, ChatStreamTransform, Deployment, EmittedChunk, Usage } from '../types.js';
import { createdSeconds, finishReason, invalidResponse, randomIds, reportedError, toChatToolCalls, usageFromMetrics, type IdSource } from './response.js';
import { parseStreamJson } from '../shared/stream-json.js';
import { readTurn, type OllamaEndpoint, type OllamaTurn } from './wire.js';

type Delta = ChatChunk['choices'][number]['delta'];

export class OllamaStreamTransform implements ChatStreamTransform {
  usage: Usage | undefined;
  error: GatewayError | undefined;
  private id = '';
  private created = 0;
  private model = '';
  private identified = false;
  private roleSent = false;
  private toolCalls = 0;
  private done = false;

  constructor(
    private readonly target: Deployment,
    private readonly endpoint: OllamaEndpoint,
    private readonly ids: IdSource = randomIds,
  ) {}

  push(data: string): EmittedChunk[] {
    if (this.done || this.error) return [];
    const parsed = parseStreamJson(data, this.target);
    if ('error' in parsed) {
      this.error = parsed.error;
      return [];
    }
    const read = readTurn(parsed.value, this.endpoint);
    if ('error' in read) {
      this.error = reportedError(read.error, this.target);
      return [];
    }
    if ('invalid' in read) {
      this.error = invalidResponse(this.target, `${read.invalid} in its stream`);
      return [];
    }
    return this.emit(read.turn);
  }

  end(): EmittedChunk[] {
    // A clean end without the done line is a cut stream: the answer is incomplete and unbilled.
    if (!this.done && !this.error) this.error = invalidResponse(this.target, 'a stream that ended before its final "done" line');
    return [];
  }

  private emit(turn: OllamaTurn): EmittedChunk[] {
    this.identify(turn);
    const emitted: EmittedChunk[] = [];
    const delta: Delta = {};
    if (turn.thinking) delta.reasoning_content = turn.thinking;
    if (turn.content) delta.content = turn.content;
    if (turn.toolCalls.length > 0) {
      delta.tool_calls = toChatToolCalls(turn.toolCalls, this.id, this.toolCalls).map((call, offset) => ({ index: this.toolCalls + offset, ...call }));
      this.toolCalls += turn.toolCalls.length;
    }
    if (Object.keys(delta).length > 0) emitted.push(this.chunk(delta, null));
    if (turn.done) {
      this.done = true;
      this.usage = usageFromMetrics(turn.metrics);
      emitted.push(this.chunk({}, finishReason(turn.doneReason, this.toolCalls > 0)));
    }
    return emitted;
  }

  private identify(turn: OllamaTurn): void {
    if (this.identified) return;
    this.identified = true;
    this.id = this.ids.completionId();
    this.created = createdSeconds(turn.createdAt, this.ids);
    this.model = turn.model ?? this.target.upstreamModel;
  }

  private chunk(delta: Delta, finish: string | null): EmittedChunk {
    const withRole: Delta = this.roleSent ? delta : { role: 'assistant', ...delta };
    this.roleSent = true;
    return { chunk: { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta: withRole, finish_reason: finish }] } };
  }
}
