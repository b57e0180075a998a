/**
 * The langfuse callback end to end: a Langfuse stand-in (its public ingestion API) receives the
 * trace and the generation of a call made with the official openai SDK, with tokens and cost, and
 * the request metadata mapped as LiteLLM maps it.
 */
import type OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/wait.js';

interface IngestionEvent {
  id: string;
  timestamp: string;
  type: string;
  body: Record<string, unknown>;
}

describe('langfuse callback', () => {
  const upstream = new MockOpenAI({ promptTokens: 1000, completionTokens: 500 });
  const langfuse = new MockLogReceiver();
  let gateway: TestGateway;
  const events = () => langfuse.posts.flatMap((post) => ((post.body as { batch?: IngestionEvent[] }).batch ?? []));

  beforeAll(async () => {
    await upstream.start();
    await langfuse.start();
    langfuse.status = 207;
    gateway = await startGateway(
      `
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream.url}
      api_key: sk-upstream-test
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
litellm_settings:
  success_callback: ["langfuse"]
  failure_callback: ["langfuse"]
`,
      { env: { LANGFUSE_PUBLIC_KEY: 'pk-lf-test', LANGFUSE_SECRET_KEY: 'sk-lf-test', LANGFUSE_HOST: `${langfuse.url}/` }, callbackTuning: { flushIntervalMs: 20 } },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await langfuse.close();
    await upstream.close();
  });

  it('sends a trace and a generation with tokens, cost and the request metadata', async () => {
    await gateway.openai().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      user: 'end-user-7',
      metadata: { trace_id: 'trace-abc', generation_name: 'summarize', session_id: 'session-1', tags: ['prod', 'team-x'], trace_user_id: 'user-42' },
    } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming);
    await waitFor(() => events().some((event) => event.type === 'generation-create'), 'the generation');
    const post = langfuse.posts[0];
    expect(post.path).toBe('/api/public/ingestion');
    expect(post.headers.authorization).toBe(`Basic ${Buffer.from('pk-lf-test:sk-lf-test').toString('base64')}`);
    const trace = events().find((event) => event.type === 'trace-create')!;
    const generation = events().find((event) => event.type === 'generation-create')!;
    expect(trace.id).not.toBe(generation.id);
    expect(Number.isNaN(Date.parse(trace.timestamp))).toBe(false);
    expect(trace.body).toMatchObject({ id: 'trace-abc', name: 'summarize', userId: 'user-42', sessionId: 'session-1', tags: ['prod', 'team-x'] });
    expect(generation.body).toMatchObject({
      traceId: 'trace-abc',
      name: 'summarize',
      model: 'gpt-4o-mini',
      level: 'DEFAULT',
      usage: { input: 1000, output: 500, total: 1500, unit: 'TOKENS' },
      usageDetails: { input: 1000, output: 500, total: 1500 },
    });
    // 1000 × $0.000001 + 500 × $0.000002
    expect((generation.body.costDetails as { total: number }).total).toBeCloseTo(0.002, 9);
    expect(Date.parse(generation.body.endTime as string)).toBeGreaterThanOrEqual(Date.parse(generation.body.startTime as string));
    // Message logging is on (the default), though the gateway stores no prompts: input and output are sent.
    expect(generation.body.input).toEqual([{ role: 'user', content: 'hi' }]);
    expect(generation.body.output).toBe('Hello from the mock!');
    expect(trace.body.input).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('sends a failed call as a generation with level ERROR', async () => {
    upstream.faults.push({ kind: 'error', status: 400, body: { error: { message: 'bad request here', type: 'invalid_request_error' } } });
    await expect(gateway.openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).rejects.toThrow();
    await waitFor(() => events().some((event) => event.type === 'generation-create' && event.body.level === 'ERROR'), 'the failed generation');
    const failed = events().find((event) => event.type === 'generation-create' && event.body.level === 'ERROR')!;
    expect(failed.body.statusMessage).toBeTruthy();
    expect(failed.body.name).toBe('litellm-acompletion');
  });

  it('without the Langfuse keys: starts, warns, and sends nothing', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const bare = await startGateway(`model_list: []\nlitellm_settings:\n  success_callback: ["langfuse"]\n`, { logger });
    try {
      expect(bare.runtime.callbacks).toBeUndefined();
      expect(lines.join('\n')).toContain('the langfuse callback needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY: nothing is sent to the langfuse callback');
    } finally {
      await bare.close();
    }
  });
});

describe('langfuse callback and message logging', () => {
  const upstream = new MockOpenAI();
  const langfuse = new MockLogReceiver();
  let gateway: TestGateway;
  const events = () => langfuse.posts.flatMap((post) => ((post.body as { batch?: IngestionEvent[] }).batch ?? []));

  beforeAll(async () => {
    await upstream.start();
    await langfuse.start();
    gateway = await startGateway(
      `
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream.url}
      api_key: sk-upstream-test
general_settings:
  master_key: ${MASTER_KEY}
  store_prompts_in_spend_logs: true
litellm_settings:
  success_callback: ["langfuse"]
  turn_off_message_logging: true
`,
      { env: { LANGFUSE_PUBLIC_KEY: 'pk-lf-test', LANGFUSE_SECRET_KEY: 'sk-lf-test', LANGFUSE_HOST: langfuse.url }, callbackTuning: { flushIntervalMs: 20 } },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await langfuse.close();
    await upstream.close();
  });

  it('sends no input or output with turn_off_message_logging', async () => {
    await gateway.openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'the secret recipe' }] });
    await waitFor(() => events().some((event) => event.type === 'generation-create'), 'the generation');
    const generation = events().find((event) => event.type === 'generation-create')!;
    expect(generation.body.input).toBeUndefined();
    expect(generation.body.output).toBeUndefined();
    expect(JSON.stringify(langfuse.posts)).not.toContain('the secret recipe');
  });
});
