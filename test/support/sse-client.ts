/**
 * A bare SSE client for stream tests that need control the official SDK does not give: hang up at
 * an exact chunk, see an error event as it came, time when the stream ended.
 */
export interface StreamEvent {
  /** The parsed `data:` payload (a chunk or an error envelope); undefined for `[DONE]`. */
  data: { choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>; usage?: unknown; error?: { code: string | null; message: string } } | undefined;
  at: number;
}

export interface OpenedStream {
  response: Response;
  callId: string;
  /** Reads events until the stream ends, `until` says stop (the connection is then closed), or the server closes it. */
  read(until?: (event: StreamEvent) => boolean): Promise<{ events: StreamEvent[]; text: string; error?: { code: string | null; message: string }; done: boolean; hungUp: boolean }>;
}

export async function openStream(url: string, key: string, body: Record<string, unknown>): Promise<OpenedStream> {
  const controller = new AbortController();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
    signal: controller.signal,
  });
  if (response.status !== 200) throw new Error(`the stream did not open: ${response.status} ${await response.text()}`);
  const callId = response.headers.get('x-switchboard-call-id') ?? '';
  return {
    response,
    callId,
    async read(until) {
      const events: StreamEvent[] = [];
      let text = '';
      let error: { code: string | null; message: string } | undefined;
      let done = false;
      let buffered = '';
      const decoder = new TextDecoder();
      const reader = response.body!.getReader();
      try {
        for (;;) {
          const { value, done: ended } = await reader.read();
          if (ended) return { events, text, error, done, hungUp: false };
          buffered += decoder.decode(value, { stream: true });
          for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n')) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const payload = block.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
            if (payload === '') continue;
            const event: StreamEvent = { data: payload === '[DONE]' ? undefined : JSON.parse(payload), at: Date.now() };
            if (payload === '[DONE]') done = true;
            events.push(event);
            if (event.data?.error) error = event.data.error;
            for (const choice of event.data?.choices ?? []) text += choice.delta?.content ?? '';
            if (until?.(event)) {
              controller.abort();
              return { events, text, error, done, hungUp: true };
            }
          }
        }
      } catch (caught) {
        if (controller.signal.aborted) return { events, text, error, done, hungUp: true };
        throw caught;
      }
    },
  };
}
