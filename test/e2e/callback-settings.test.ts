/**
 * LiteLLM's per-callback settings end to end: top-level `callback_settings: {otel: {message_logging:
 * false}}` keeps the prompt and the answer out of the otel spans while Langfuse still gets them, and
 * litellm_settings.langfuse_default_tags adds LiteLLM's `name:value` tags to every Langfuse trace.
 * What the gateway cannot honour there is warned about at load, by name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MockOtlpCollector } from '../support/mock-otlp-collector.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/wait.js';
import { parseConfig } from '../../src/config/load.js';

interface IngestionEvent {
  type: string;
  body: Record<string, unknown>;
}

function config(upstream: MockOpenAI, litellmSettings: string, callbackSettings: string): string {
  return `
model_list:
  - model_name: m
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream.url}
      api_key: sk-upstream-test
general_settings:
  master_key: ${MASTER_KEY}
litellm_settings:
  callbacks: ["otel", "langfuse"]
${litellmSettings}
${callbackSettings}`;
}

describe('callback_settings and langfuse_default_tags', () => {
  const upstream = new MockOpenAI();
  const collector = new MockOtlpCollector();
  const langfuse = new MockLogReceiver();
  let gateway: TestGateway;
  const events = () => langfuse.posts.flatMap((post) => ((post.body as { batch?: IngestionEvent[] }).batch ?? []));

  beforeAll(async () => {
    await upstream.start();
    await collector.start();
    await langfuse.start();
    gateway = await startGateway(
      config(upstream, '  langfuse_default_tags: ["user_api_key_alias", "user_api_key_user_id", "cache_hit", "proxy_base_url"]', 'callback_settings:\n  otel:\n    message_logging: false\n'),
      {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, LANGFUSE_PUBLIC_KEY: 'pk-lf-test', LANGFUSE_SECRET_KEY: 'sk-lf-test', LANGFUSE_HOST: langfuse.url, PROXY_BASE_URL: 'https://gw.example.com' },
        callbackTuning: { flushIntervalMs: 20 },
      },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await langfuse.close();
    await collector.close();
    await upstream.close();
  });

  it('otel gets no content with message_logging false; Langfuse still does, with the default tags', async () => {
    const user = await fetch(`${gateway.url}/user/new`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'user-9' }) });
    expect(user.status).toBe(200);
    const generated = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ key_alias: 'billing-bot', user_id: 'user-9' }) });
    expect(generated.status).toBe(200);
    const key = ((await generated.json()) as { key: string }).key;
    await gateway.openai(key).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'the secret recipe' }], metadata: { tags: ['prod'] } } as never);

    await waitFor(() => collector.spans.length >= 2, 'the spans', 15_000);
    await waitFor(() => events().some((event) => event.type === 'trace-create'), 'the Langfuse trace', 15_000);
    const root = collector.spans.find((span) => span.parentSpanId === undefined)!;
    expect(root.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(root.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(root.attributes['gen_ai.output.messages']).toBeUndefined();
    expect(JSON.stringify(collector.spans.map((span) => span.attributes))).not.toContain('the secret recipe');

    const trace = events().find((event) => event.type === 'trace-create')!;
    const generation = events().find((event) => event.type === 'generation-create')!;
    expect(generation.body.input).toEqual([{ role: 'user', content: 'the secret recipe' }]);
    expect(trace.body.input).toEqual([{ role: 'user', content: 'the secret recipe' }]);
    expect(trace.body.tags).toEqual(['prod', 'user_api_key_alias:billing-bot', 'user_api_key_user_id:user-9', 'cache_hit:False', 'proxy_base_url:https://gw.example.com']);
  });

  it('warns at load about what it cannot honour, by name', () => {
    const unusedUpstream = { url: 'http://127.0.0.1:9' } as MockOpenAI;
    const { issues } = parseConfig(
      config(unusedUpstream, '  langfuse_default_tags: ["user_api_key_alias", "user_api_key_team_alias", "semantic-similarity"]', 'callback_settings:\n  otel:\n    message_logging: false\n    attributes: {include_list: [a]}\n  datadog:\n    message_logging: false\n'),
      {},
    );
    const messages = issues.filter((issue) => issue.severity === 'warning').map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(messages.some((line) => line.startsWith('callback_settings.otel.attributes:'))).toBe(true);
    expect(messages.some((line) => line.startsWith('callback_settings.datadog:'))).toBe(true);
    expect(messages.some((line) => line.startsWith('litellm_settings.langfuse_default_tags.1:') && line.includes('user_api_key_team_alias'))).toBe(true);
    expect(messages.some((line) => line.startsWith('litellm_settings.langfuse_default_tags.2:') && line.includes('semantic-similarity'))).toBe(true);
    expect(messages.some((line) => line.startsWith('litellm_settings.langfuse_default_tags.0:'))).toBe(false);
    expect(messages.some((line) => line.startsWith('callback_settings.otel.message_logging'))).toBe(false);
    expect(messages.some((line) => line === 'callback_settings: ' || /"callback_settings" is not supported/.test(line) || /"langfuse_default_tags" is not supported/.test(line))).toBe(false);
  });
});

describe('langfuse_default_tags with redact_user_api_key_info', () => {
  const upstream = new MockOpenAI();
  const langfuse = new MockLogReceiver();
  let gateway: TestGateway;
  const events = () => langfuse.posts.flatMap((post) => ((post.body as { batch?: IngestionEvent[] }).batch ?? []));

  beforeAll(async () => {
    await upstream.start();
    await langfuse.start();
    gateway = await startGateway(config(upstream, '  redact_user_api_key_info: true\n  langfuse_default_tags: ["user_api_key_alias", "user_api_key_user_id", "cache_hit"]', ''), {
      env: { LANGFUSE_PUBLIC_KEY: 'pk-lf-test', LANGFUSE_SECRET_KEY: 'sk-lf-test', LANGFUSE_HOST: langfuse.url },
      callbackTuning: { flushIntervalMs: 20 },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await langfuse.close();
    await upstream.close();
  });

  it('leaves the key and user tags out', async () => {
    const generated = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ key_alias: 'billing-bot' }) });
    const key = ((await generated.json()) as { key: string }).key;
    await gateway.openai(key).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await waitFor(() => events().some((event) => event.type === 'trace-create'), 'the Langfuse trace', 15_000);
    const trace = events().find((event) => event.type === 'trace-create')!;
    expect(trace.body.tags).toEqual(['cache_hit:False']);
    expect(JSON.stringify(events())).not.toContain('billing-bot');
  });
});
