/**
 * LiteLLM settings the gateway honours, through the real server and the openai SDK against the
 * OpenAI mock: the context-window pre-call check (router_settings.enable_pre_call_checks with
 * model_info.max_input_tokens), per-deployment max_retries, and turn_off_message_logging.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let client: OpenAI;

function deployment(name: string, model: string, extraParams = '', modelInfo = ''): string {
  return `
  - model_name: ${name}
    litellm_params:
      model: openai/${model}
      api_base: ${upstream.url}
      api_key: sk-upstream-test
${extraParams}
    model_info:
      id: ${model}
${modelInfo}`;
}

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  const config = `
model_list:${deployment('mixed', 'small-window', '', '      max_input_tokens: 60')}${deployment('mixed', 'large-window', '', '      max_input_tokens: 100000')}${deployment('tiny', 'tiny-window', '', '      max_input_tokens: 20')}${deployment('roomy', 'roomy-window')}${deployment('retried', 'retried-model', '      max_retries: 2')}${deployment('not-retried', 'not-retried-model', '      max_retries: 0')}
router_settings:
  enable_pre_call_checks: true
  num_retries: 3
  disable_cooldowns: true
  context_window_fallbacks: [{"tiny": ["roomy"]}]
litellm_settings:
  turn_off_message_logging: true
general_settings:
  master_key: ${MASTER_KEY}
  store_prompts_in_spend_logs: true
`;
  gateway = await startGateway(config);
  client = gateway.openai();
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

afterEach(() => {
  upstream.requests.length = 0;
  upstream.faults.length = 0;
});

const LONG_PROMPT = 'Summarise the following text. '.repeat(40); // about 1,200 bytes: ~300 tokens by the estimate

describe('router_settings.enable_pre_call_checks', () => {
  it('skips the deployment whose context window the prompt exceeds, every time', async () => {
    for (let index = 0; index < 6; index++) await client.chat.completions.create({ model: 'mixed', messages: [{ role: 'user', content: LONG_PROMPT }] });
    expect(upstream.requests.map((request) => request.body.model)).toEqual(Array(6).fill('large-window'));
  });

  it('a short prompt may go to either deployment', async () => {
    for (let index = 0; index < 20; index++) await client.chat.completions.create({ model: 'mixed', messages: [{ role: 'user', content: 'hi' }] });
    expect(new Set(upstream.requests.map((request) => request.body.model))).toEqual(new Set(['small-window', 'large-window']));
  });

  it('when no deployment fits: context_window_fallbacks take the call, without a call to the group that cannot', async () => {
    const answer = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: LONG_PROMPT }] }).withResponse();
    expect(answer.data.choices[0].message.content).toBeTruthy();
    expect(upstream.requests.map((request) => request.body.model)).toEqual(['roomy-window']);
  });

  it('when no deployment fits and there is no fallback: a 400 context_window_exceeded that says why, and no upstream call', async () => {
    const error = await client.chat.completions.create({ model: 'mixed', messages: [{ role: 'user', content: 'word '.repeat(100_000) }] }).then(
      () => undefined,
      (caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error!.status).toBe(400);
    expect(error!.code).toBe('context_window_exceeded');
    expect(error!.message).toMatch(/exceeds the context window of every deployment of "mixed" \(the largest takes 100000 input tokens/);
    expect(upstream.requests).toEqual([]);
  });
});

describe('litellm_params.max_retries', () => {
  it('retries a failing deployment as many times as its max_retries says', async () => {
    upstream.faults.push({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    const answer = await client.chat.completions.create({ model: 'retried', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0].message.content).toBeTruthy();
    expect(upstream.requests).toHaveLength(3);
  });

  it('max_retries: 0 wins over the router num_retries', async () => {
    upstream.faults.push({ kind: 'error', status: 500 });
    const error = await client.chat.completions.create({ model: 'not-retried', messages: [{ role: 'user', content: 'hi' }] }).catch((caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(upstream.requests).toHaveLength(1);
  });
});

describe('litellm_settings.turn_off_message_logging', () => {
  it('keeps no prompt or answer on the row although store_prompts_in_spend_logs is on; the rest is kept', async () => {
    const { response } = await client.chat.completions.create({ model: 'roomy', messages: [{ role: 'user', content: 'a private question' }]}).withResponse();
    const row = (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))!;
    expect(row.messages).toBeNull();
    expect(row.response).toBeNull();
    // Unlike disable_spend_logs, the rest of the row stays (the client's address, for one).
    expect(row.requester_ip).toBeTruthy();
    expect(row.status).toBe('success');
    expect(row.prompt_tokens).toBeGreaterThan(0);
  });
});
