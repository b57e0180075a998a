/**
 * The privacy promise: a PII guardrail that masks the prompt keeps the values out of everything past
 * it, as LiteLLM's masking does (its logs get the masked request). Here the usage row
 * (`store_prompts_in_spend_logs`) kept the client's original prompt — every masked e-mail address
 * stored in the database and shown on the Logs page — and a call a later guardrail refused was
 * handed to the logging callbacks (generic_api, langfuse, otel) with the prompt as the client sent
 * it, the masked values included. Now the row and the callbacks keep the prompt as masked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

let upstream: MockOpenAI;
let logs: MockLogReceiver;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  logs = new MockLogReceiver();
  await logs.start();
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
  callbacks: ["generic_api"]
guardrails:
  - guardrail_name: pii-mask
    litellm_params:
      guardrail: pii
      mode: pre_call
      default_on: true
      pii_entities_config: {EMAIL_ADDRESS: mask}
  - guardrail_name: no-secrets
    litellm_params:
      guardrail: content_filter
      mode: pre_call
      blocked_words: [password]
`,
    { env: { GENERIC_LOGGER_ENDPOINT: `${logs.url}/logs` }, callbackTuning: { flushIntervalMs: 20 } },
  );
});

afterAll(async () => {
  await gateway?.close();
  await logs?.close();
  await upstream?.close();
});

async function chat(body: Record<string, unknown>): Promise<{ status: number; callId: string }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
  await response.arrayBuffer();
  return { status: response.status, callId: response.headers.get('x-switchboard-call-id')! };
}

async function loggedMessages(callId: string): Promise<unknown> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const payload = logs.items<{ id: string; messages: unknown }>().find((item) => item.id === callId);
    if (payload) return payload.messages;
    if (Date.now() > deadline) throw new Error(`no callback payload for ${callId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a masked prompt is kept masked', () => {
  it('on the usage row of a call that was answered', async () => {
    const { status, callId } = await chat({ messages: [{ role: 'user', content: 'write to alice@example.com please' }] });
    expect(status).toBe(200);
    expect(JSON.stringify(upstream.requests.at(-1)!.body.messages)).not.toContain('alice@example.com');
    const row = await gateway.recordOf(callId);
    expect(row!.messages).toContain('<EMAIL_ADDRESS_1>');
    expect(row!.messages).not.toContain('alice@example.com');
    expect(JSON.stringify(await loggedMessages(callId))).not.toContain('alice@example.com');
  });

  it('on the usage row and in the callbacks of a call a later guardrail refused', async () => {
    const { status, callId } = await chat({ guardrails: ['no-secrets'], messages: [{ role: 'user', content: 'I am carol@example.com and my password is hunter2' }] });
    expect(status).toBe(400);
    const row = await gateway.recordOf(callId);
    expect(row!.error_code).toBe('guardrail_violation');
    expect(row!.messages).toContain('<EMAIL_ADDRESS_1>');
    expect(row!.messages).not.toContain('carol@example.com');
    const messages = JSON.stringify(await loggedMessages(callId));
    expect(messages).toContain('<EMAIL_ADDRESS_1>');
    expect(messages).not.toContain('carol@example.com');
  });
});
