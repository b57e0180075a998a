import { describe, expect, it } from 'vitest';
import type { Deployment } from '../providers/types.js';
import { seededRandom } from '../../test/support/random.js';
import type { MediaUnits } from '../providers/types.js';
import { boundUnits, boundUsage, DEFAULT_OUTPUT_TOKEN_LIMIT, exceedsLimits, MAX_INPUT_IMAGE_TOKENS, REASONING_ALLOWANCE, usageLimits } from './usage-bounds.js';

function deployment(overrides: Partial<Deployment> = {}): Deployment {
  return { id: 'd', modelName: 'm', provider: 'openai', upstreamModel: 'm', apiBase: '', headers: {}, defaultParams: {}, modelInfo: {}, available: true, ...overrides } as Deployment;
}

const chat = (body: Record<string, unknown>) => ({ kind: 'chat' as const, body: { messages: [{ role: 'user', content: 'hello there' }], ...body } });
// "hello there": 11 bytes + 8 framing + 8 = 27 → max(4 × 27, 27 + 1000) = 1027.
const PROMPT_LIMIT = 1027;

describe('usage limits', () => {
  it('bounds the prompt by a generous multiple of the byte estimate', () => {
    expect(usageLimits(chat({ max_tokens: 50 }), deployment())).toEqual({ promptTokens: PROMPT_LIMIT, completionTokens: 50 });
    const long = 'x'.repeat(10_000);
    expect(usageLimits(chat({ messages: [{ role: 'user', content: long }] }), deployment()).promptTokens).toBe(4 * (10_000 + 16));
  });

  it('bounds the completion by what was asked for, the deployment, the model, else the default, times n', () => {
    expect(usageLimits(chat({ max_completion_tokens: 30, max_tokens: 99 }), deployment()).completionTokens).toBe(30);
    expect(usageLimits(chat({ max_tokens: 10, n: 3 }), deployment()).completionTokens).toBe(30);
    expect(usageLimits(chat({}), deployment({ defaultParams: { max_tokens: 70 } })).completionTokens).toBe(70);
    expect(usageLimits(chat({}), deployment({ modelInfo: { max_output_tokens: 8192 } })).completionTokens).toBe(8192);
    expect(usageLimits(chat({}), deployment()).completionTokens).toBe(DEFAULT_OUTPUT_TOKEN_LIMIT);
    expect(usageLimits(chat({ max_tokens: 100, reasoning_effort: 'high' }), deployment()).completionTokens).toBe(100 + REASONING_ALLOWANCE);
    expect(usageLimits({ kind: 'embeddings', body: { input: 'abc' } }, deployment()).completionTokens).toBe(0);
  });

  it('gives images their allowance and inline files their size; server-side reads get the input window', () => {
    const image = chat({ messages: [{ role: 'user', content: [{ type: 'text', text: 'what is it' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] });
    expect(usageLimits(image, deployment()).promptTokens).toBeGreaterThan(4 * 3_000);
    const data = 'A'.repeat(400_000);
    const inline = chat({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: `data:application/pdf;base64,${data}` } }] }] });
    expect(usageLimits(inline, deployment()).promptTokens).toBeGreaterThan(4 * 400_000);
    const byId = chat({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] });
    expect(usageLimits(byId, deployment({ modelInfo: { max_input_tokens: 200_000 } })).promptTokens).toBe(200_000);
    expect(usageLimits(chat({ web_search_options: {} }), deployment()).promptTokens).toBe(2_000_000);
    // A Gemini context cache: the cached context is read (and billed) again on every call.
    const cached = { kind: 'chat' as const, relayed: true, body: { native: { contents: [{ parts: [{ text: 'and then?' }] }], cachedContent: 'cachedContents/abc' } } };
    expect(usageLimits(cached, deployment({ modelInfo: { max_input_tokens: 1_048_576 } }), 100_000).promptTokens).toBe(1_048_576);
  });
});

describe('usage limits of legacy completions and image edits', () => {
  const prompts = Array.from({ length: 50 }, (_, index) => `Say hi ${index}`);

  it('a prompt array: every prompt\'s completions, each up to max_tokens, and every prompt in the prompt bound', () => {
    const limits = usageLimits({ kind: 'completion', body: { model: 'm', prompt: prompts, max_tokens: 100 } }, deployment());
    expect(limits.completionTokens).toBe(50 * 100);
    // What OpenAI bills for it: each prompt's tokens once, 100 completion tokens per prompt.
    expect(exceedsLimits({ promptTokens: 50 * 5, completionTokens: 5000, totalTokens: 5250 }, limits)).toBe(false);
    const tokenArrays = usageLimits({ kind: 'completion', body: { model: 'm', prompt: Array.from({ length: 8 }, () => [1, 2, 3]), max_tokens: 16, n: 2 } }, deployment());
    expect(tokenArrays.completionTokens).toBe(8 * 2 * 16);
  });

  it('best_of: the completions generated, not only the n returned', () => {
    const limits = usageLimits({ kind: 'completion', body: { model: 'm', prompt: 'Say hi', max_tokens: 100, best_of: 20 } }, deployment());
    expect(limits.completionTokens).toBe(2000);
    expect(exceedsLimits({ promptTokens: 3, completionTokens: 2000, totalTokens: 2003 }, limits)).toBe(false);
    expect(usageLimits({ kind: 'completion', body: { model: 'm', prompt: prompts, max_tokens: 10, n: 2, best_of: 4 } }, deployment()).completionTokens).toBe(50 * 4 * 10);
  });

  it('the relayed /openai/v1/completions: the prompts of the client\'s body', () => {
    const relayed = { kind: 'completion' as const, relayed: true, body: { model: 'm', native: { model: 'm', prompt: prompts, max_tokens: 100, best_of: 2 }, max_tokens: 100, n: 2 } };
    expect(usageLimits(relayed, deployment()).completionTokens).toBe(50 * 2 * 100);
  });

  it('a gpt-image-1 edit: the images sent are in the prompt bound, at their worst case (input_fidelity high)', () => {
    // As the route builds it: the form fields, n images to make, (n + images sent) × 6,240 tokens of max_tokens.
    const edit = (images: number, fields: Record<string, unknown> = {}) => ({
      kind: 'completion' as const,
      relayed: true,
      body: { model: 'gpt-image-1', native: { model: 'gpt-image-1', prompt: 'a gift basket of these', ...fields }, units: { images: 1, imageVariant: 'auto/auto' }, max_tokens: (1 + images) * 6_240 },
    });
    const sixteen = usageLimits(edit(16, { input_fidelity: 'high' }), deployment());
    expect(sixteen.promptTokens).toBeGreaterThanOrEqual(16 * MAX_INPUT_IMAGE_TOKENS);
    // What OpenAI bills for 16 images: 323 each (4,160 more each with high input fidelity), plus the text.
    expect(exceedsLimits({ promptTokens: 20 + 16 * 323, completionTokens: 1056, totalTokens: 20 + 16 * 323 + 1056 }, usageLimits(edit(16), deployment()))).toBe(false);
    expect(exceedsLimits({ promptTokens: 20 + 16 * (323 + 4_160), completionTokens: 1056, totalTokens: 20 + 16 * 4_483 + 1056 }, sixteen)).toBe(false);
    expect(exceedsLimits({ promptTokens: 20 + 16 * (581 + 6_240), completionTokens: 1056 }, sixteen)).toBe(false);
    // An image generation sends none: its bound is its prompt's.
    const generation = { kind: 'completion' as const, relayed: true, body: { model: 'gpt-image-1', native: { model: 'gpt-image-1', prompt: 'a lighthouse', n: 2 }, units: { images: 2 }, max_tokens: 2 * 6_240 } };
    expect(usageLimits(generation, deployment()).promptTokens).toBeLessThan(2_000);
    // A route that names the images sent.
    expect(usageLimits({ ...generation, body: { ...generation.body, units: { images: 2, inputImages: 3 } } }, deployment()).promptTokens).toBeGreaterThanOrEqual(3 * MAX_INPUT_IMAGE_TOKENS);
  });
});

describe('bounded usage', () => {
  const limits = { promptTokens: PROMPT_LIMIT, completionTokens: 50 };
  const local = { promptTokens: 9, completionTokens: 12 };

  it('keeps plausible usage as reported, including partial usage', () => {
    const honest = { promptTokens: 1027, completionTokens: 50, totalTokens: 1077, cachedTokens: 1000, reasoningTokens: 40 };
    expect(exceedsLimits(honest, limits)).toBe(false);
    expect(boundUsage(honest, limits, local)).toEqual({ usage: honest, adjusted: [] });
    expect(exceedsLimits({ completionTokens: 7 }, limits)).toBe(false);
    // A total a little above prompt + completion is some providers' way of counting: kept.
    expect(exceedsLimits({ promptTokens: 10, completionTokens: 5, totalTokens: 20 }, limits)).toBe(false);
  });

  it('replaces counts beyond the limits with the local count and keeps the rest consistent', () => {
    const absurd = { promptTokens: 1e15, completionTokens: 1e15, totalTokens: 2e15, cachedTokens: 1e15, reasoningTokens: 1e15 };
    expect(exceedsLimits(absurd, limits)).toBe(true);
    expect(boundUsage(absurd, limits, local)).toEqual({
      usage: { promptTokens: 9, completionTokens: 12, totalTokens: 21, cachedTokens: 9, reasoningTokens: 12 },
      adjusted: ['prompt_tokens', 'completion_tokens', 'cached_tokens', 'reasoning_tokens', 'total_tokens'],
    });
    // Only the completion is absurd: the prompt stays as reported.
    expect(boundUsage({ promptTokens: 20, completionTokens: 51, totalTokens: 71 }, limits, local)).toEqual({ usage: { promptTokens: 20, completionTokens: 12, totalTokens: 32 }, adjusted: ['completion_tokens', 'total_tokens'] });
    // The local count never goes past the limit either.
    expect(boundUsage({ completionTokens: 1e9 }, limits, { promptTokens: 0, completionTokens: 80 }).usage.completionTokens).toBe(50);
  });

  it('treats fractions, negatives and a lone absurd total or cached count as implausible', () => {
    expect(exceedsLimits({ promptTokens: 10.5, completionTokens: 1 }, limits)).toBe(true);
    expect(boundUsage({ promptTokens: -3, completionTokens: 1 }, limits, local).usage.promptTokens).toBe(9);
    expect(boundUsage({ promptTokens: 10, completionTokens: 5, totalTokens: 1e15 }, limits, local)).toEqual({ usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 }, adjusted: ['total_tokens'] });
    expect(boundUsage({ promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 11, cacheCreationTokens: 3 }, limits, local)).toEqual({
      usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 10, cacheCreationTokens: 0 },
      adjusted: ['cached_tokens', 'cache_creation_tokens'],
    });
  });
});

describe('bounded media units', () => {
  const KEYS = ['images', 'inputImages', 'inputSeconds', 'outputSeconds', 'inputCharacters', 'queries'] as const;
  const ODD = [-1, -100_000, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e300, 0, 0.5, 3, 60, 1_000_000];

  it('never bills a unit count that is negative, not finite, or above what the request could produce (random reports)', () => {
    const random = seededRandom(42);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
    for (let round = 0; round < 5_000; round++) {
      const reported: MediaUnits = {};
      const bound: MediaUnits = {};
      for (const key of KEYS) {
        if (random() < 0.6) reported[key] = pick(ODD);
        if (random() < 0.6) bound[key] = pick([0, 1, 4, 30, 1_000]);
      }
      const given = random() < 0.2 ? undefined : bound;
      const usage = boundUnits({ promptTokens: 0, completionTokens: 0, totalTokens: 0, units: reported }, given);
      for (const key of KEYS) {
        const value = usage!.units![key];
        if (reported[key] === undefined) {
          expect(value).toBeUndefined();
          continue;
        }
        expect(Number.isFinite(value) && value! >= 0, `${key}: ${reported[key]} → ${value}`).toBe(true);
        if (given?.[key] !== undefined) expect(value).toBeLessThanOrEqual(given[key]!);
      }
    }
  });

  it('replaces a count that is no count by the request\'s own, holds one above it, keeps an honest one', () => {
    const usage = (units: MediaUnits) => ({ promptTokens: 0, completionTokens: 0, totalTokens: 0, units });
    expect(boundUnits(usage({ inputSeconds: -100_000 }), { inputSeconds: 12 })!.units).toEqual({ inputSeconds: 12 });
    expect(boundUnits(usage({ queries: Number.POSITIVE_INFINITY }), undefined)!.units).toEqual({ queries: 0 });
    expect(boundUnits(usage({ images: 50 }), { images: 2 })!.units).toEqual({ images: 2 });
    expect(boundUnits(usage({ inputSeconds: 7.5 }), { inputSeconds: 12 })!.units).toEqual({ inputSeconds: 7.5 });
  });
});
