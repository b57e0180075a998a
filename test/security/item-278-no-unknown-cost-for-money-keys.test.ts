/**
 * Item 268's gap, on the media surfaces: a caller held to money — a key with `max_budget`, or a
 * platform user paying credits — calls a media deployment that has TOKEN prices but no unit price
 * (per image, per character, per second). Admission lets it through, rightly: gpt-image-1 answers
 * with token `usage` (the openai SDK's ImagesResponse: "For `gpt-image-1` only, the token usage"),
 * and the call is billed on it. But dall-e-2/3 answer images with no usage, speech answers audio
 * bytes (the SDK's `speech.create` returns a bare `Response`), and whisper-1 reports seconds
 * (`usage: {type: "duration", seconds}`): an operator who priced such a deployment per token by
 * mistake — or an upstream that omits usage — got the call recorded at an unknown cost.
 *
 * Before: images, image edits, speech, transcripts and their /openai/v1 relays answered 200 with
 * the usage row's `cost_micros` NULL and the $10 key's spend (and the user's credits) unchanged.
 * Now such an answer is charged the most the call could cost on that deployment at its token
 * prices — the bound its reservation was sized by (the prompt bound plus the output bound), so
 * it never exceeds what admission held — and an answer with token usage is billed on it, exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingProxy } from '../support/counting-proxy.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';
import { form, PRICES, wav, type Way } from '../support/model-surfaces.js';

const media = new MockOpenAIMedia('sk-upstream');
let counting: CountingProxy;
let gateway: TestGateway;
let api: Management;

const png = () => new Blob([Buffer.from('png')], { type: 'image/png' });

/** Each media way in, on a deployment priced per token only, whose answer carries no token usage. */
const SURFACES: Way[] = [
  { name: 'images', path: '/v1/images/generations', body: { model: 'tok-images', prompt: 'a cat', n: 1 } },
  { name: 'images (relay)', path: '/openai/v1/images/generations', body: { model: 'tok-images', prompt: 'a cat', n: 1 } },
  { name: 'image edits', path: '/v1/images/edits', body: {}, form: form({ model: 'tok-edits', prompt: 'a hat', n: '1', size: '256x256', image: [png(), 'cat.png'] }) },
  { name: 'image edits (relay)', path: '/openai/v1/images/edits', body: {}, form: form({ model: 'tok-edits', prompt: 'a hat', n: '1', size: '256x256', image: [png(), 'cat.png'] }) },
  { name: 'audio speech', path: '/v1/audio/speech', body: { model: 'tok-images', input: 'Read this aloud, please.', voice: 'alloy' } },
  { name: 'audio transcriptions', path: '/v1/audio/transcriptions', body: {}, form: form({ model: 'tok-whisper', file: [wav(), 'tone.wav'] }) },
  { name: 'audio transcriptions (relay)', path: '/openai/v1/audio/transcriptions', body: {}, form: form({ model: 'tok-whisper', file: [wav(), 'tone.wav'] }) },
];

let serial = 0;

interface Payer {
  key: string;
  charged(): Promise<number>;
}

async function keyWithBudget(): Promise<Payer> {
  const { key } = await api.generateKey({ max_budget: 10 });
  return { key, charged: async () => (await api.keyInfo(key)).spend };
}

async function userPayingCredits(): Promise<Payer> {
  serial += 1;
  const userId = `tok-credits-user-${serial}`;
  await api.newUser({ user_id: userId, user_role: 'internal_user' });
  const { key } = await api.generateKey({ user_id: userId });
  const start = 1_000_000;
  return { key, charged: async () => start - (await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, key)).balance };
}

async function send(key: string, surface: Way): Promise<{ status: number; text: string; callId: string | null }> {
  const response = await fetch(`${gateway.url}${surface.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...(surface.form ? {} : { 'content-type': 'application/json' }) },
    body: surface.form ? surface.form() : JSON.stringify(surface.body),
  });
  return { status: response.status, text: (await response.text()).slice(0, 160), callId: response.headers.get('x-switchboard-call-id') };
}

beforeAll(async () => {
  await media.start();
  counting = new CountingProxy(media.url);
  await counting.start();
  gateway = await startGateway(`model_list:
  - model_name: tok-images
    litellm_params: {model: openai/house-media-model, api_base: "${counting.url}", api_key: sk-upstream}
    model_info: {id: dep-tok-images, mode: image_generation, ${PRICES}}
  - model_name: tok-edits
    litellm_params: {model: openai/house-image-editor, api_base: "${counting.url}", api_key: sk-upstream}
    model_info: {id: dep-tok-edits, mode: image_generation, ${PRICES}}
  - model_name: tok-whisper
    litellm_params: {model: openai/house-transcriber, api_base: "${counting.url}", api_key: sk-upstream}
    model_info: {id: dep-tok-whisper, mode: audio_transcription, ${PRICES}}
  - model_name: gpt-image
    litellm_params: {model: openai/gpt-image-1, api_base: "${counting.url}", api_key: sk-upstream}
    model_info: {id: dep-gpt-image, mode: image_generation, ${PRICES}}
general_settings:
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
  await counting?.close();
  await media.close();
});

describe('no caller held to money settles a media call at an unknown cost', () => {
  it('each surface reaches the upstream for the master key (so each row is a way in)', async () => {
    const dead: string[] = [];
    for (const surface of SURFACES) {
      const before = counting.count;
      const answer = await send(MASTER_KEY, surface);
      if (answer.status !== 200 || counting.count === before) dead.push(`${surface.name} → ${answer.status} ${answer.text}`);
    }
    expect(dead).toEqual([]);
  });

  for (const [who, payer] of [['a key with max_budget', keyWithBudget], ['a platform user paying credits', userPayingCredits]] as const) {
    it(`${who}: each answer without token usage is charged (cost_micros > 0), or refused before the upstream`, async () => {
      const holes: string[] = [];
      for (const surface of SURFACES) {
        const caller = await payer();
        const before = counting.count;
        const answer = await send(caller.key, surface);
        const reached = counting.count - before;
        await gateway.flushUsage();
        const charged = await caller.charged();
        const row = answer.callId ? await gateway.recordOf(answer.callId) : undefined;
        const refusedBeforeUpstream = answer.status === 403 && reached === 0;
        const paid = answer.status === 200 && (row?.cost_micros ?? 0) > 0 && charged > 0;
        if (!refusedBeforeUpstream && !paid) holes.push(`${surface.name}: ${answer.status}, upstream calls ${reached}, cost_micros ${row?.cost_micros ?? 'none'}, charged ${charged} (${answer.text})`);
      }
      expect(holes).toEqual([]);
    });
  }

  it('gpt-image-1, which answers with token usage, is billed on that usage, not on the bound', async () => {
    const caller = await keyWithBudget();
    const answer = await send(caller.key, { name: 'gpt-image-1', path: '/v1/images/generations', body: { model: 'gpt-image', prompt: 'a cat', n: 1 } });
    expect(answer.status).toBe(200);
    const row = await gateway.recordOf(answer.callId!);
    // The mock reports 50 input and 1,056 output tokens: at $1 / $2 per million, 50 + 2,112 µ$.
    expect(row).toMatchObject({ prompt_tokens: 50, completion_tokens: 1056, cost_micros: 2162 });
  });
});
