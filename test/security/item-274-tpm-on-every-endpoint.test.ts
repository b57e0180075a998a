/**
 * The attack: a key (or its user, or team) with a `tpm_limit` called /v1/moderations,
 * /v1/rerank, /v1/audio/transcriptions, /v1/audio/speech or /v1/images/generations (and their
 * /openai/v1/* relays) without limit: those calls are billed in units (characters, search units,
 * seconds, images), their answers carry no token usage, and settling replaced the call's token
 * hold by 0 — the minute window never filled. With `tpm_limit: 2 × hold`, 20 moderations in a row
 * answered 200 where the third chat call is refused with 429.
 * Now a call billed in units whose answer reports no tokens counts its input as admission
 * estimated it (about 4 bytes per token, billing/token-estimate.ts) toward every tpm window, as
 * chat counts the tokens its answer reports; so the calls over the limit are refused with 429 on
 * every surface, and the window shows the tokens once the call is settled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';
import { chat, form, surfaceModelsConfig, wav, type Way } from '../support/model-surfaces.js';

const openai = new MockOpenAI({ reply: 'premium answer' });
const anthropic = new MockAnthropic();
const gemini = new MockGemini();
const media = new MockOpenAIMedia('sk-upstream');
let gateway: TestGateway;
let api: Management;

const MEDIA_MODELS = (url: string) => `  - model_name: premium-whisper
    litellm_params: {model: openai/whisper-1, api_base: "${url}", api_key: sk-upstream}
    model_info: {id: dep-premium-whisper, mode: audio_transcription, input_cost_per_second: 0.0001}
`;

/** Every generating endpoint the brief names, and the relays of the unit-billed ones. */
const ENDPOINTS: Way[] = [
  { name: 'chat', path: '/v1/chat/completions', body: chat('premium') },
  { name: 'completions', path: '/v1/completions', body: { model: 'premium', prompt: 'hi', max_tokens: 10 } },
  { name: 'embeddings', path: '/v1/embeddings', body: { model: 'premium', input: 'hi' } },
  { name: 'responses', path: '/v1/responses', body: { model: 'premium', input: 'hi', max_output_tokens: 16 } },
  { name: 'messages', path: '/v1/messages', body: chat('claude-premium') },
  { name: 'moderations', path: '/v1/moderations', body: { model: 'premium-media', input: 'hi there, is this fine?' } },
  { name: 'rerank', path: '/v1/rerank', body: { model: 'premium-media', query: 'which one is a cat', documents: ['a cat', 'a dog', 'a bird'] } },
  { name: 'audio transcriptions', path: '/v1/audio/transcriptions', body: {}, form: form({ model: 'premium-whisper', file: [wav(), 'tone.wav'] }) },
  { name: 'audio speech', path: '/v1/audio/speech', body: { model: 'premium-media', input: 'hi there', voice: 'alloy' } },
  { name: 'images', path: '/v1/images/generations', body: { model: 'premium-media', prompt: 'a cat', n: 1 } },
  { name: 'pass-through moderations', path: '/openai/v1/moderations', body: { model: 'premium-media', input: 'hi there, is this fine?' } },
  { name: 'pass-through images', path: '/openai/v1/images/generations', body: { model: 'premium-media', prompt: 'a cat', n: 1 } },
];

async function send(key: string, way: Way): Promise<{ status: number; remaining: number | undefined }> {
  const response = await fetch(`${gateway.url}${way.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...(way.form ? {} : { 'content-type': 'application/json' }) },
    body: way.form ? way.form() : JSON.stringify(way.body),
  });
  await response.arrayBuffer();
  const remaining = response.headers.get('x-ratelimit-remaining-tokens');
  return { status: response.status, remaining: remaining === null ? undefined : Number(remaining) };
}

/** What a call holds at admission (the window's room before it, less the room it finds), and what it leaves counted once settled. */
async function footprintOf(way: Way): Promise<{ hold: number; counted: number }> {
  const { key } = await api.generateKey({ tpm_limit: 1_000_000 });
  const first = await send(key, way);
  expect(first.status, way.name).toBe(200);
  const hold = 1_000_000 - first.remaining!;
  const second = await send(key, way);
  expect(second.status, way.name).toBe(200);
  // The room the second call found: the limit less the first call's settled tokens and its own hold.
  return { hold, counted: 1_000_000 - hold - second.remaining! };
}

beforeAll(async () => {
  await Promise.all([openai.start(), anthropic.start(), gemini.start(), media.start()]);
  gateway = await startGateway(`
${surfaceModelsConfig({ openai: openai.url, anthropic: anthropic.url, gemini: gemini.url, media: media.url }, MEDIA_MODELS(media.url))}general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai.close(), anthropic.close(), gemini.close(), media.close()]);
});

describe('tpm_limit counts the tokens of a call on every endpoint', () => {
  it.each(ENDPOINTS.map((way) => [way.name, way] as const))('%s: a settled call leaves its tokens in the minute window', async (_name, way) => {
    const { hold, counted } = await footprintOf(way);
    expect(hold).toBeGreaterThan(0);
    expect(counted).toBeGreaterThan(0);
  });

  it.each(ENDPOINTS.map((way) => [way.name, way] as const))('%s: with tpm_limit a call\'s hold plus two calls\' tokens, calls in a row are refused with 429 before the 20th', async (_name, way) => {
    const { hold, counted } = await footprintOf(way);
    const { key } = await api.generateKey({ tpm_limit: hold + 2 * counted });
    const statuses: number[] = [];
    for (let index = 0; index < 20; index += 1) {
      const { status } = await send(key, way);
      statuses.push(status);
      if (status === 429) break;
    }
    expect(statuses.at(-1), `${way.name}: ${statuses.join(',')}`).toBe(429);
    expect(statuses.slice(0, -1).every((status) => status === 200)).toBe(true);
  });
});

/** The user's and the team's windows fill the same way. */
describe.each(['user', 'team'] as const)('on the %s', (holder) => {
  it('moderations, rerank and transcriptions fill its tpm window', async () => {
    const leaking: string[] = [];
    for (const way of ENDPOINTS.filter((each) => ['moderations', 'rerank', 'audio transcriptions'].includes(each.name))) {
      const { hold, counted } = await footprintOf(way);
      const id = `tpm-${holder}-${way.name.replace(/\W/g, '-')}`;
      if (holder === 'user') await api.newUser({ user_id: id, user_role: 'internal_user', tpm_limit: hold + 2 * counted });
      else await api.newTeam({ team_id: id, tpm_limit: hold + 2 * counted });
      const { key } = await api.generateKey(holder === 'user' ? { user_id: id } : { team_id: id });
      const statuses: number[] = [];
      for (let index = 0; index < 20 && statuses.at(-1) !== 429; index += 1) statuses.push((await send(key, way)).status);
      if (statuses.at(-1) !== 429) leaking.push(`${way.name}: ${statuses.join(',')}`);
    }
    expect(leaking).toEqual([]);
  });
});
