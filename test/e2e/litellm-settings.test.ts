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
/** Answers 10 kB of text, past the 4 kB max_response_size_mb below. */
let chatty: MockOpenAI;
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
  chatty = new MockOpenAI({ reply: 'word '.repeat(2000), promptTokens: 12, completionTokens: 2000 });
  await Promise.all([upstream.start(), chatty.start()]);
  const config = `
model_list:${deployment('mixed', 'small-window', '', '      max_input_tokens: 60')}${deployment('mixed', 'large-window', '', '      max_input_tokens: 100000')}${deployment('tiny', 'tiny-window', '', '      max_input_tokens: 20')}${deployment('roomy', 'roomy-window')}${deployment('retried', 'retried-model', '      max_retries: 2')}${deployment('not-retried', 'not-retried-model', '      max_retries: 0')}
  - model_name: chatty
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${chatty.url}
      api_key: sk-upstream-test
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
  max_response_size_mb: 0.004
`;
  gateway = await startGateway(config);
  client = gateway.openai();
});

afterAll(async () => {
  await gateway.close();
  await Promise.all([upstream.close(), chatty.close()]);
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

describe('general_settings.max_response_size_mb', () => {
  it('a JSON answer over the limit is refused with a clear error and billed as the provider reported it', async () => {
    const error = await client.chat.completions.create({ model: 'chatty', messages: [{ role: 'user', content: 'talk' }] }).then(
      () => undefined,
      (caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error!.status).toBe(502);
    expect(error!.code).toBe('upstream_response_too_large');
    expect(error!.message).toMatch(/over general_settings\.max_response_size_mb \(0\.004 MB\) and was not sent; what the provider produced is billed/);
    const headers = error!.headers as unknown as Headers | Record<string, string>;
    const callId = headers instanceof Headers ? headers.get('x-switchboard-call-id') : headers['x-switchboard-call-id'];
    expect(callId).toBeTruthy();
    const recorded = await gateway.recordOf(callId!);
    expect(recorded).toMatchObject({ status: 'failure', error_code: 'upstream_response_too_large', prompt_tokens: 12, completion_tokens: 2000 });
    expect(recorded!.cost_micros).toBeGreaterThan(0);
    // Not retried, not fallen back: one upstream call.
    expect(chatty.requests.filter((request) => request.body.stream !== true)).toHaveLength(1);
  });

  it('a stream is cut where it would pass the limit, ends with the error event, and the output so far is billed', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'chatty', messages: [{ role: 'user', content: 'talk' }], stream: true }).withResponse();
    let text = '';
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })().then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(failure?.message).toMatch(/max_response_size_mb/);
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(4200);
    const row = (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))!;
    expect(row).toMatchObject({ error_code: 'upstream_response_too_large', aborted: 1, tokens_estimated: 1 });
    // Billed for the prompt and the output produced before the cut: more than nothing, less than the whole answer.
    expect(row.completion_tokens).toBeGreaterThan(0);
    expect(row.completion_tokens).toBeLessThan(2000);
    expect(row.cost_micros).toBeGreaterThan(0);
  });
});
