/**
 * The invariant, as a table: a caller held to money — a key with `max_budget`, or a platform user
 * paying credits — never gets an answer from an upstream call whose cost the gateway records as
 * unknown. Each way a request can make the gateway call a model (item 101's surfaces,
 * test/support/model-surfaces.ts, plus the uploads, the platform relay and the Testing Lab) is
 * tried against deployments with NO price for what it bills: custom token models without
 * `input_cost_per_token` (an `openai/` self-hosted name, a Claude and a Gemini name the built-in
 * table does not know), and media deployments without a per-image, per-character, per-second or
 * per-query price. The answer must be either a 4xx before any upstream call (the mocks count what
 * reaches them) or a 2xx that was charged (the key's spend, or the user's credits, moved).
 *
 * Before: the reservation was sized over the priced deployments only, so on an unpriced one it
 * reserved $0 and the call went through: every chat, embedding, Responses, Anthropic and Gemini
 * call, image, speech, transcript and rerank was answered (200) with usage `cost_micros` NULL and
 * the $10 key's spend — and the user's credits — unchanged, without end. Now admission refuses a
 * money-held caller with 403 before any upstream call when a deployment the call may reach has no
 * price for it; a deployment priced at 0 (a free self-hosted model) is priced, and answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingProxy } from '../support/counting-proxy.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';
import { chat, PRICES, SURFACES, surfaceModelsConfig, UPLOAD_SURFACES, type Way } from '../support/model-surfaces.js';

const openai = new MockOpenAI({ reply: 'premium answer' });
const anthropic = new MockAnthropic();
const gemini = new MockGemini();
const media = new MockOpenAIMedia('sk-upstream');
const proxies: CountingProxy[] = [];
let gateway: TestGateway;
let api: Management;

const upstreamCalls = () => proxies.reduce((sum, proxy) => sum + proxy.count, 0);

const ALL_SURFACES: Way[] = [
  ...SURFACES,
  ...UPLOAD_SURFACES,
  { name: 'wildcard serving an unknown model', path: '/v1/chat/completions', body: chat('openai/house-unknown-model') },
  { name: 'platform chat (/api/v1/llm)', path: '/api/v1/llm/chat/completions', body: chat('premium') },
  { name: 'Testing Lab (/api/v1/llm/routing/test)', path: '/api/v1/llm/routing/test', body: { request: chat('premium') } },
];
/** Free by design: answered locally, or a provider method that bills nothing (token counting, moderation). */
const FREE = new Set(['chat mock_response', 'anthropic native count_tokens', 'gemini countTokens', 'pass-through moderations', 'moderations']);

/**
 * Item 101's models with every price taken away: the upstream names are ones no built-in table
 * knows, and neither token nor media prices are configured (the cheap fallback sources keep theirs:
 * a priced first choice must not vouch for an unpriced fallback).
 */
function unpricedConfig(urls: { openai: string; anthropic: string; gemini: string; media: string }): string {
  const more = `  - model_name: premium-edits
    litellm_params: {model: openai/house-image-editor, api_base: "${urls.media}", api_key: sk-upstream}
    model_info: {id: dep-premium-edits, mode: image_generation}
  - model_name: premium-whisper
    litellm_params: {model: openai/house-transcriber, api_base: "${urls.media}", api_key: sk-upstream}
    model_info: {id: dep-premium-whisper, mode: audio_transcription}
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_base: "${urls.openai}", api_key: sk-upstream}
  - model_name: free-local
    litellm_params: {model: openai/house-free-model, api_base: "${urls.openai}", api_key: sk-upstream}
    model_info: {id: dep-free-local, input_cost_per_token: 0, output_cost_per_token: 0}
`;
  const config = surfaceModelsConfig(urls, more)
    .replace(`{id: dep-premium, ${PRICES},`, '{id: dep-premium,')
    .replace(`{id: dep-premium-media, mode: image_generation, ${PRICES}, output_cost_per_image: 0.04, input_cost_per_character: 0.000015, input_cost_per_query: 0.002}`, '{id: dep-premium-media, mode: image_generation}')
    .replace('openai/dall-e-3', 'openai/house-media-model')
    .replace(`{id: dep-claude-premium, ${PRICES},`, '{id: dep-claude-premium,')
    .replace('anthropic/claude-3-opus-20240229', 'anthropic/claude-house-model')
    .replace(`{id: dep-gemini-premium, ${PRICES},`, '{id: dep-gemini-premium,')
    .replace('gemini/gemini-1.5-pro', 'gemini/gemini-house-model');
  // Every replacement must have applied, or a row would test a priced deployment.
  for (const priced of ['dep-premium, input', 'dep-premium-media, mode: image_generation, input', 'dall-e-3', 'claude-3-opus', 'gemini-1.5-pro']) expect(config).not.toContain(priced);
  return config;
}

interface Payer {
  key: string;
  /** What the caller has been charged so far (USD, or credits). */
  charged(): Promise<number>;
}

let serial = 0;

async function keyWithBudget(): Promise<Payer> {
  const { key } = await api.generateKey({ max_budget: 10 });
  return { key, charged: async () => (await api.keyInfo(key)).spend };
}

async function userPayingCredits(): Promise<Payer> {
  serial += 1;
  const userId = `credits-user-${serial}`;
  await api.newUser({ user_id: userId, user_role: 'internal_user' });
  const { key } = await api.generateKey({ user_id: userId });
  const start = 1_000_000;
  return { key, charged: async () => start - (await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, key)).balance };
}

async function send(key: string, surface: Way): Promise<{ status: number; text: string; callId: string | null }> {
  const response = await fetch(`${gateway.url}${surface.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...(surface.form ? {} : { 'content-type': 'application/json' }), ...surface.headers },
    body: surface.form ? surface.form() : JSON.stringify(surface.body),
  });
  return { status: response.status, text: (await response.text()).slice(0, 160), callId: response.headers.get('x-switchboard-call-id') };
}

beforeAll(async () => {
  await Promise.all([openai.start(), anthropic.start(), gemini.start(), media.start()]);
  for (const mock of [openai, anthropic, gemini, media]) proxies.push(new CountingProxy(mock.url));
  await Promise.all(proxies.map((proxy) => proxy.start()));
  const [openaiProxy, anthropicProxy, geminiProxy, mediaProxy] = proxies;
  gateway = await startGateway(`
${unpricedConfig({ openai: openaiProxy.url, anthropic: anthropicProxy.url, gemini: geminiProxy.url, media: mediaProxy.url })}general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: pro
  tiers:
    pro: {markup: 0, initial_credits: 1000000}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await Promise.all([openai.close(), anthropic.close(), gemini.close(), media.close()]);
});

describe('no caller held to money gets an answer from an unpriced upstream call', () => {
  it('each surface reaches an upstream for the master key (so each row is a way in)', async () => {
    const dead: string[] = [];
    for (const surface of ALL_SURFACES.filter((each) => !FREE.has(each.name) && each.name !== 'wildcard serving an unknown model')) {
      const before = upstreamCalls();
      const answer = await send(MASTER_KEY, surface);
      if (answer.status >= 300 || upstreamCalls() === before) dead.push(`${surface.name} → ${answer.status} ${answer.text}`);
    }
    expect(dead).toEqual([]);
  });

  for (const [who, payer] of [['a key with max_budget', keyWithBudget], ['a platform user paying credits', userPayingCredits]] as const) {
    it(`${who}: refused with 4xx before any upstream call, or charged`, async () => {
      const holes: string[] = [];
      for (const surface of ALL_SURFACES.filter((each) => !FREE.has(each.name))) {
        const caller = await payer();
        const before = upstreamCalls();
        const answer = await send(caller.key, surface);
        const reached = upstreamCalls() - before;
        await gateway.flushUsage();
        const charged = await caller.charged();
        const refusedBeforeUpstream = answer.status >= 400 && answer.status < 500 && reached === 0;
        // Charged, or served by the deployment priced at 0 (an automatic choice may pick it): recorded at cost 0, not unknown.
        const free = answer.callId !== null && charged === 0 && (await gateway.recordOf(answer.callId))?.cost_micros === 0;
        const paid = answer.status >= 200 && answer.status < 300 && (charged > 0 || free);
        if (!refusedBeforeUpstream && !paid) holes.push(`${surface.name}: ${answer.status}, upstream calls ${reached}, charged ${charged} (${answer.text})`);
      }
      expect(holes).toEqual([]);
    });
  }

  it('a deployment priced at 0 (a free self-hosted model) is priced: answered, recorded at cost 0', async () => {
    for (const caller of [await keyWithBudget(), await userPayingCredits()]) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${caller.key}`, 'content-type': 'application/json' }, body: JSON.stringify(chat('free-local')) });
      expect(response.status).toBe(200);
      await response.text();
      expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 0 });
    }
  });
});
