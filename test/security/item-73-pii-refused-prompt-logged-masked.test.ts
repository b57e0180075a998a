/**
 * A prompt a PII guardrail refuses (an entity with `action: block`, a card number here) was kept in
 * full on its usage row (`store_prompts_in_spend_logs`) and handed to the logging callbacks with the
 * card number in it: only values an earlier guardrail had masked were masked there. The rule now: the
 * logged copy of a prompt refused for PII has every value that guardrail found replaced by its
 * placeholder — the refused ones included — with the same numbered placeholders the masking hands out.
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
  - guardrail_name: pii
    litellm_params:
      guardrail: pii
      mode: pre_call
      pii_entities_config: {EMAIL_ADDRESS: mask, CREDIT_CARD: block}
  - guardrail_name: mask-email
    litellm_params:
      guardrail: pii
      mode: pre_call
      pii_entities_config: {EMAIL_ADDRESS: mask}
  - guardrail_name: block-cards
    litellm_params:
      guardrail: pii
      mode: pre_call
      pii_entities_config: {CREDIT_CARD: block, EMAIL_ADDRESS: mask}
`,
    { env: { GENERIC_LOGGER_ENDPOINT: `${logs.url}/logs` }, callbackTuning: { flushIntervalMs: 20 } },
  );
});

afterAll(async () => {
  await gateway?.close();
  await logs?.close();
  await upstream?.close();
});

async function chat(body: Record<string, unknown>): Promise<{ status: number; callId: string; text: string }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
  return { status: response.status, callId: response.headers.get('x-switchboard-call-id')!, text: await response.text() };
}

async function loggedMessages(callId: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const payload = logs.items<{ id: string; messages: unknown }>().find((item) => item.id === callId);
    if (payload) return JSON.stringify(payload.messages);
    if (Date.now() > deadline) throw new Error(`no callback payload for ${callId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const CARD = '4111 1111 1111 1111';

describe('a prompt refused for PII is logged with the values it found masked', () => {
  it('one guardrail: the refused card and the masked e-mail address are placeholders on the row and in the callbacks', async () => {
    const upstreamCalls = upstream.requests.length;
    const { status, callId, text } = await chat({ guardrails: ['pii'], messages: [{ role: 'user', content: `bill ${CARD} and mail bob@example.com` }] });
    expect(status).toBe(400);
    expect(text).toContain('CREDIT_CARD');
    expect(text).not.toContain('4111');
    expect(upstream.requests.length).toBe(upstreamCalls);
    const row = await gateway.recordOf(callId);
    expect(row!.error_code).toBe('guardrail_violation');
    expect(JSON.parse(row!.messages!)).toEqual([{ role: 'user', content: 'bill <CREDIT_CARD_1> and mail <EMAIL_ADDRESS_1>' }]);
    const logged = await loggedMessages(callId);
    expect(logged).toContain('bill <CREDIT_CARD_1> and mail <EMAIL_ADDRESS_1>');
    expect(logged).not.toContain('4111');
    expect(logged).not.toContain('bob@example.com');
  });

  it('after an earlier masking guardrail: one numbering across both, across the messages', async () => {
    const { status, callId } = await chat({
      guardrails: ['mask-email', 'block-cards'],
      messages: [
        { role: 'system', content: 'write to alice@example.com' },
        { role: 'user', content: `card ${CARD}, copy carol@example.com and alice@example.com` },
      ],
    });
    expect(status).toBe(400);
    const row = await gateway.recordOf(callId);
    expect(JSON.parse(row!.messages!)).toEqual([
      { role: 'system', content: 'write to <EMAIL_ADDRESS_1>' },
      { role: 'user', content: 'card <CREDIT_CARD_1>, copy <EMAIL_ADDRESS_2> and <EMAIL_ADDRESS_1>' },
    ]);
    const logged = await loggedMessages(callId);
    expect(logged).toContain('card <CREDIT_CARD_1>, copy <EMAIL_ADDRESS_2> and <EMAIL_ADDRESS_1>');
    expect(logged).not.toContain('4111');
  });
});
