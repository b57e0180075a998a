/**
 * What a reload applies, in one gateway: a new model group, a changed price, a new agent, a new
 * routing rule and a tier's markup — together, and only when the whole file is valid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { restartNeededFor } from '../../src/runtime/config-reload.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;

function config(options: { price: number; extraModel?: boolean; agent?: boolean; rule?: boolean; markup: number; broken?: boolean }): string {
  return `model_list:
  - model_name: chat
    litellm_params: {model: openai/chat-upstream, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: ${options.price}, output_cost_per_token: ${options.price}}
${options.extraModel ? `  - model_name: extra\n    litellm_params: {model: openai/extra-upstream, api_base: "${upstream.url}", api_key: sk-upstream}\n` : ''}${
    options.agent ? `agents:\n  - {name: summarizer, model: chat, temperature: 0.2, system_prompt: Summarize.}\n` : ''
  }platform:
  tiers:
    free: {markup: ${options.markup}}
${options.rule ? `  routing_rules:\n    - {name: extra-for-code, priority: 5, match: {task: code}, action: {route_to: extra}}\n` : ''}${options.broken ? `router_settings:\n  num_retries: lots\n` : ''}general_settings:
  master_key: ${MASTER_KEY}
`;
}

const get = async (path: string) => (await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json() as Promise<Record<string, unknown>>;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(config({ price: 0.000001, markup: 0 }));
});
afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

describe('runtime.reload', () => {
  it('applies models, prices, agents, rules and tiers together; a file with an error changes none of them', async () => {
    const client = gateway.openai();
    const before = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    const costBefore = (await gateway.recordOf(before.response.headers.get('x-switchboard-call-id')!))!.cost_micros!;

    const broken = await gateway.runtime.reload(parseConfig(config({ price: 0.00001, extraModel: true, agent: true, rule: true, markup: 0.5, broken: true }), {}, 'config.yaml'));
    expect(broken).toMatchObject({ applied: false });
    expect((broken as { errors: string[] }).errors.join('\n')).toMatch(/config\.yaml:\d+:\d+: error: router_settings\.num_retries/);
    expect(((await get('/v1/models')).data as Array<{ id: string }>).map((model) => model.id)).not.toContain('extra');

    const outcome = await gateway.runtime.reload(parseConfig(config({ price: 0.00001, extraModel: true, agent: true, rule: true, markup: 0.5 }), {}, 'config.yaml'));
    expect(outcome).toMatchObject({ applied: true, restartNeeded: [] });
    expect(((await get('/v1/models')).data as Array<{ id: string }>).map((model) => model.id)).toContain('extra');
    expect(await get('/agents/summarizer')).toMatchObject({ name: 'summarizer', model: 'chat' });
    const rules = (await get('/api/v1/llm/routing/rules')) as { data?: Array<{ name: string }>; rules?: Array<{ name: string }> };
    expect(JSON.stringify(rules)).toContain('extra-for-code');
    expect(gateway.runtime.platform!.settings.tiers.get('free')!.markup).toBe(0.5);

    const after = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    const costAfter = (await gateway.recordOf(after.response.headers.get('x-switchboard-call-id')!))!.cost_micros!;
    expect(costAfter).toBe(costBefore * 10);
  });

  it('names the changed settings that are read once at start', () => {
    const current = parseConfig('general_settings:\n  master_key: a\nlitellm_settings:\n  num_retries: 1\n  json_logs: false\n', {}).config;
    const next = parseConfig('general_settings:\n  master_key: b\nlitellm_settings:\n  num_retries: 3\n  json_logs: true\nrouter_settings:\n  routing_strategy: least-busy\n  redis_host: cache\n', {}).config;
    expect(restartNeededFor(current, next)).toEqual(['general_settings.master_key', 'litellm_settings.json_logs', 'router_settings.redis_host']);
  });
});
