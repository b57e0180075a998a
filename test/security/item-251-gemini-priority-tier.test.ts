/**
 * Item 251: Gemini's priority inference on the relayed `/gemini/...` route. A generateContent body
 * may name a service tier (`serviceTier`, proto name `service_tier`; @google/genai's
 * `config.serviceTier` lands there): "priority" is billed 75% to 100% above the standard rates
 * (https://ai.google.dev/gemini-api/docs/optimization, priority-inference), "flex" at half of them.
 * The gateway relayed the field and charged the standard rates: a gemini-2.0-flash call of 1,000
 * input and 1,000 output tokens sent with `serviceTier: "priority"` (or "SERVICE_TIER_PRIORITY"
 * under `service_tier`) was charged $0.0005, the standard price, for a call Google bills up to
 * $0.001, and nothing reserved the difference.
 * Now a tier billed above the standard rates is refused for an ordinary key with 400 naming the
 * field, before any upstream call; "standard", "flex" and "unspecified" (in either spelling) pass,
 * and an admin key (llm.manage_providers) may still send any tier. Through @google/genai and fetch.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GoogleGenAI, ServiceTier } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** Gemini generateContent: 1,000 tokens in and out, whatever the tier. */
class MockGemini extends MockServer {
  readonly requests: Json[] = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    this.requests.push(JSON.parse(text) as Json);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({
      candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 1_000, candidatesTokenCount: 1_000, totalTokenCount: 2_000 },
      modelVersion: 'gemini-2.0-flash',
    }));
  }
}

const upstream = new MockGemini();
let gateway: TestGateway;
let api: Management;

// gemini-2.0-flash at its standard $0.10 / $0.40 per 1M: 1,000 × 0.1 + 1,000 × 0.4 = 500 µ$.
const STANDARD_MICROS = 500;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${upstream.url}
      api_key: upstream-key
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

async function newKey(): Promise<string> {
  return (await api.generateKey({ models: ['flash'], max_budget: 10 })).key;
}

async function spendMicros(key: string): Promise<number> {
  await gateway.flushUsage();
  return Math.round((await api.keyInfo(key)).spend * 1_000_000);
}

function generate(key: string, fields: Json): Promise<Response> {
  return fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, {
    method: 'POST',
    headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], ...fields }),
  });
}

describe('a Gemini service tier billed above the standard rates is refused for an ordinary key', () => {
  const cases: Array<[string, Json, string]> = [
    ['serviceTier: "priority"', { serviceTier: 'priority' }, 'serviceTier'],
    ['service_tier: "SERVICE_TIER_PRIORITY"', { service_tier: 'SERVICE_TIER_PRIORITY' }, 'service_tier'],
    ['an enum number', { serviceTier: 3 }, 'serviceTier'],
  ];
  for (const [name, fields, field] of cases) {
    it(`${name}: 400 naming the field, nothing sent upstream, nothing charged`, async () => {
      const key = await newKey();
      const before = upstream.requests.length;
      const response = await generate(key, fields);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string } };
      expect(body.error.message).toContain(`"${field}"`);
      expect(body.error.message).toMatch(/llm\.manage_providers/);
      expect(upstream.requests.length).toBe(before);
      expect(await spendMicros(key)).toBe(0);
    });
  }

  it('@google/genai config.serviceTier PRIORITY is refused; STANDARD and FLEX pass', async () => {
    const key = await newKey();
    const client = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
    const before = upstream.requests.length;
    const refused = await client.models.generateContent({ model: 'flash', contents: 'hi', config: { serviceTier: ServiceTier.PRIORITY } }).catch((error: unknown) => error);
    expect((refused as Error).message).toMatch(/serviceTier/);
    expect(upstream.requests.length).toBe(before);
    await client.models.generateContent({ model: 'flash', contents: 'hi', config: { serviceTier: ServiceTier.STANDARD } });
    expect(upstream.requests.at(-1)).toMatchObject({ serviceTier: 'standard' });
    await client.models.generateContent({ model: 'flash', contents: 'hi', config: { serviceTier: ServiceTier.FLEX } });
    expect(upstream.requests.at(-1)).toMatchObject({ serviceTier: 'flex' });
    expect(await spendMicros(key)).toBe(2 * STANDARD_MICROS);
  });

  it('an admin key (llm.manage_providers) may still send any tier', async () => {
    const before = upstream.requests.length;
    const response = await generate(MASTER_KEY, { serviceTier: 'priority' });
    expect(response.status).toBe(200);
    expect(upstream.requests.length).toBe(before + 1);
    expect(upstream.requests.at(-1)).toMatchObject({ serviceTier: 'priority' });
  });
});
