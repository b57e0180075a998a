/**
 * Proxies in front of OpenAI sometimes answer a failure with status 200 and OpenAI's error
 * envelope as the body (`{"error": {"message", "type", "code"}}`). On `/v1/responses` relayed to an
 * OpenAI deployment (and on the other routes that relay the provider's JSON as received:
 * `/openai/v1/*`, built-in-tool Responses requests) that body went to the client as a 200 success,
 * and the usage row said `success`: no retry, no fallback, no cooldown, and a client SDK that
 * returned an "answer" with no output. The chat route refused it, but as "a chat completion without
 * choices", dropping the upstream's own message. Now an error envelope answered with 200 is the
 * upstream failure it is on each of them, mapped one way: 502 `upstream_error` naming the
 * upstream's message (redacted), retried and fallen back like any upstream failure, and recorded as
 * a failure (nothing billed: the provider produced no answer).
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

const ENVELOPE = { error: { message: 'The upstream is overloaded, try again later (proxy).', type: 'server_error', param: null, code: 'overloaded' } };

describe('an error envelope answered with status 200', () => {
  const primary = new MockOpenAI({ promptTokens: 100, completionTokens: 10 });
  const backup = new MockOpenAI({ reply: 'Hello from the backup!', promptTokens: 100, completionTokens: 10 });
  let gateway: TestGateway;
  let openai: OpenAI;

  beforeAll(async () => {
    await Promise.all([primary.start(), backup.start()]);
    gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${primary.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: guarded
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${primary.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: guarded-backup
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${backup.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"guarded": ["guarded-backup"]}]
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
    openai = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([primary.close(), backup.close()]);
  });

  afterEach(() => {
    primary.faults.length = 0;
    backup.faults.length = 0;
  });

  /** The call fails with 502 upstream_error carrying the upstream's message; its row is that failure, unbilled. */
  async function expectUpstreamFailure(route: string, send: () => Promise<unknown>): Promise<void> {
    primary.faults.push({ kind: 'error', status: 200, body: ENVELOPE });
    const error = (await send().then(
      () => undefined,
      (caught: unknown) => caught,
    )) as InstanceType<typeof OpenAI.APIError> | undefined;
    expect(error, `${route}: a 200 error envelope must not reach the client as an answer`).toBeInstanceOf(OpenAI.APIError);
    expect(error!.status, route).toBe(502);
    expect(error!.code, route).toBe('upstream_error');
    expect(error!.message, route).toContain('The upstream is overloaded, try again later (proxy).');
    const row = await gateway.recordOf(error!.headers!.get('x-switchboard-call-id')!);
    expect(row, route).toMatchObject({ status: 'failure', http_status: 502, error_code: 'upstream_error' });
    // Recorded as an upstream 5xx is: no answer, nothing charged.
    expect(row!.cost_micros ?? 0, route).toBe(0);
  }

  it('/v1/responses relayed to an OpenAI deployment', async () => {
    await expectUpstreamFailure('responses', () => openai.responses.create({ model: 'gpt', input: 'Hi', store: false }));
  });

  it('/v1/responses with a built-in tool', async () => {
    await expectUpstreamFailure('responses + web_search', () => openai.responses.create({ model: 'gpt', input: 'Hi', tools: [{ type: 'web_search_preview' }], store: false, ...{ max_tool_calls: 1 } }));
  });

  it('the /openai/v1/* relay', async () => {
    const relay = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
    await expectUpstreamFailure('openai/v1/chat/completions', () => relay.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'Hi' }] }));
  });

  it('chat completions: the same failure, with the upstream\'s message', async () => {
    await expectUpstreamFailure('chat/completions', () => openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'Hi' }] }));
  });

  it('is an upstream failure the router falls back from', async () => {
    primary.faults.push({ kind: 'error', status: 200, body: ENVELOPE });
    const { data: answer, response } = await openai.responses.create({ model: 'guarded', input: 'Hi', store: false }).withResponse();
    expect(answer.output_text).toBe('Hello from the backup!');
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', model_group: 'guarded-backup', fallbacks: 1 });
  });

  it('a Response whose own `error` field is set is a Response, not an envelope', async () => {
    // OpenAI's Response objects always carry `error` (null when it succeeded): their `object` and `id` tell them apart.
    const { data: answer } = await openai.responses.create({ model: 'gpt', input: 'Hi', store: false }).withResponse();
    expect(answer.error).toBeNull();
    expect(answer.output_text).toBe('Hello from the mock!');
  });
});
