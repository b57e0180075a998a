/**
 * The PII guardrail's patterns read ASCII: a card number in full-width digits
 * ("４１１１ １１１１ １１１１ １１１１") or with zero-width characters between its digits, and an
 * e-mail address with a zero-width space inside or in full-width letters, went to the upstream as
 * written — a `block` entity was not blocked, a `mask` one not masked — though every model reads
 * them as the plain value. Now detection reads the text NFKC-normalized without format characters,
 * and masks exactly the span of the original text each value came from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

let upstream: MockOpenAI;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
guardrails:
  - guardrail_name: pii
    litellm_params:
      guardrail: pii
      mode: pre_call
      default_on: true
      output_parse_pii: true
      pii_entities_config: {EMAIL_ADDRESS: mask, CREDIT_CARD: block}
`);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function chat(content: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });
  return { status: response.status, body: await response.text() };
}

describe('PII written to slip past ASCII patterns', () => {
  it.each([
    ['full-width digits', 'my card is ４１１１ １１１１ １１１１ １１１１, thanks'],
    ['full-width digits and ideographic spaces', 'card ５５５５\u3000５５５５\u3000５５５５\u30004444'],
    ['zero-width spaces between digits', 'card 4111\u200b1111\u200b1111\u200b1111'],
    ['word joiners and soft hyphens', 'card 4\u20601\u00ad11 1111 1111 1111'],
  ])('a card number in %s is refused before any upstream call', async (_name, content) => {
    const calls = upstream.requests.length;
    const { status, body } = await chat(content);
    expect(status).toBe(400);
    expect(JSON.parse(body).error).toMatchObject({ code: 'guardrail_violation' });
    expect(body).toContain('CREDIT_CARD');
    expect(upstream.requests.length).toBe(calls);
  });

  it.each([
    ['a zero-width space inside', 'mail bo\u200bb@exam\u200cple.com now', 'bo\u200bb@exam\u200cple.com'],
    ['full-width letters', 'mail ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ now', 'ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ'],
  ])('an e-mail address with %s is masked exactly, and restored as written', async (_name, content, written) => {
    upstream.replies.push('I will write to <EMAIL_ADDRESS_1>.');
    const { status, body } = await chat(content);
    expect(status).toBe(200);
    expect((upstream.requests.at(-1)!.body.messages as Array<{ content: string }>)[0].content).toBe('mail <EMAIL_ADDRESS_1> now');
    expect(JSON.parse(body).choices[0].message.content).toBe(`I will write to ${written}.`);
  });

  it('plain text around non-ASCII characters is left alone', async () => {
    const { status } = await chat('café ① naïve — ４２ and 😀, no personal data');
    expect(status).toBe(200);
    expect((upstream.requests.at(-1)!.body.messages as Array<{ content: string }>)[0].content).toBe('café ① naïve — ４２ and 😀, no personal data');
  });
});
