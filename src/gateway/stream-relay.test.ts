import { Readable, Writable } from 'node:stream';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { OpenAIStreamTransform } from '../providers/shared/openai-compatible.js';
import type { Deployment, Usage } from '../providers/types.js';
import { openAIResponseFormat } from './response-format.js';
import { atLeastCounted, relayStream, UpstreamStream, type StreamTimers } from './stream-relay.js';
import { GatewayError } from '../errors.js';
import type { UpstreamResponse } from './upstream.js';

const deployment = { id: 'd1', modelName: 'gpt-4o-mini', provider: 'openai', upstreamModel: 'gpt-4o-mini' } as Deployment;
const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-mini', system_fingerprint: 'fp_1' };
const content = ['Hé', 'llo ', '世界', ' 🚀', '!'];

/** The upstream's chunks, as OpenAI sends them once include_usage is on (usage: null on each). */
const chunks = [
  { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: null },
  ...content.map((word) => ({ ...base, choices: [{ index: 0, delta: { content: word }, finish_reason: null }], usage: null })),
  { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null },
];
const usageChunk = { ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 } };
const upstreamText = [...chunks, usageChunk].map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('') + 'data: [DONE]\n\n';

function timers(): StreamTimers {
  return { abort: () => undefined, firstChunkTimeoutMs: 0, idleTimeoutMs: 0, provider: 'openai' };
}

/**
 * Relays `reads` (the upstream body, in that chunking) and returns what the client received and how
 * many events the transform had to look at. `forwardRuns`: as the gateway relays to OpenAI clients
 * (runs of plain events go out as they came); off, every event goes through the transform.
 */
async function relay(reads: Buffer[], includeUsage: boolean, forwardRuns = true): Promise<{ text: string; usage: Usage | undefined; pushed: number }> {
  const body = Readable.from(reads, { objectMode: true }) as unknown as UpstreamResponse['body'];
  const received: Buffer[] = [];
  const response = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(Buffer.from(chunk));
      callback();
    },
  }) as unknown as ServerResponse;
  const transform = new OpenAIStreamTransform(deployment);
  let pushed = 0;
  const push = transform.push.bind(transform);
  transform.push = (data: string) => {
    pushed++;
    return push(data);
  };
  const { stream, first } = await UpstreamStream.open(body, transform, 'sse', timers(), { forwardRuns });
  const outcome = await relayStream(stream, first, response, {
    encoder: openAIResponseFormat.stream({ includeUsage }),
    estimateUsage: async (text) => ({ promptTokens: 0, completionTokens: text.length, totalTokens: text.length, estimated: true }),
    startedAt: 0,
    now: () => 1,
  }, timers());
  return { text: Buffer.concat(received).toString('utf8'), usage: outcome.usage, pushed };
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const reads: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > start) reads.push(bytes.subarray(start, cut));
    start = cut;
  }
  return reads;
}

const withoutUsage = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('') + 'data: [DONE]\n\n';
const withUsage = [...chunks, usageChunk].map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('') + 'data: [DONE]\n\n';

describe('stream relay', () => {
  it('relays every chunk unchanged and hides the usage-only chunk the client did not ask for, in any chunking', async () => {
    const bytes = Buffer.from(upstreamText);
    // One read, then every split into two reads (multi-byte characters and "\n\n" cut included).
    const chunkings = [[bytes], ...Array.from({ length: bytes.length - 1 }, (_, index) => splitAt(bytes, [index + 1]))];
    for (const reads of chunkings) {
      for (const forwardRuns of [true, false]) {
        const hidden = await relay(reads, false, forwardRuns);
        expect(hidden.text).toBe(withoutUsage);
        expect(hidden.usage).toMatchObject({ promptTokens: 12, completionTokens: 7, totalTokens: 19 });
      }
    }
    for (const reads of [[bytes], splitAt(bytes, [100, 101, 350]), splitAt(bytes, [bytes.length - 20])]) {
      expect((await relay(reads, true)).text).toBe(withUsage);
      expect((await relay(reads, true, false)).text).toBe(withUsage);
    }
  });

  it('forwards reads of plain events as they came, without handing them to the transform one by one', async () => {
    const plain = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('');
    const tail = `data: ${JSON.stringify(usageChunk)}\n\ndata: [DONE]\n\n`;
    // Plain events over three reads (one cut mid-event), then the usage chunk and [DONE].
    const reads = [...splitAt(Buffer.from(plain), [150, 600]), Buffer.from(tail)];
    const forwarded = await relay(reads, false);
    expect(forwarded.text).toBe(withoutUsage);
    expect(forwarded.usage).toMatchObject({ totalTokens: 19 });
    expect(forwarded.pushed).toBe(2); // the usage chunk and [DONE]
    expect((await relay(reads, false, false)).pushed).toBe(chunks.length + 2);
    // One read with everything: the plain events go out as they came, the usage chunk and [DONE]
    // are parsed; the same when the usage chunk comes first.
    expect(await relay([Buffer.from(plain + tail)], false)).toMatchObject({ text: withoutUsage, pushed: 2 });
    const usageFirst = `data: ${JSON.stringify(usageChunk)}\n\n${plain}data: [DONE]\n\n`;
    expect(await relay([Buffer.from(usageFirst)], true)).toMatchObject({ text: `data: ${JSON.stringify(usageChunk)}\n\n${plain}data: [DONE]\n\n`, pushed: chunks.length + 2 });
  });

  it('counts the text of forwarded runs when the upstream reports no usage', async () => {
    const plain = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('');
    const result = await relay([Buffer.from(plain), Buffer.from('data: [DONE]\n\n')], true);
    // estimateUsage (above) counts the characters of the completion text.
    expect(result.usage).toMatchObject({ completionTokens: content.join('').length, estimated: true });
    // The client asked for usage: the gateway writes its own usage chunk from the last chunk's id.
    expect(result.text).toContain(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":0,"completion_tokens":${content.join('').length}`);
    expect(result.text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('reads \\r\\n framing, comments and multi-line events through the parser, with the same result', async () => {
    const crlf = Buffer.from(upstreamText.replaceAll('\n', '\r\n'));
    expect((await relay([crlf], false)).text).toBe(withoutUsage);
    expect((await relay(splitAt(crlf, [57, 58, 400]), false)).text).toBe(withoutUsage);
    const withComments = Buffer.from(`: keep-alive\n\n${upstreamText.replace('data: [DONE]', ': processing\n\ndata: [DONE]')}`);
    expect((await relay([withComments], false)).text).toBe(withoutUsage);
    // A pretty-printed (multi-line) event is parsed and re-framed on one line: a raw newline
    // inside a data line would break the client's SSE parser.
    const multiLine = `data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m",\ndata: "choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n`;
    for (const forwardRuns of [true, false]) {
      const text = (await relay([Buffer.from(multiLine + upstreamText)], false, forwardRuns)).text;
      expect(text).toBe(`data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n${withoutUsage}`);
    }
  });

  it('parses usage written with spaces (Python servers) and hides it', async () => {
    const spaced = upstreamText.replace(JSON.stringify(usageChunk), JSON.stringify(usageChunk, null, 0).replace('"usage":{', '"usage": {'));
    const result = await relay([Buffer.from(spaced)], false);
    expect(result.text).toBe(withoutUsage);
    expect(result.usage).toMatchObject({ totalTokens: 19 });
  });

  it('ends with an error event when the upstream reports one mid-stream', async () => {
    const broken = chunks.slice(0, 2).map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('') + 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n';
    const text = (await relay([Buffer.from(broken)], false)).text;
    expect(text).toContain(`data: ${JSON.stringify(chunks[1])}\n\n`);
    expect(text).toMatch(/data: \{"error":\{"message":"openai stream error: overloaded/);
    expect(text).not.toContain('[DONE]');
  });

  it('cancels a stream that goes quiet mid-way (idle timeout), but never while the client is the slow one', async () => {
    const first = `data: ${JSON.stringify(chunks[0])}\n\n`;
    const second = `data: ${JSON.stringify(chunks[1])}\n\n`;
    const body = new Readable({ read() {} });
    body.push(Buffer.from(first));
    const aborted: string[] = [];
    const idle: StreamTimers = {
      abort: (error) => {
        aborted.push(error.code);
        body.destroy(error);
      },
      firstChunkTimeoutMs: 1000,
      idleTimeoutMs: 80,
      provider: 'openai',
    };
    const { stream } = await UpstreamStream.open(body as unknown as UpstreamResponse['body'], new OpenAIStreamTransform(deployment), 'sse', idle);
    // The gateway is busy elsewhere (a slow client) for longer than the idle timeout: no abort.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(aborted).toEqual([]);
    body.push(Buffer.from(second));
    expect((await stream.next(idle.idleTimeoutMs))?.[0].raw).toBe(JSON.stringify(chunks[1]));
    // Now the upstream says nothing while the gateway waits: cancelled after ~80 ms.
    const started = Date.now();
    await expect(stream.next(idle.idleTimeoutMs)).rejects.toThrow();
    expect(aborted).toEqual(['upstream_timeout']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    stream.destroy();
  });

  it('sends chunks that arrived together in one socket write, but never holds one back while waiting', async () => {
    /** A client whose writes are recorded per flush (writev), as a socket sends them. */
    function client() {
      const flushes: string[] = [];
      const response = new Writable({
        writev(chunks, callback) {
          flushes.push(chunks.map(({ chunk }) => Buffer.from(chunk as Buffer).toString('utf8')).join(''));
          callback();
        },
      });
      return { flushes, response };
    }
    const relayOptions = {
      encoder: openAIResponseFormat.stream({ includeUsage: false }),
      estimateUsage: async () => ({ promptTokens: 0, completionTokens: 0, totalTokens: 0, estimated: true }),
      startedAt: 0,
      now: () => 1,
    };

    // The whole upstream stream is in hand at once (undici pushes what it parsed, then the end): one flush.
    const together = client();
    const all = new Readable({ read() {} });
    all.push(Buffer.from(upstreamText));
    all.push(null);
    const opened = await UpstreamStream.open(all as unknown as UpstreamResponse['body'], new OpenAIStreamTransform(deployment), 'sse', timers(), { forwardRuns: true });
    await relayStream(opened.stream, opened.first, together.response as unknown as ServerResponse, relayOptions, timers());
    await new Promise((resolve) => together.response.on('finish', resolve));
    expect(together.flushes).toEqual([withoutUsage]);

    // The upstream pauses after the first chunk: it reaches the client before the rest arrives.
    const trickle = client();
    const body = new Readable({ read() {} });
    const firstEvent = `data: ${JSON.stringify(chunks[0])}\n\n`;
    body.push(Buffer.from(firstEvent));
    const paused = await UpstreamStream.open(body as unknown as UpstreamResponse['body'], new OpenAIStreamTransform(deployment), 'sse', timers(), { forwardRuns: true });
    const relaying = relayStream(paused.stream, paused.first, trickle.response as unknown as ServerResponse, relayOptions, timers());
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(trickle.flushes.join('')).toBe(firstEvent);
    body.push(Buffer.from(upstreamText.slice(firstEvent.length)));
    body.push(null);
    await relaying;
    await new Promise((resolve) => trickle.response.on('finish', resolve));
    expect(trickle.flushes.join('')).toBe(withoutUsage);
  });

  it('waits for a slow client (back-pressure) and still delivers every chunk in order', async () => {
    const bytes = Buffer.from(upstreamText);
    const body = Readable.from(splitAt(bytes, [90, 200, 310, 420, 530]), { objectMode: true }) as unknown as UpstreamResponse['body'];
    const received: Buffer[] = [];
    let waits = 0;
    const response = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _encoding, callback) {
        received.push(Buffer.from(chunk));
        setTimeout(callback, 5);
      },
    });
    response.on('drain', () => waits++);
    // Honouring back-pressure: no write while the client's buffer is over its limit.
    let writesWhileFull = 0;
    const originalWrite = response.write.bind(response);
    response.write = ((chunk: string) => {
      if (response.writableNeedDrain) writesWhileFull++;
      return originalWrite(chunk);
    }) as typeof response.write;
    const { stream, first } = await UpstreamStream.open(body, new OpenAIStreamTransform(deployment), 'sse', timers());
    await relayStream(stream, first, response as unknown as ServerResponse, {
      encoder: openAIResponseFormat.stream({ includeUsage: false }),
      estimateUsage: async () => ({ promptTokens: 0, completionTokens: 0, totalTokens: 0, estimated: true }),
      startedAt: 0,
      now: () => 1,
    }, timers());
    await new Promise((resolve) => response.on('finish', resolve));
    expect(waits).toBeGreaterThan(0);
    expect(writesWhileFull).toBe(0);
    expect(Buffer.concat(received).toString('utf8')).toBe(withoutUsage);
  });

  /** A client that records what it received. */
  function recordingClient() {
    const received: Buffer[] = [];
    const response = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(Buffer.from(chunk));
        callback();
      },
    });
    return { response: response as unknown as ServerResponse & Writable, text: () => Buffer.concat(received).toString('utf8') };
  }
  const countingOptions = (includeUsage: boolean) => ({
    encoder: openAIResponseFormat.stream({ includeUsage }),
    estimateUsage: async (text: string) => ({ promptTokens: 4, completionTokens: text.length, totalTokens: 4 + text.length, estimated: true }),
    startedAt: 0,
    now: () => 1,
  });

  it('counts the text read so far when the client hangs up before the usage chunk', async () => {
    const body = new Readable({ read() {} });
    body.push(Buffer.from(chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('')));
    const client = recordingClient();
    const { stream, first } = await UpstreamStream.open(body as unknown as UpstreamResponse['body'], new OpenAIStreamTransform(deployment), 'sse', timers());
    const relaying = relayStream(stream, first, client.response, countingOptions(true), {
      ...timers(),
      abort: (error) => body.destroy(error),
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The whole answer went out; the client leaves before the usage chunk (the upstream is aborted with it).
    client.response.destroy();
    body.destroy(new GatewayError('client_closed_request', 'gone'));
    const outcome = await relaying;
    expect(outcome.clientDisconnected).toBe(true);
    expect(outcome.usage).toEqual({ promptTokens: 4, completionTokens: content.join('').length, totalTokens: 4 + content.join('').length, estimated: true });
  });

  it('ends a cut stream with the cut error event and bills the text read so far', async () => {
    const body = new Readable({ read() {} });
    body.push(Buffer.from(chunks.slice(0, 3).map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('')));
    const client = recordingClient();
    const cut = new GatewayError('key_revoked', 'the stream was ended because its API key was deleted');
    let cutWith: GatewayError | undefined;
    const { stream, first } = await UpstreamStream.open(body as unknown as UpstreamResponse['body'], new OpenAIStreamTransform(deployment), 'sse', timers());
    const relaying = relayStream(stream, first, client.response, { ...countingOptions(false), readingEnded: () => cutWith }, timers());
    await new Promise((resolve) => setTimeout(resolve, 20));
    cutWith = cut;
    // The abort surfaces as whatever the HTTP client throws; the client sees the cut's error.
    body.destroy(new Error('aborted'));
    const outcome = await relaying;
    expect(outcome.cut).toBe(cut);
    expect(outcome.error).toBe(cut);
    expect(client.text()).toContain(`data: ${JSON.stringify(cut.toEnvelope())}\n\n`);
    expect(outcome.usage).toMatchObject({ completionTokens: (content[0] + content[1]).length, estimated: true });
  });

  it('never bills an early-ended stream below the text it sent, whatever running usage it reported', () => {
    const counted = { promptTokens: 10, completionTokens: 30, totalTokens: 40, estimated: true };
    expect(atLeastCounted({ promptTokens: 12, completionTokens: 0, totalTokens: 12 }, counted)).toEqual({ promptTokens: 12, completionTokens: 30, totalTokens: 42, estimated: true });
    expect(atLeastCounted({ completionTokens: 5 }, counted)).toEqual({ promptTokens: 10, completionTokens: 30, totalTokens: 40, estimated: true });
    const complete = { promptTokens: 12, completionTokens: 31, totalTokens: 43 };
    expect(atLeastCounted(complete, counted)).toBe(complete);
  });
});

describe('reading ahead while the answer is held (a during_call verdict pending)', () => {
  async function opened(reads: Array<Buffer | Error>) {
    async function* body() {
      for (const read of reads) {
        await new Promise((resolve) => setImmediate(resolve));
        if (read instanceof Error) throw read;
        yield read;
      }
    }
    const stream = Readable.from(body(), { objectMode: true }) as unknown as UpstreamResponse['body'];
    return UpstreamStream.open(stream, new OpenAIStreamTransform(deployment), 'sse', timers());
  }
  const sink = () => {
    const received: Buffer[] = [];
    const response = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(Buffer.from(chunk));
        callback();
      },
    }) as unknown as ServerResponse;
    return { response, text: () => Buffer.concat(received).toString('utf8') };
  };
  const options = { encoder: openAIResponseFormat.stream({ includeUsage: true }), estimateUsage: async (text: string) => ({ promptTokens: 0, completionTokens: text.length, totalTokens: text.length, estimated: true }), startedAt: 0, now: () => 1 };

  it('relays what was read ahead, then the rest, exactly as without it, in any chunking', async () => {
    const bytes = Buffer.from(upstreamText);
    for (const cuts of [[], [40], [40, 200, 201, 600], Array.from({ length: 30 }, (_, index) => (index + 1) * 37)]) {
      for (const wait of [0, 1, 50]) {
        const { stream, first } = await opened(splitAt(bytes, cuts));
        stream.readAhead(0);
        await new Promise((resolve) => setTimeout(resolve, wait));
        const { response, text } = sink();
        const outcome = await relayStream(stream, first, response, options, timers());
        expect(text()).toBe(withUsage);
        expect(outcome.usage).toMatchObject({ promptTokens: 12, completionTokens: 7 });
      }
    }
  });

  it('hands over the batches read ahead before the failure that ended the reading', async () => {
    const bytes = Buffer.from(withoutUsage);
    const { stream, first } = await opened([bytes.subarray(0, 150), bytes.subarray(150, 400), new Error('socket reset')]);
    stream.readAhead(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { response, text } = sink();
    const outcome = await relayStream(stream, first, response, options, timers());
    expect(outcome.error?.code).toBe('upstream_connection');
    expect(text().startsWith(withoutUsage.slice(0, withoutUsage.lastIndexOf('data: ', 399)))).toBe(true);
  });

  it('stops reading ahead past the byte limit; the relay reads the rest', async () => {
    const bytes = Buffer.from(upstreamText);
    const { stream, first } = await opened(splitAt(bytes, Array.from({ length: 20 }, (_, index) => (index + 1) * 50)));
    stream.readAhead(0, 100);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stream.readInFull).toBe(false);
    const { response, text } = sink();
    await relayStream(stream, first, response, options, timers());
    expect(text()).toBe(withUsage);
  });

  it('reads a refused stream to its end (read ahead included) so its reported usage is in hand', async () => {
    const bytes = Buffer.from(upstreamText);
    const { stream } = await opened(splitAt(bytes, [100, 300, 500]));
    stream.readAhead(0);
    expect(await stream.readToEnd(0)).toBeUndefined();
    expect(stream.readInFull).toBe(true);
    expect(stream.usage).toMatchObject({ promptTokens: 12, completionTokens: 7 });
    expect(stream.text).toBe(content.join(''));
  });
});
