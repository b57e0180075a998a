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

describe('spend per tag', () => {
  it('/spend/tags and /global/spend/report?group_by=tag report what the tagged calls cost, a call under each of its tags', async () => {
    const tagged = async (tags: string[]) => (await client.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }], tags } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse()).response;
    const costs: Record<string, number> = {};
    const counts: Record<string, number> = {};
    for (const tags of [['billing-x'], ['billing-x', 'billing-y'], ['billing-y']]) {
      const response = await tagged(tags);
      const record = await gateway.recordOf(response.headers.get('x-litellm-call-id')!);
      expect(record!.cost_micros).toBeGreaterThan(0);
      for (const tag of tags) {
        costs[tag] = (costs[tag] ?? 0) + record!.cost_micros!;
        counts[tag] = (counts[tag] ?? 0) + 1;
      }
    }
    await gateway.flushUsage();
    const spend = await api.ok<Array<{ individual_request_tag: string; log_count: number; total_spend: number }>>('GET', '/spend/tags');
    for (const tag of ['billing-x', 'billing-y']) {
      expect(spend.find((row) => row.individual_request_tag === tag)).toEqual({ individual_request_tag: tag, log_count: counts[tag], total_spend: costs[tag] / 1_000_000 });
    }
    const today = new Date().toISOString().slice(0, 10);
    const report = await api.ok<Array<Record<string, unknown>>>('GET', `/switchboard/spend/report?group_by=day,tag&start_date=${today}&end_date=${today}`);
    expect(report.find((row) => row.tag === 'billing-y')).toMatchObject({ group_by_day: today, tag: 'billing-y', total_spend: costs['billing-y'] / 1_000_000, api_requests: 2, successful_requests: 2 });
    // LiteLLM's report route: per day, then per tag.
    const grouped = await api.ok<Array<{ group_by_day: string; tags: Array<{ tag: string; total_spend: number; log_count: number }> }>>('GET', `/global/spend/report?group_by=tag&start_date=${today}&end_date=${today}`);
    expect(grouped.find((row) => row.group_by_day === today)?.tags.find((row) => row.tag === 'billing-x')).toMatchObject({ tag: 'billing-x', total_spend: costs['billing-x'] / 1_000_000, log_count: counts['billing-x'] });

    const mixed = await api.call<{ error: { message: string } }>('GET', '/switchboard/spend/report?group_by=tag,model');
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.message).toContain('"tag" combines only with "day"');
    const filtered = await api.call<{ error: { message: string } }>('GET', '/switchboard/spend/report?group_by=tag&model=gpt');
    expect(filtered.status).toBe(400);
    expect((await api.call('GET', '/global/spend/report?group_by=tag&team_id=t')).status).toBe(400);
    const key = await api.generateKey({ models: ['gpt'] });
    expect((await api.call('GET', '/spend/tags', undefined, key.key)).status).toBe(403);
  });
});
