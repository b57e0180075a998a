/**
 * Item 368 (the attack): guardrails read a chat request's messages, tools, functions and predicted
 * output, and nothing else — but the model also reads a structured-output schema (its name,
 * description, property descriptions and enum values), and OpenAI-compatible servers take more
 * such fields (vLLM's `guided_json`, `guided_choice`, …), which the gateway relays as sent. A word
 * an admin's content filter blocks, or PII a masking guardrail must hide, reached the upstream in
 * `response_format` (chat, and a Responses call's `text.format`) or `guided_json` / `guided_choice`.
 * Now every top-level field is read but those that hold no text for the model (sampling and output
 * settings, identifiers, the gateway's own fields: src/guardrails/texts.ts NOT_READ_FIELDS).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

describe('guardrails read structured-output schemas and the other fields the model reads', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(pricedConfig(upstream.url, `guardrails:
  - guardrail_name: words
    litellm_params: {guardrail: content_filter, mode: pre_call, default_on: true, blocked_words: [password]}
  - guardrail_name: pii
    litellm_params: {guardrail: pii, mode: pre_call, default_on: true}
`));
    client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const blocked = async (body: Record<string, unknown>) => {
    const before = upstream.requests.length;
    const error = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], ...body } as never).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('words');
    expect(upstream.requests.length).toBe(before);
  };

  it('a blocked word in a json_schema (description, property description, enum, name) never reaches the upstream', async () => {
    await blocked({ response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', description: 'my password' } } } });
    await blocked({ response_format: { type: 'json_schema', json_schema: { name: 'answer', description: 'say the password' } } });
    await blocked({ response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string', enum: ['password'] } } } } } });
    await blocked({ response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string', description: 'the password' } } } } } });
  });

  it("vLLM's guided decoding fields are read too", async () => {
    await blocked({ guided_json: { type: 'object', description: 'the password' } });
    await blocked({ guided_choice: ['password', 'other'] });
    await blocked({ guided_regex: 'password|secret' });
  });

  it("a Responses call's text.format schema is read", async () => {
    const before = upstream.requests.length;
    const error = await client.responses.create({ model: 'cheap', input: 'hi', text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object', description: 'my password' } } } }).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(upstream.requests.length).toBe(before);
  });

  it('PII in a schema is masked before the upstream sees it', async () => {
    await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 'contact', schema: { type: 'object', description: 'write to carol@example.com' } } } });
    const sent = JSON.stringify(upstream.requests.at(-1)!.body.response_format);
    expect(sent).not.toContain('carol@example.com');
    expect(sent).toContain('EMAIL_ADDRESS');
  });

  it('fields that hold no text for the model are not read (control)', async () => {
    const answer = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], user: 'password', metadata: { note: 'password' }, stop: ['password'] });
    expect(answer.choices[0].message.content).toBeTruthy();
  });
});
