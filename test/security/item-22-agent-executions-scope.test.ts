/**
 * Agent executions and stats are scoped like /spend/logs: a key without llm.configure reads only its
 * own user's (else its own key's) executions — never another team's runs, their stored prompts,
 * outputs and run inputs, nor their tokens and costs in the stats. The master key reads everyone's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const CHAT_SECRET = 'TEAM-A CONFIDENTIAL: merger with Acme at $12/share';
const RUN_SECRET = 'TEAM-A RUN SECRET payroll 123';

interface Execution {
  execution_id: string;
  via: string;
  input: unknown;
  output: unknown;
  cost_micros: number;
}
interface ExecutionsPage {
  data: Execution[];
}
interface Stats {
  executions: number;
  total_tokens: number;
  total_cost_micros: number;
}

const upstream = new MockOpenAI({ reply: 'the answer' });
let gateway: TestGateway;
let api: Management;
let keyA: string;
let keyA2: string;
let keyB: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-up, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: expensive
    litellm_params: {model: openai/expensive-up, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-expensive, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  store_prompts_in_spend_logs: true
agents:
  - name: secret-agent
    model: expensive
`);
  api = new Management(gateway.url);
  await api.newTeam({ team_id: 'team-a', models: ['cheap', 'expensive'] });
  await api.newTeam({ team_id: 'team-b', models: ['cheap'] });
  keyA = (await api.generateKey({ team_id: 'team-a' })).key;
  keyA2 = (await api.generateKey({ team_id: 'team-a' })).key;
  keyB = (await api.generateKey({ team_id: 'team-b' })).key;
  // Team A's two executions: an `agent/<name>` call with a confidential prompt, and a run with a secret input.
  await gateway.openai(keyA).chat.completions.create({ model: 'agent/secret-agent', messages: [{ role: 'user', content: CHAT_SECRET }] });
  await api.ok('POST', '/agents/secret-agent/run', { entity_type: 'deal', input_data: { secret: RUN_SECRET } }, keyA);
  await gateway.flushUsage();
  // The run's outcome (its input) is stored without the run waiting for it.
  const deadline = Date.now() + 5_000;
  for (;;) {
    const page = await api.ok<ExecutionsPage>('GET', '/agents/secret-agent/executions');
    if (page.data.length === 2 && page.data.some((row) => JSON.stringify(row.input).includes(RUN_SECRET))) break;
    if (Date.now() > deadline) throw new Error(`team A's executions never landed: ${JSON.stringify(page)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('agent executions and stats are scoped to the caller', () => {
  it('another team\'s key sees none of its executions, inputs or outputs', async () => {
    const response = await api.call<ExecutionsPage>('GET', '/agents/secret-agent/executions', undefined, keyB);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual([]);
    const text = JSON.stringify(response.body);
    expect(text).not.toContain('TEAM-A');
    expect(text).not.toContain('the answer');
  });

  it('another team\'s key gets stats without the other team\'s executions, tokens or costs', async () => {
    const overview = await api.ok<{ total_executions: number; total_tokens: number; total_cost_micros: number; agents: Array<{ name: string } & Stats> }>('GET', '/agents/stats', undefined, keyB);
    expect(overview).toMatchObject({ total_executions: 0, total_tokens: 0, total_cost_micros: 0 });
    expect(overview.agents.find((agent) => agent.name === 'secret-agent')).toMatchObject({ executions: 0, total_tokens: 0, total_cost_micros: 0 });
    expect((await api.ok<{ stats: Stats }>('GET', '/agents/secret-agent', undefined, keyB)).stats).toMatchObject({ executions: 0, total_cost_micros: 0 });
    const list = await api.ok<{ data: Array<{ name: string; stats: Stats }> }>('GET', '/agents', undefined, keyB);
    expect(list.data.find((agent) => agent.name === 'secret-agent')!.stats).toMatchObject({ executions: 0, total_cost_micros: 0 });
  });

  it('another key of the same team without a user sees only its own (as /spend/logs)', async () => {
    expect((await api.ok<ExecutionsPage>('GET', '/agents/secret-agent/executions', undefined, keyA2)).data).toEqual([]);
    expect((await api.ok<{ total_executions: number }>('GET', '/agents/stats', undefined, keyA2)).total_executions).toBe(0);
  });

  it('the key that ran them reads its own executions with their input and output; the master key reads everyone\'s', async () => {
    const own = await api.ok<ExecutionsPage>('GET', '/agents/secret-agent/executions', undefined, keyA);
    expect(own.data).toHaveLength(2);
    expect(JSON.stringify(own.data)).toContain(CHAT_SECRET);
    expect(JSON.stringify(own.data)).toContain(RUN_SECRET);
    const ownStats = await api.ok<{ total_executions: number; total_cost_micros: number }>('GET', '/agents/stats', undefined, keyA);
    expect(ownStats.total_executions).toBe(2);
    expect(ownStats.total_cost_micros).toBe(own.data.reduce((sum, row) => sum + row.cost_micros, 0));
    expect((await api.ok<{ total_executions: number }>('GET', '/agents/stats')).total_executions).toBe(2);
  });
});
