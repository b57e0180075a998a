/**
 * A `mode: during_call` PII guardrail runs alongside the upstream call and refuses the answer when
 * the prompt holds an entity to block. The refused call's usage row (`store_prompts_in_spend_logs`)
 * and its callback payload kept the prompt in full — the card number the guardrail refused for was
 * stored and sent on to the logging destinations, although the same prompt refused by a `pre_call`
 * guardrail is logged masked (item 73). The rule is one now: the logged copy of a prompt refused for
 * PII has every value that guardrail found replaced by its placeholder, JSON answer or stream.
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
  - guardrail_name: cards-during
    litellm_params:
      guardrail: pii
      mode: during_call
      pii_entities_config: {CREDIT_CARD: block, EMAIL_ADDRESS: block}
  - guardrail_name: mask-email
    litellm_params:
      guardrail: pii
      mode: pre_call
      pii_entities_config: {EMAIL_ADDRESS: mask}
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

describe('a prompt a during_call guardrail refuses for PII is logged with the values it found masked', () => {
  for (const stream of [false, true]) {
    it(`${stream ? 'a stream' : 'a JSON answer'}: the card is a placeholder on the row and in the callbacks`, async () => {
      const { status, callId, text } = await chat({ stream, guardrails: ['cards-during'], messages: [{ role: 'user', content: `bill ${CARD}, please` }] });
      expect(status).toBe(400);
      expect(text).toContain('guardrail_violation');
      expect(text).not.toContain('4111');
      const row = await gateway.recordOf(callId);
      expect(row!.error_code).toBe('guardrail_violation');
      expect(JSON.parse(row!.messages!)).toEqual([{ role: 'user', content: 'bill <CREDIT_CARD_1>, please' }]);
      const logged = await loggedMessages(callId);
      expect(logged).toContain('bill <CREDIT_CARD_1>, please');
      expect(logged).not.toContain('4111');
    });
  }

  it('after a pre_call masking guardrail: what it masked stays masked, the refused card is masked too', async () => {
    const { status, callId } = await chat({ guardrails: ['mask-email', 'cards-during'], messages: [{ role: 'user', content: `card ${CARD} for bob@example.com` }] });
    expect(status).toBe(400);
    const row = await gateway.recordOf(callId);
    const messages = row!.messages!;
    expect(messages).not.toContain('4111');
    expect(messages).not.toContain('bob@example.com');
    expect(JSON.parse(messages)).toEqual([{ role: 'user', content: 'card <CREDIT_CARD_1> for <EMAIL_ADDRESS_1>' }]);
    const logged = await loggedMessages(callId);
    expect(logged).not.toContain('4111');
    expect(logged).not.toContain('bob@example.com');
  });

  it('a prompt the during_call guardrail lets pass is logged as it was', async () => {
    const { status, callId } = await chat({ guardrails: ['cards-during'], messages: [{ role: 'user', content: 'nothing to hide' }] });
    expect(status).toBe(200);
    const row = await gateway.recordOf(callId);
    expect(JSON.parse(row!.messages!)).toEqual([{ role: 'user', content: 'nothing to hide' }]);
  });
});
