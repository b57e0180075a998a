/**
 * The attack: the guardrail stages run after admit, which took the call's in-flight slot and budget
 * reservation (key, user, team). A request the guardrail stage refused — naming a guardrail that is
 * not configured, a prompt a pre_call guardrail blocks, a stream a generic_guardrail_api post_call
 * guardrail cannot check — was recorded without the admission, so neither was ever given back:
 * two such requests from one member of a team held to `max_parallel_requests: 2` locked every key
 * of the team out (429) until the gateway restarted. Now a refusal carries the call that was
 * admitted, and its record releases the slot and the reservation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

let upstream: MockOpenAI;
let guardApi: MockOpenAI;
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  guardApi = new MockOpenAI();
  await guardApi.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream.url}
      api_key: sk-upstream-test
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
guardrails:
  - guardrail_name: pii-block
    litellm_params:
      guardrail: pii
      mode: pre_call
      default_on: true
      pii_entities_config: {CREDIT_CARD: block}
  - guardrail_name: no-secrets
    litellm_params:
      guardrail: content_filter
      mode: pre_call
      blocked_words: [password]
  - guardrail_name: checker
    litellm_params:
      guardrail: generic_guardrail_api
      mode: post_call
      api_base: ${guardApi.url}
`);
  api = new Management(gateway.url);
  await api.ok('POST', '/team/new', { team_id: 'team-shared', max_parallel_requests: 2 });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await guardApi?.close();
});

async function chat(key: string, body: Record<string, unknown>): Promise<{ status: number; code: string | undefined }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], ...body }),
  });
  const answer = (await response.json()) as { error?: { code?: string } };
  return { status: response.status, code: answer.error?.code };
}

describe('a request the guardrail stages refuse gives its admission back', () => {
  it('leaves the team its in-flight slots, whatever the refusal', async () => {
    const attacker = (await api.ok<{ key: string }>('POST', '/key/generate', { team_id: 'team-shared', key_alias: 'attacker' })).key;
    const victim = (await api.ok<{ key: string }>('POST', '/key/generate', { team_id: 'team-shared', key_alias: 'victim' })).key;
    const before = upstream.requests.length;

    expect(await chat(attacker, { guardrails: ['not-configured'] })).toEqual({ status: 400, code: 'invalid_request' });
    expect(await chat(attacker, { messages: [{ role: 'user', content: 'card 4111 1111 1111 1111' }] })).toEqual({ status: 400, code: 'guardrail_violation' });
    expect(await chat(attacker, { guardrails: ['no-secrets'], messages: [{ role: 'user', content: 'my password is hunter2' }] })).toEqual({ status: 400, code: 'guardrail_violation' });
    expect(await chat(attacker, { guardrails: ['checker'], stream: true })).toEqual({ status: 400, code: 'invalid_request' });
    // Nothing went upstream for any of them.
    expect(upstream.requests.length).toBe(before);

    // The team's two slots are free: both members are served, one after the other and at once.
    expect((await chat(victim, {})).status).toBe(200);
    const together = await Promise.all([chat(victim, {}), chat(attacker, {})]);
    expect(together.map((result) => result.status)).toEqual([200, 200]);
  });

  it('keeps a key held to one call at a time callable after its refused requests', async () => {
    const key = (await api.ok<{ key: string }>('POST', '/key/generate', { max_parallel_requests: 1 })).key;
    for (let index = 0; index < 3; index++) expect((await chat(key, { guardrails: ['not-configured'] })).status).toBe(400);
    expect((await chat(key, { messages: [{ role: 'user', content: 'card 4111 1111 1111 1111' }] })).status).toBe(400);
    expect((await chat(key, {})).status).toBe(200);
  });
});
