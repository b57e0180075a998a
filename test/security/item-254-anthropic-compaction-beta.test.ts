/**
 * Item 254: client headers that change the bill. `/anthropic/v1/messages` forwards the client's
 * `anthropic-beta` and `anthropic-version` headers (the only route that forwards client headers to a
 * model call), so a key can switch on any Anthropic beta. Most betas that cost more need a body
 * field the gateway already refuses or prices (server tools, `mcp_servers`, `container`, `speed`,
 * `inference_geo`: items 35, 246) or are billed from the usage the answer reports (1-hour cache
 * writes, the 1M-token context window's long-context rates). One is not:
 * threshold compaction (`anthropic-beta: compact-2026-01-12` with
 * `context_management.edits: [{ type: "compact_20260112" }]`,
 * https://platform.claude.com/docs/en/build-with-claude/compaction) makes Anthropic run an extra
 * sampling step that summarizes the conversation, billed at the model's rates — and "the top-level
 * `input_tokens` and `output_tokens` do not include compaction iteration usage": only
 * `usage.iterations` reports it. The gateway billed the top-level counts: Anthropic's own example
 * (compaction 180,000 in / 3,500 out, message 23,000 in / 1,000 out) on claude-opus-4-6 ($5 / $25)
 * was charged $0.14 where Anthropic billed $1.1275, and a key could repeat it under any budget.
 * Now, like the server tools it cannot bill (item 35), a compaction edit is refused for an ordinary
 * key with 400 naming the field, before any upstream call; context editing that only clears content
 * (`clear_tool_uses_…`, `clear_thinking_…`: no extra sampling, fewer tokens) still passes, and an
 * admin key (llm.manage_providers) may still send it. `/v1/messages` never forwards the field.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

const COMPACT_BETA = 'compact-2026-01-12';

function compacts(body: Json): boolean {
  const edits = (body.context_management as { edits?: Array<{ type?: string }> } | undefined)?.edits;
  return Array.isArray(edits) && edits.some((edit) => edit.type?.startsWith('compact_') === true);
}

/** Anthropic's Messages API, answering with the usage of the compaction docs' example when asked to compact. */
class MockAnthropicCompaction extends MockServer {
  readonly requests: Array<{ body: Json; beta: string | undefined }> = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    const beta = request.headers['anthropic-beta'] as string | undefined;
    this.requests.push({ body, beta });
    const compacted = compacts(body) && beta?.includes(COMPACT_BETA) === true;
    const usage = compacted
      ? { input_tokens: 23_000, output_tokens: 1_000, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, iterations: [{ type: 'compaction', input_tokens: 180_000, output_tokens: 3_500 }, { type: 'message', input_tokens: 23_000, output_tokens: 1_000 }] }
      : { input_tokens: 23_000, output_tokens: 1_000, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const content = compacted ? [{ type: 'compaction', content: 'Summary of the conversation: …' }, { type: 'text', text: 'ok' }] : [{ type: 'text', text: 'ok' }];
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content, stop_reason: 'end_turn', stop_sequence: null, usage }));
  }
}

const upstream = new MockAnthropicCompaction();
let gateway: TestGateway;
let api: Management;

// claude-opus-4-6 at $5 / $25 per 1M. The top-level counts: 23,000 × 5 + 1,000 × 25 = 140,000 µ$;
// what Anthropic bills with the compaction iteration: 203,000 × 5 + 4,500 × 25 = 1,127,500 µ$.
const TOP_LEVEL_MICROS = 140_000;

// A long conversation (about 180k tokens' worth of bytes), the kind compaction is for.
const LONG_HISTORY = 'The quick brown fox jumps over the lazy dog. '.repeat(4_000);

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: opus
    litellm_params:
      model: anthropic/claude-opus-4-6
      api_base: ${upstream.url}
      api_key: sk-ant-upstream
    model_info:
      input_cost_per_token: 0.000005
      output_cost_per_token: 0.000025
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

function request(fields: Json): string {
  return JSON.stringify({ model: 'opus', max_tokens: 4_096, messages: [{ role: 'user', content: LONG_HISTORY }], ...fields });
}

async function send(apiKey: string, fields: Json): Promise<Response> {
  return fetch(`${gateway.url}/anthropic/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': COMPACT_BETA },
    body: request(fields),
  });
}

async function spendMicros(key: string): Promise<number> {
  await gateway.flushUsage();
  return Math.round((await api.keyInfo(key)).spend * 1_000_000);
}

const COMPACTION = { context_management: { edits: [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: 50_000 } }] } };

describe('threshold compaction (billed outside the top-level usage) on /anthropic/v1/messages', () => {
  it('is refused for an ordinary key: 400 naming the field, nothing sent upstream, nothing charged', async () => {
    const key = (await api.generateKey({ models: ['opus'], max_budget: 10 })).key;
    const before = upstream.requests.length;
    const response = await send(key, COMPACTION);
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect({ status: response.status, charged: await spendMicros(key), upstreamCalls: upstream.requests.length - before }).toEqual({ status: 400, charged: 0, upstreamCalls: 0 });
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(body.error.message).toMatch(/context_management\.edits\[0\]/);
    expect(body.error.message).toMatch(/llm\.manage_providers/);
  });

  it('a compaction edit anywhere in the list is refused', async () => {
    const key = (await api.generateKey({ models: ['opus'], max_budget: 10 })).key;
    const response = await send(key, { context_management: { edits: [{ type: 'clear_tool_uses_20250919' }, { type: 'compact_20260112' }] } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/context_management\.edits\[1\]/);
  });

  it('context editing that only clears content passes and is charged its tokens', async () => {
    const key = (await api.generateKey({ models: ['opus'], max_budget: 10 })).key;
    const response = await send(key, { context_management: { edits: [{ type: 'clear_tool_uses_20250919' }, { type: 'clear_thinking_20251015' }] } });
    expect(response.status).toBe(200);
    expect(upstream.requests.at(-1)?.body.context_management).toBeDefined();
    expect(await spendMicros(key)).toBe(TOP_LEVEL_MICROS);
  });

  it('an admin key (llm.manage_providers) may still compact', async () => {
    const before = upstream.requests.length;
    const response = await send(MASTER_KEY, COMPACTION);
    expect(response.status).toBe(200);
    expect(upstream.requests.length).toBe(before + 1);
    expect(upstream.requests.at(-1)).toMatchObject({ body: COMPACTION, beta: COMPACT_BETA });
  });

  it('/v1/messages (translated) does not forward context_management', async () => {
    const key = (await api.generateKey({ models: ['opus'], max_budget: 10 })).key;
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': COMPACT_BETA },
      body: request(COMPACTION),
    });
    expect(response.status).toBe(200);
    expect(upstream.requests.at(-1)?.body.context_management).toBeUndefined();
    expect(upstream.requests.at(-1)?.beta).toBeUndefined();
    expect(await spendMicros(key)).toBe(TOP_LEVEL_MICROS);
  });
});
