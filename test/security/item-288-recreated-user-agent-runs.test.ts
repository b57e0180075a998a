/**
 * The attack (on privacy): user ids are names an admin chooses, and deleting a user keeps its usage
 * rows and its agent runs' stored outcomes. Item 283 made a non-admin's own /spend/logs rows start
 * when its user was created, but the agent routes still scoped a non-admin by user id only: a user
 * created again under a deleted user's id — someone else — read with its own key the previous
 * account's agent executions (`GET /agents/{name}/executions`, the run's input and output and the
 * prompt of an `agent/<name>` call included) and counted its runs, tokens and costs in
 * `/agents/stats`, `/agents` and `/agents/{name}`. Now a non-admin's own executions start when its
 * user was created, as its usage rows do; admins still read every execution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PREVIOUS_RUN = 'previous owner: run input with a confidential diagnosis';
const PREVIOUS_CHAT = 'previous owner: agent call with a confidential prompt';
const NEXT_RUN = 'next owner: hello';

interface Execution {
  execution_id: string;
  input: unknown;
  cost_micros: number;
}
interface ExecutionsPage {
  data: Execution[];
}
interface Stats {
  executions: number;
  total_cost_micros: number;
}

const upstream = new MockOpenAI({ reply: 'the answer' });
let gateway: TestGateway;
let api: Management;
let nextKey: string;

/** The run's outcome (its input) is stored without the run waiting for it. */
async function waitForExecutions(count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const page = await api.ok<ExecutionsPage>('GET', '/agents/helper/executions');
    if (page.data.length === count && page.data.every((row) => row.input !== null || JSON.stringify(row).includes(PREVIOUS_CHAT))) return;
    if (Date.now() > deadline) throw new Error(`the executions never landed: ${JSON.stringify(page)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: assistant
    litellm_params: {model: openai/assistant-upstream, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
  store_prompts_in_spend_logs: true
agents:
  - name: helper
    model: assistant
`);
  api = new Management(gateway.url);
  const previousKey = (await api.newUser({ user_id: 'alice', key_alias: 'alice-previous' })).key!;
  await gateway.openai(previousKey).chat.completions.create({ model: 'agent/helper', messages: [{ role: 'user', content: PREVIOUS_CHAT }] });
  await api.ok('POST', '/agents/helper/run', { entity_type: 'note', input_data: { text: PREVIOUS_RUN } }, previousKey);
  await gateway.flushUsage();
  await waitForExecutions(2);
  await api.ok('POST', '/user/delete', { user_ids: ['alice'] });
  // The clock moves on between the deletion and the new account (rows are stamped in milliseconds).
  await new Promise((resolve) => setTimeout(resolve, 5));
  nextKey = (await api.newUser({ user_id: 'alice' })).key!;
  await api.ok('POST', '/agents/helper/run', { entity_type: 'note', input_data: { text: NEXT_RUN } }, nextKey);
  await gateway.flushUsage();
  await waitForExecutions(3);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('a user created again under a deleted user\'s id', () => {
  it('does not read the previous account\'s agent executions, inputs or prompts', async () => {
    const page = await api.ok<ExecutionsPage>('GET', '/agents/helper/executions', undefined, nextKey);
    const text = JSON.stringify(page.data);
    expect(page.data).toHaveLength(1);
    expect(text).toContain(NEXT_RUN);
    expect(text).not.toContain(PREVIOUS_RUN);
    expect(text).not.toContain(PREVIOUS_CHAT);
  });

  it('does not count the previous account\'s runs in its agent stats', async () => {
    const own = await api.ok<ExecutionsPage>('GET', '/agents/helper/executions', undefined, nextKey);
    const ownCost = own.data.reduce((sum, row) => sum + row.cost_micros, 0);
    const overview = await api.ok<{ total_executions: number; total_cost_micros: number }>('GET', '/agents/stats', undefined, nextKey);
    expect(overview).toMatchObject({ total_executions: 1, total_cost_micros: ownCost });
    expect((await api.ok<{ stats: Stats }>('GET', '/agents/helper', undefined, nextKey)).stats).toMatchObject({ executions: 1, total_cost_micros: ownCost });
    const list = await api.ok<{ data: Array<{ name: string; stats: Stats }> }>('GET', '/agents', undefined, nextKey);
    expect(list.data.find((agent) => agent.name === 'helper')!.stats.executions).toBe(1);
  });

  it('leaves admins every execution, the deleted account\'s included', async () => {
    const page = await api.ok<ExecutionsPage>('GET', '/agents/helper/executions');
    expect(page.data).toHaveLength(3);
    expect(JSON.stringify(page.data)).toContain(PREVIOUS_RUN);
    expect((await api.ok<{ total_executions: number }>('GET', '/agents/stats')).total_executions).toBe(3);
  });
});
