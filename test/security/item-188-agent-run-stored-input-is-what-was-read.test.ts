/**
 * The attack (on storage): with `store_prompts_in_spend_logs`, usage rows keep the prompt a call sent —
 * text the caller was billed for as prompt tokens — and a run's stored `input` its `input_data`. But
 * an agent with a `prompt_template` sends the model only the fields its template names: the rest of
 * `input_data` went nowhere, was billed nothing, and was stored in full anyway. Any key with
 * llm.execute padded `input_data` with a 10 MB field the template does not read; each run made one
 * cheap call (the prompt "Part: bolt", 30 micro-dollars) and stored 10 MB (about 42 MB of database for
 * three runs). Now a run with a template stores the fields its template read (what the model was
 * sent); a run without one still stores its whole input, which is its prompt.
 */
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI({ reply: '{"category": "fasteners"}', promptTokens: 10, completionTokens: 10 });
let database: TestDatabase;
let gateway: TestGateway;
let api: Management;
let key: string;

const AGENTS = `  store_prompts_in_spend_logs: true
agents:
  - name: triage
    model: cheap
    prompt_template: 'Part: {{input_data.part}}, size {{input_data.spec.size}}'
  - name: plain
    model: cheap
`;

beforeAll(async () => {
  await upstream.start();
  database = await createSqliteDatabase();
  gateway = await startGateway(pricedConfig(upstream.url, AGENTS), { databaseUrl: database.url });
  api = new Management(gateway.url);
  key = (await api.generateKey()).key;
});

afterAll(async () => {
  await gateway?.close();
  await database?.drop();
  await upstream.close();
});

function databaseBytes(): number {
  const file = database.url.slice('sqlite:'.length);
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(file + suffix).size;
    } catch {
      // no WAL file yet
    }
  }
  return total;
}

async function storedInput(agent: string, executionId: string): Promise<unknown> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const page = await api.ok<{ data: Array<{ execution_id: string; input: unknown }> }>('GET', `/agents/${agent}/executions`, undefined, key);
    const found = page.data.find((row) => row.execution_id === executionId);
    if (found && found.input !== null) return found.input;
    if (Date.now() > deadline) throw new Error(`the run's input never landed: ${JSON.stringify(page).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the stored input of an agent run', () => {
  it('keeps what the prompt template read, not the 10 MB the model was never sent', async () => {
    await gateway.flushUsage();
    const before = databaseBytes();
    const runs: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const input = { part: 'bolt', spec: { size: 'M8', drawing: 'd'.repeat(1024) }, attachment: 'x'.repeat(10 * 1024 * 1024) };
      const run = await api.ok<{ execution_id: string; status: string; cost_micros: number }>('POST', '/agents/triage/run', { input_data: input }, key);
      expect(run.status).toBe('success');
      runs.push(run.execution_id);
    }
    expect(upstream.requests.at(-1)!.body.messages).toEqual([{ role: 'user', content: 'Part: bolt, size M8' }]);
    for (const run of runs) expect(await storedInput('triage', run)).toEqual({ part: 'bolt', spec: { size: 'M8' } });
    await gateway.flushUsage();
    expect(databaseBytes() - before).toBeLessThan(1024 * 1024);
  });

  it('keeps the whole input of an agent without a template (the input is its prompt)', async () => {
    const input = { part: 'nut', notes: ['zinc', 'plated'] };
    const run = await api.ok<{ execution_id: string }>('POST', '/agents/plain/run', { input_data: input }, key);
    expect(await storedInput('plain', run.execution_id)).toEqual(input);
  });
});
