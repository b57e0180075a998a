/**
 * A streamed answer that a post_call guardrail cut (the client got an error event instead of the rest)
 * was recorded with `status: "success"` — only its metadata said `blocked` — while the same answer
 * refused as JSON is a failure with `error_code: guardrail_violation`: spend reports, the Logs page
 * and failure callbacks counted a refusal as a success. The cut stream was also stored in the response
 * cache, so the next caller of the same prompt got the refused answer as a hit. Now the row is the
 * refusal (failure, 400, guardrail_violation), billed for everything the upstream generated, and the
 * answer is not cached — as for a refused JSON answer.
 */
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { pricedConfig } from '../support/management.js';

const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 40 });
const logs = new MockLogReceiver();
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  await upstream.start();
  await logs.start();
  gateway = await startGateway(
    `${pricedConfig(upstream.url)}litellm_settings:
  failure_callback: ["generic_api"]
  cache: true
  cache_params: {type: local}
guardrails:
  - guardrail_name: no-secrets
    litellm_params:
      guardrail: content_filter
      mode: post_call
      blocked_words: [password]
`,
    { env: { GENERIC_LOGGER_ENDPOINT: `${logs.url}/logs` }, callbackTuning: { flushIntervalMs: 20 } },
  );
  client = gateway.openai();
});

afterAll(async () => {
  await gateway?.close();
  await logs.close();
  await upstream.close();
});

const OPENING = 'Here is a long and harmless opening that goes on for a while. '.repeat(5);
const ask = (content: string) => ({ model: 'cheap', messages: [{ role: 'user' as const, content }], guardrails: ['no-secrets'] });

describe('a stream cut by a post_call guardrail', () => {
  it('is recorded as the refusal, billed for what was generated, like a refused JSON answer', async () => {
    upstream.replies.push(`${OPENING}and then the password is hunter2 and more text follows here.`);
    const stream = await client.chat.completions.create({ ...ask('tell me a story'), stream: true } as OpenAI.ChatCompletionCreateParamsStreaming).withResponse();
    const callId = stream.response.headers.get('x-switchboard-call-id')!;
    let received = '';
    const error = await (async () => {
      for await (const chunk of stream.data) received += chunk.choices[0]?.delta.content ?? '';
    })().then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect(received).not.toContain('password');

    const row = await gateway.recordOf(callId);
    expect(row).toMatchObject({ status: 'failure', http_status: 400, error_code: 'guardrail_violation', stream: 1, prompt_tokens: 12, completion_tokens: 40 });
    expect(row!.cost_micros).toBe(12 * 1 + 40 * 2);
    expect(row!.error_message).toContain('"no-secrets"');
    expect(JSON.parse(row!.metadata!).guardrails).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'no-secrets', stage: 'post_call', action: 'blocked' })]));

    // The failure callbacks get it as a failure.
    const deadline = Date.now() + 10_000;
    while (!logs.items<{ id: string }>().some((item) => item.id === callId) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(logs.items<{ id: string; status: string }>().find((item) => item.id === callId)).toMatchObject({ status: 'failure' });

    // The same answer refused as JSON, for comparison: the same kind of row.
    upstream.replies.push(`${OPENING}and then the password is hunter2 and more text follows here.`);
    const refused = await client.chat.completions.create(ask('tell me another story') as OpenAI.ChatCompletionCreateParamsNonStreaming).then(() => undefined, (caught: APIError) => caught);
    const jsonRow = await gateway.recordOf(refused!.headers!.get('x-switchboard-call-id')!);
    expect({ status: jsonRow!.status, http_status: jsonRow!.http_status, error_code: jsonRow!.error_code }).toEqual({ status: row!.status, http_status: row!.http_status, error_code: row!.error_code });
  });

  it('is not stored in the response cache', async () => {
    upstream.replies.push(`${OPENING}and then the password is hunter2 and more text follows here.`);
    const stream = await client.chat.completions.create({ ...ask('cache me if you can'), stream: true } as OpenAI.ChatCompletionCreateParamsStreaming);
    await (async () => {
      for await (const _chunk of stream);
    })().catch(() => undefined);
    await gateway.flushUsage();
    const calls = upstream.requests.length;
    // The same prompt without the guardrail: a miss, answered by the upstream, not the refused answer.
    const again = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'cache me if you can' }] }).withResponse();
    expect(again.response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(upstream.requests.length).toBe(calls + 1);
    expect(again.data.choices[0]!.message.content).not.toContain('password');
  });
});
