/**
 * Tag routing (router_settings.enable_tag_filtering with litellm_params.tags) through the real
 * server and the official openai client, and spend reported per tag (/spend/tags,
 * /global/spend/report?group_by=tag).
 */
import OpenAI, { BadRequestError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const free = new MockOpenAI({ reply: 'free tier' });
const paid = new MockOpenAI({ reply: 'paid tier' });
const fallback = new MockOpenAI({ reply: 'default tier' });
let gateway: TestGateway;
let client: OpenAI;
let api: Management;

const entry = (name: string, upstream: MockOpenAI, tags: string) => `
  - model_name: ${name}
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream.url}
      api_key: sk-upstream
      tags: ${tags}`;

beforeAll(async () => {
  await Promise.all([free.start(), paid.start(), fallback.start()]);
  gateway = await startGateway(`
model_list:${entry('gpt', free, '["free"]')}${entry('gpt', paid, '["paid", "team-a"]')}${entry('gpt', fallback, '["default"]')}${entry('strict', free, '["free"]')}${entry('strict', paid, '["paid"]')}
router_settings:
  enable_tag_filtering: true
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([free.close(), paid.close(), fallback.close()]);
});

const ask = (model: string, tags?: string[], headers?: Record<string, string>) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...(tags ? { tags } : {}) } as OpenAI.ChatCompletionCreateParamsNonStreaming, { headers });

describe('tag routing', () => {
  it('sends a tagged request only to deployments with its tag, many times over', async () => {
    for (let index = 0; index < 6; index++) expect((await ask('gpt', ['paid'])).choices[0].message.content).toBe('paid tier');
    for (let index = 0; index < 6; index++) expect((await ask('gpt', undefined, { 'x-litellm-tags': 'free' })).choices[0].message.content).toBe('free tier');
  });

  it('sends untagged requests, and tags no deployment has, to the default-tagged deployment', async () => {
    for (let index = 0; index < 6; index++) expect((await ask('gpt')).choices[0].message.content).toBe('default tier');
    expect((await ask('gpt', ['unknown-tag'])).choices[0].message.content).toBe('default tier');
  });

  it('refuses tags no deployment of a group without a default serves, reaching no upstream', async () => {
    const before = free.requests.length + paid.requests.length + fallback.requests.length;
    const error = await ask('strict', ['team-b']).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toContain('"team-b"');
    expect(free.requests.length + paid.requests.length + fallback.requests.length).toBe(before);
  });
});
