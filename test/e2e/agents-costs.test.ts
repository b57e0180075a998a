/**
 * Costs agree exactly, on SQLite and PostgreSQL: for an agent used both ways (runs, with repairs
 * and failures, and `agent/<name>` calls), the sum of its executions' costs equals the spend
 * report's total for the agent, GET /agents/stats' total, and the sum of its usage rows — integer
 * micro-dollars throughout. /switchboard/spend/logs filters by agent; the report groups by it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const SCHEMA = { type: 'object', properties: { supplier: { type: 'string' }, confidence: { type: 'number', minimum: 0, maximum: 1 } }, required: ['supplier', 'confidence'] };

const config = (apiBase: string) => `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
agents:
  - name: supplier-matcher
    model: gpt-4o-mini
    confidence_threshold: 0.6
    output_schema: ${JSON.stringify(SCHEMA)}
  - name: price-optimizer
    model: gpt-4o
`;

for (const { dialect, create } of await dialectsUnderTest()) {
  describe(`costs agree (${dialect})`, () => {
    const mock = new MockOpenAI();
    let database: TestDatabase;
    let gateway: TestGateway;
    let api: Management;

    beforeAll(async () => {
      await mock.start();
      database = await create();
      gateway = await startGateway(config(mock.url), { databaseUrl: database.url });
      api = new Management(gateway.url);
    });
    afterAll(async () => {
      await gateway?.close();
      await mock.close();
      await database?.drop();
    });

    it('executions = spend report = stats = usage rows, for every agent', async () => {
      const client = gateway.openai();
      const run = (body: unknown) => api.ok<any>('POST', '/agents/supplier-matcher/run', body);
      mock.replies.push(JSON.stringify({ supplier: 'Acme', confidence: 0.9 }));
      expect((await run({ entity_type: 'rfq', input_data: { part: 'bolt' } })).status).toBe('success');
      mock.replies.push('{"supplier": 3}', JSON.stringify({ supplier: 'Bolt Co', confidence: 0.3 }));
      const repaired = await run({ entity_type: 'rfq', input_data: { part: 'nut' } });
      expect(repaired).toMatchObject({ status: 'low_confidence', attempts: 2 });
      mock.replies.push('nope', 'still nope');
      expect((await run({ entity_type: 'rfq', input_data: { part: 'washer' } })).status).toBe('failed');
      mock.faults.push({ kind: 'error', status: 500 });
      expect((await run({ entity_type: 'rfq', input_data: { part: 'gear' } })).status).toBe('failed');
      // The switch: the supplier matcher moves to gpt-4o; calls through the OpenAI API follow.
      await api.ok('PATCH', '/agents/supplier-matcher', { model: 'gpt-4o' });
      for (let index = 0; index < 3; index++) await client.chat.completions.create({ model: 'agent/supplier-matcher', messages: [{ role: 'user', content: `match ${index}` }] });
      await client.chat.completions.create({ model: 'agent/price-optimizer', messages: [{ role: 'user', content: 'price' }] });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'no agent' }] });
      await gateway.flushUsage();
      // The runs' outcomes are stored without the run waiting for them.
      await new Promise((resolve) => setTimeout(resolve, 100));

      const rows = (await gateway.runtime.usageLogs()!.listRecent(1000)).filter((row) => row.agent === 'supplier-matcher');
      expect(rows).toHaveLength(1 + 2 + 2 + 1 + 3);
      const rowsMicros = rows.reduce((sum, row) => sum + (row.cost_micros ?? 0), 0);
      expect(rowsMicros).toBeGreaterThan(0);

      const executions: any[] = [];
      for (let page = 1; ; page++) {
        const answer = await api.ok<any>('GET', `/agents/supplier-matcher/executions?page=${page}&page_size=3`);
        executions.push(...answer.data);
        if (!answer.has_more) break;
      }
      expect(executions).toHaveLength(4 + 3);
      expect(executions.map((execution) => execution.status)).toEqual(['success', 'success', 'success', 'failed', 'failed', 'low_confidence', 'success']);
      expect(executions.map((execution) => execution.via)).toEqual(['api', 'api', 'api', 'run', 'run', 'run', 'run']);
      expect(executions[5]).toMatchObject({ entity_type: 'rfq', calls: 2, confidence: 0.3, model: 'gpt-4o-mini', execution_id: repaired.execution_id, cost_micros: repaired.cost_micros });
      expect(executions[0]).toMatchObject({ model: 'gpt-4o', calls: 1, entity_type: null });
      const executionsMicros = executions.reduce((sum, execution) => sum + execution.cost_micros, 0);
      expect(executionsMicros).toBe(rowsMicros);

      const report = await api.ok<any[]>('GET', '/switchboard/spend/report?group_by=agent');
      const reported = report.find((row) => row.agent === 'supplier-matcher');
      expect(Math.round(reported.spend * 1_000_000)).toBe(rowsMicros);
      expect(reported.api_requests).toBe(rows.length);
      const byFilter = await api.ok<any[]>('GET', '/switchboard/spend/report?agent=supplier-matcher&group_by=day,model');
      expect(byFilter.map((row) => row.model).sort()).toEqual(['gpt-4o', 'gpt-4o-mini']);
      expect(Math.round(byFilter.reduce((sum, row) => sum + row.spend, 0) * 1_000_000)).toBe(rowsMicros);
      expect(report.find((row) => row.agent === null)).toMatchObject({ api_requests: 1 });

      const stats = await api.ok<any>('GET', '/agents/stats');
      const own = stats.agents.find((agent: { name: string }) => agent.name === 'supplier-matcher');
      expect(own).toMatchObject({ executions: 7, successes: 4, low_confidence: 1, failures: 2, total_cost_micros: rowsMicros });
      const optimizer = (await gateway.runtime.usageLogs()!.listRecent(1000)).filter((row) => row.agent === 'price-optimizer');
      expect(stats).toMatchObject({ total_agents: 2, active_agents: 2, total_executions: 8, total_cost_micros: rowsMicros + optimizer[0].cost_micros! });
      expect(stats.success_rate).toBeCloseTo(5 / 8, 10);

      const logs = await api.ok<any>('GET', '/switchboard/spend/logs?agent=supplier-matcher&page_size=100');
      expect(logs.data).toHaveLength(rows.length);
      expect(logs.data.every((row: { agent: string }) => row.agent === 'supplier-matcher')).toBe(true);
      expect(logs.data.filter((row: { agent_execution: string | null }) => row.agent_execution === repaired.execution_id)).toHaveLength(2);
    });
  });
}
