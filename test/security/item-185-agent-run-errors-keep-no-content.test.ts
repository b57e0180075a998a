/**
 * The attack (on privacy): usage rows keep no prompt or answer text unless
 * `general_settings.store_prompts_in_spend_logs` is on (never with `turn_off_message_logging`), and no
 * error text at all under `disable_spend_logs`; an agent execution's `input` / `output` follow the
 * same rule. But the stored outcome of a run (`POST /agents/{name}/run`) kept its `error`, and that
 * error quoted the model's answer when it was not JSON (`the answer is not JSON ("…200
 * characters…")`) and the upstream's error text when the model failed. So with prompts not stored —
 * the default, and under turn_off_message_logging — the answer's text was kept in the database and
 * served by `GET /agents/{name}/executions` for as long as the run is listed; under
 * disable_spend_logs the upstream's error text (which often echoes the prompt) was kept too.
 * Now the stored error names what went wrong without quoting content the settings say not to keep;
 * the run's own answer (to the caller who sent the input) still quotes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const ANSWER_SECRET = 'PATIENT Jane Roe, diagnosis code F32.1';
const UPSTREAM_SECRET = 'your prompt mentioned salary 98,765 for Jane Roe';
const AGENT = 'agents:\n  - name: matcher\n    model: cheap\n';

interface Execution {
  execution_id: string;
  status: string;
  error: string | null;
  input: unknown;
  output: unknown;
}

async function executionOf(api: Management, key: string, executionId: string): Promise<Execution> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const page = await api.ok<{ data: Execution[] }>('GET', '/agents/matcher/executions', undefined, key);
    const found = page.data.find((row) => row.execution_id === executionId);
    // The run's outcome (status, error) is stored without the run waiting for it.
    if (found && found.status === 'failed' && found.error !== null) return found;
    if (Date.now() > deadline) throw new Error(`the run's execution never landed: ${JSON.stringify(page)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each([
  ['prompts not stored (the default)', ''],
  ['turn_off_message_logging', 'litellm_settings:\n  turn_off_message_logging: true\n'],
  ['disable_spend_logs', '  disable_spend_logs: true\n'],
])('an agent run with %s', (_name, settings) => {
  const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 10 });
  let gateway: TestGateway;
  let api: Management;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    // pricedConfig ends in general_settings: an indented setting joins it, a section starts anew.
    gateway = await startGateway(pricedConfig(upstream.url, `${settings}${AGENT}`));
    api = new Management(gateway.url);
    key = (await api.generateKey()).key;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('does not keep the model\'s answer in the stored error of a run whose answer is not JSON', async () => {
    upstream.replies.push(`${ANSWER_SECRET} (first try)`, `${ANSWER_SECRET} (second try)`);
    const run = await api.ok<{ execution_id: string; status: string; error: string }>('POST', '/agents/matcher/run', { input_data: { text: 'x' } }, key);
    expect(run.status).toBe('failed');
    // The caller who sent the input is told what the model said.
    expect(run.error).toContain(ANSWER_SECRET);
    await gateway.flushUsage();
    for (const reader of [key, api.adminKey]) {
      const stored = await executionOf(api, reader, run.execution_id);
      expect(stored.error).toContain('not JSON');
      expect(JSON.stringify(stored)).not.toContain('Jane Roe');
    }
  });

  it('keeps the upstream\'s error text only where usage rows keep it', async () => {
    upstream.faults.push({ kind: 'error', status: 400, body: { error: { message: UPSTREAM_SECRET, type: 'invalid_request_error', param: null, code: null } } });
    const run = await api.ok<{ execution_id: string; status: string; error: string }>('POST', '/agents/matcher/run', { input_data: { text: 'y' } }, key);
    expect(run.status).toBe('failed');
    expect(run.error).toContain(UPSTREAM_SECRET);
    await gateway.flushUsage();
    const stored = await executionOf(api, api.adminKey, run.execution_id);
    expect(stored.error).toContain('upstream_bad_request');
    // Usage rows keep the upstream's (redacted) error text except under disable_spend_logs.
    if (settings.includes('disable_spend_logs')) expect(JSON.stringify(stored)).not.toContain('Jane Roe');
    else expect(stored.error).toContain(UPSTREAM_SECRET);
  });
});
