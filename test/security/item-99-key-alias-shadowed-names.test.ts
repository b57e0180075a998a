/**
 * A key's `aliases` say what a name means for that key (README's example: `{"gpt-4": "gpt-4o-mini"}`),
 * and the key's `models` may name one of its aliases: `models: ["gpt-4"]` with that alias lets the
 * key send "gpt-4" and be served by gpt-4o-mini. The key's list was read as if "gpt-4" also allowed
 * the model group that is really named gpt-4 wherever a call reached a group without the key's
 * aliases, so the key was served by the real gpt-4 (billed at its price) through:
 * - its own `fallbacks: ["gpt-4"]` (on /v1/chat/completions, /v1/completions, /v1/embeddings, and
 *   in an agent's fallbacks), after a failure or a prompt too long for gpt-4o-mini;
 * - the router's configured fallbacks (general, context-window) that name gpt-4 — so the key's
 *   ordinary call for "gpt-4", sent to gpt-4o-mini by its alias, moved to the real gpt-4 whenever
 *   gpt-4o-mini failed, on every route (item 101 runs them all);
 * - `model: "auto"` with a power level (body or X-Power-Level), which chose gpt-4.
 * Now a name the key's aliases send elsewhere counts, in the key's own list, only as that alias: a
 * request naming it in `fallbacks` is refused with 403 `model_not_allowed` (param `fallbacks`),
 * configured fallbacks to it are skipped for the key, and automatic choice does not pick it — the
 * upstream of the real gpt-4 never receives a call from this key. The master key still reaches it
 * (the routes exist), and the key's own alias still serves it gpt-4o-mini.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** OpenAI's answer to a prompt longer than the model's context window. */
const CONTEXT_LENGTH_EXCEEDED = {
  kind: 'error' as const,
  status: 400,
  body: { error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } },
};
const SERVER_ERROR = { kind: 'error' as const, status: 500 };

const mini = new MockOpenAI({ reply: 'from mini' });
/** The real gpt-4: any request it receives from the aliased key is the hole. */
const real = new MockOpenAI({ reply: 'from the real gpt-4' });
let gateway: TestGateway;
let api: Management;
/** models ["gpt-4"], aliases {"gpt-4": "gpt-4o-mini"}: the README's example. */
let aliased: string;

interface Answer {
  status: number;
  body: { error?: { code?: string | null; param?: string | null; message?: string; type?: string } } & Record<string, unknown>;
}

async function post(path: string, key: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Answer['body']) : {} };
}

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...extra });

beforeAll(async () => {
  await Promise.all([mini.start(), real.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${mini.url}", api_key: sk-upstream}
    model_info: {id: dep-mini, input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006, quality_score: 40}
  - model_name: gpt-4
    litellm_params: {model: openai/gpt-4, api_base: "${real.url}", api_key: sk-upstream}
    model_info: {id: dep-gpt-4, input_cost_per_token: 0.00003, output_cost_per_token: 0.00006, quality_score: 90}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"gpt-4o-mini": ["gpt-4"]}]
  context_window_fallbacks: [{"gpt-4o-mini": ["gpt-4"]}]
agents:
  - name: summarizer
    model: gpt-4
    fallbacks: [gpt-4]
general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: pro
  tiers:
    pro: {markup: 0, initial_credits: 1000}
`);
  api = new Management(gateway.url);
  aliased = (await api.generateKey({ models: ['gpt-4'], aliases: { 'gpt-4': 'gpt-4o-mini' } })).key;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([mini.close(), real.close()]);
});

afterEach(() => {
  for (const mock of [mini, real]) {
    mock.requests.length = 0;
    mock.faults.length = 0;
    mock.alwaysFault = undefined;
  }
});

describe('a key whose list names its own alias "gpt-4" never reaches the group really named gpt-4', () => {
  it('its alias serves it gpt-4o-mini (the access the list grants)', async () => {
    const answer = await post('/v1/chat/completions', aliased, chat());
    expect(answer.status).toBe(200);
    expect(mini.requests).toHaveLength(1);
    expect(real.requests).toHaveLength(0);
  });

  it('its own fallbacks naming "gpt-4" are refused on every route, before any upstream call', async () => {
    mini.alwaysFault = CONTEXT_LENGTH_EXCEEDED;
    const requests: Array<[string, Record<string, unknown>]> = [
      ['/v1/chat/completions', chat({ fallbacks: ['gpt-4'] })],
      ['/v1/chat/completions', chat({ fallbacks: [{ model: 'gpt-4' }] })],
      ['/v1/completions', { model: 'gpt-4', prompt: 'hi', max_tokens: 10, fallbacks: ['gpt-4'] }],
      ['/v1/embeddings', { model: 'gpt-4', input: 'hi', fallbacks: ['gpt-4'] }],
    ];
    for (const [path, body] of requests) {
      const answer = await post(path, aliased, body);
      const context = `${path} ${JSON.stringify(body)} → ${answer.status} ${JSON.stringify(answer.body)}`;
      expect(answer.status, context).toBe(403);
      expect(JSON.stringify(answer.body), context).toContain('model_not_allowed');
      expect(JSON.stringify(answer.body), context).toContain('its alias for');
    }
    expect(real.requests).toHaveLength(0);
    expect(mini.requests).toHaveLength(0);
  });

  it('an agent whose fallbacks name "gpt-4" is refused the same way', async () => {
    mini.alwaysFault = SERVER_ERROR;
    const answer = await post('/v1/chat/completions', aliased, chat({ model: 'agent/summarizer' }));
    expect(answer.status).toBe(403);
    expect(answer.body.error?.param).toBe('fallbacks');
    const run = await post('/agents/summarizer/run', aliased, { input_data: { text: 'hi' } });
    expect(run.status).toBe(403);
    expect(real.requests).toHaveLength(0);
  });

  it('configured general and context-window fallbacks to "gpt-4" are skipped for the key', async () => {
    for (const fault of [SERVER_ERROR, CONTEXT_LENGTH_EXCEEDED]) {
      mini.alwaysFault = fault;
      const answer = await post('/v1/chat/completions', aliased, chat());
      expect(answer.status, JSON.stringify(answer.body)).toBe(fault.status === 500 ? 502 : 400);
    }
    expect(mini.requests).toHaveLength(2);
    expect(real.requests).toHaveLength(0);
  });

  it('model "auto" at any power level never chooses the real gpt-4 for the key', async () => {
    for (const level of ['eco', 'balanced', 'precision']) {
      const inBody = await post('/v1/chat/completions', aliased, chat({ model: 'auto', power_level: level }));
      expect(inBody.status, JSON.stringify(inBody.body)).not.toBe(200);
      const inHeader = await post('/v1/chat/completions', aliased, chat({ model: 'auto' }), { 'x-power-level': level });
      expect(inHeader.status, JSON.stringify(inHeader.body)).not.toBe(200);
    }
    expect(real.requests).toHaveLength(0);
  });

  it('the master key does reach the real gpt-4 by each of these ways (the routes the key took exist)', async () => {
    mini.alwaysFault = SERVER_ERROR;
    expect((await post('/v1/chat/completions', MASTER_KEY, chat({ model: 'gpt-4o-mini', fallbacks: ['gpt-4'] }))).status).toBe(200);
    expect((await post('/v1/chat/completions', MASTER_KEY, chat({ model: 'gpt-4o-mini' }))).status).toBe(200);
    mini.alwaysFault = undefined;
    expect((await post('/v1/chat/completions', MASTER_KEY, chat({ model: 'auto', power_level: 'precision' }))).status).toBe(200);
    expect(real.requests).toHaveLength(3);
  });

  it('a key that names the group "gpt-4" itself (no alias shadows it) still falls back to it', async () => {
    const plain = (await api.generateKey({ models: ['gpt-4o-mini', 'gpt-4'] })).key;
    mini.alwaysFault = SERVER_ERROR;
    const answer = await post('/v1/chat/completions', plain, chat({ model: 'gpt-4o-mini' }));
    expect(answer.status).toBe(200);
    expect(real.requests).toHaveLength(1);
  });
});
