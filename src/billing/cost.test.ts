/**
 * Token kinds and tiers billed at their own rates: Anthropic 1-hour cache writes (2× input),
 * gpt-image-1 image input tokens ($10/M beside $5/M text), audio input tokens (Gemini 2.0 Flash:
 * $0.70/M beside $0.10/M text), and long-context tiers (Gemini 2.5 Pro above 200k prompt tokens:
 * the whole call at $2.50 / $15). Each from the built-in table and from
 * LiteLLM's model_info keys; the reservation stays an upper bound and the usage bounds hold the
 * new subset counts to their parents.
 */
import { describe, expect, it } from 'vitest';
import type { Deployment, Usage } from '../providers/types.js';
import { mergeAnthropicUsage, openAIUsageFromAnthropic, usageFromAnthropic } from '../providers/anthropic/usage.js';
import { usageFromOpenAI } from '../providers/shared/usage.js';
import { usageFromResponses } from '../providers/shared/openai-responses-native.js';
import { costMicros } from './cost.js';
import { dearestInputPrice, dearestOutputPrice, maxCostMicros, mayCarryAudio, mayProduceImages, promptTokenBound } from './max-cost.js';
import { builtInPrices, resolvePrices } from './pricing.js';
import { reservationPlan } from './reservation-plan.js';
import { boundUsage, exceedsLimits } from './usage-bounds.js';

const sonnet = () => builtInPrices('claude-sonnet-4-5-20250929', 'anthropic')!;

describe('Anthropic 1-hour cache writes', () => {
  it('are billed at 2× the input price, 5-minute writes at 1.25× (Sonnet 4.5: $6 and $3.75 per 1M)', () => {
    // The probe's call: 100,026 tokens written for an hour, 20 uncached, 50 out: $0.600966 at Anthropic.
    const usage = usageFromAnthropic({ input_tokens: 20, cache_creation_input_tokens: 100_026, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 100_026 }, output_tokens: 50 });
    expect(usage).toMatchObject({ promptTokens: 100_046, cacheCreationTokens: 100_026, cacheCreation1hTokens: 100_026 });
    expect(costMicros(usage, sonnet())).toBe(600_966);
    // Mixed lifetimes in one call: 1,000 for five minutes, 2,000 for an hour.
    const mixed = usageFromAnthropic({ input_tokens: 10, cache_creation_input_tokens: 3_000, cache_creation: { ephemeral_5m_input_tokens: 1_000, ephemeral_1h_input_tokens: 2_000 }, output_tokens: 0 });
    expect(costMicros(mixed, sonnet())).toBe(10 * 3 + 1_000 * 3.75 + 2_000 * 6);
    // Without the split every write is a 5-minute one, as before.
    expect(costMicros(usageFromAnthropic({ input_tokens: 0, cache_creation_input_tokens: 1_000, output_tokens: 0 }), sonnet())).toBe(3_750);
  });

  it('a breakdown larger than the reported total bills the breakdown', () => {
    const usage = usageFromAnthropic({ input_tokens: 0, cache_creation_input_tokens: 10, cache_creation: { ephemeral_1h_input_tokens: 1_000 }, output_tokens: 0 });
    expect(usage).toMatchObject({ promptTokens: 1_000, cacheCreationTokens: 1_000, cacheCreation1hTokens: 1_000 });
    expect(costMicros(usage, sonnet())).toBe(6_000);
  });

  it('the stream keeps message_start\'s split when message_delta omits it, and takes message_delta\'s when it has one', () => {
    const start = { input_tokens: 5, cache_creation_input_tokens: 400, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 400 }, output_tokens: 1 };
    expect(usageFromAnthropic(mergeAnthropicUsage(start, { output_tokens: 30 }))).toMatchObject({ cacheCreationTokens: 400, cacheCreation1hTokens: 400, completionTokens: 30 });
    expect(usageFromAnthropic(mergeAnthropicUsage(start, { output_tokens: 30, cache_creation_input_tokens: 500, cache_creation: { ephemeral_1h_input_tokens: 500 } }))).toMatchObject({ cacheCreationTokens: 500, cacheCreation1hTokens: 500 });
  });

  it('survive the OpenAI usage shape (LiteLLM\'s prompt_tokens_details.cache_creation_token_details) on the chat path', () => {
    const openai = openAIUsageFromAnthropic({ input_tokens: 20, cache_creation_input_tokens: 3_000, cache_creation: { ephemeral_5m_input_tokens: 1_000, ephemeral_1h_input_tokens: 2_000 }, output_tokens: 50 });
    expect(openai.prompt_tokens_details).toMatchObject({ cache_creation_tokens: 3_000, cache_creation_token_details: { ephemeral_5m_input_tokens: 1_000, ephemeral_1h_input_tokens: 2_000 } });
    expect(usageFromOpenAI(openai)).toMatchObject({ promptTokens: 3_020, cacheCreationTokens: 3_000, cacheCreation1hTokens: 2_000 });
  });

  it('Claude via Bedrock and Vertex, and a configured input price, get the 2× rate; cache_creation_input_token_cost_above_1hr overrides it', () => {
    expect(builtInPrices('us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'bedrock')?.cacheWrite1hPerToken).toBe(6_000_000);
    expect(builtInPrices('claude-opus-4-1@20250805', 'vertex_ai')?.cacheWrite1hPerToken).toBe(30_000_000);
    expect(builtInPrices('claude-3-haiku-20240307')?.cacheWrite1hPerToken).toBe(500_000);
    expect(resolvePrices('claude-sonnet-4-5', {}, { input_cost_per_token: 0.000004, output_cost_per_token: 0.00002 }, false, 'anthropic')?.cacheWrite1hPerToken).toBe(8_000_000);
    expect(resolvePrices('claude-sonnet-4-5', { cache_creation_input_token_cost_above_1hr: 0.000007 }, {}, false, 'anthropic')?.cacheWrite1hPerToken).toBe(7_000_000);
    // Other models have no 1-hour rate of their own: a write falls back to the cache write rate.
    expect(builtInPrices('gpt-4o')?.cacheWrite1hPerToken).toBeUndefined();
  });

  it('the reservation prices every prompt token at the 1-hour write rate', () => {
    expect(dearestInputPrice(sonnet(), 1_000)).toBe(6_000_000);
    // A prompt that may be above 200k tokens: the long-context 1-hour rate (2× $6).
    expect(dearestInputPrice(sonnet(), 300_000)).toBe(12_000_000);
  });

  it('the usage bounds hold the 1-hour part to the cache writes', () => {
    const limits = { promptTokens: 10_000, completionTokens: 1_000 };
    const usage: Usage = { promptTokens: 1_000, completionTokens: 10, cacheCreationTokens: 500, cacheCreation1hTokens: 900 };
    expect(exceedsLimits(usage, limits)).toBe(true);
    const bounded = boundUsage(usage, limits, { promptTokens: 1_000, completionTokens: 10 });
    expect(bounded.usage.cacheCreation1hTokens).toBe(500);
    expect(bounded.adjusted).toContain('cache_creation_1h_tokens');
    expect(exceedsLimits({ ...usage, cacheCreation1hTokens: 500 }, limits)).toBe(false);
  });
});

describe('gpt-image-1 image input tokens', () => {
  it('are billed at $10/M beside $5/M text (gpt-image-1-mini: $2.50 beside $2, output $8)', () => {
    const usage = usageFromResponses({ input_tokens: 1_312, output_tokens: 1_056, total_tokens: 2_368, input_tokens_details: { text_tokens: 20, image_tokens: 1_292 } })!;
    expect(usage).toMatchObject({ promptTokens: 1_312, imageInputTokens: 1_292 });
    expect(costMicros(usage, builtInPrices('gpt-image-1', 'openai'))).toBe(Math.round(20 * 5 + 1_292 * 10 + 1_056 * 40));
    expect(costMicros(usage, builtInPrices('gpt-image-1-mini', 'openai'))).toBe(Math.round(20 * 2 + 1_292 * 2.5 + 1_056 * 8));
  });

  it('an input count below its parts bills the parts', () => {
    const usage = usageFromResponses({ input_tokens: 10, output_tokens: 0, input_tokens_details: { text_tokens: 20, image_tokens: 1_000 } })!;
    expect(usage).toMatchObject({ promptTokens: 1_020, imageInputTokens: 1_000 });
  });

  it('input_cost_per_image_token overrides the built-in rate, also with configured token prices; the reservation takes the image rate', () => {
    expect(resolvePrices('gpt-image-1', { input_cost_per_image_token: 0.000012 }, {}, false, 'openai')?.imageInputPerToken).toBe(12_000_000);
    expect(resolvePrices('my-image', { input_cost_per_token: 0.000005, output_cost_per_token: 0.00004, input_cost_per_image_token: 0.00001 }, {}, false, 'openai')?.imageInputPerToken).toBe(10_000_000);
    expect(dearestInputPrice(builtInPrices('gpt-image-1')!)).toBe(10_000_000);
  });

  it('the usage bounds hold image input tokens to the prompt', () => {
    const limits = { promptTokens: 10_000, completionTokens: 10_000 };
    const usage: Usage = { promptTokens: 100, completionTokens: 10, imageInputTokens: 5_000 };
    expect(exceedsLimits(usage, limits)).toBe(true);
    expect(boundUsage(usage, limits, { promptTokens: 100, completionTokens: 10 }).usage.imageInputTokens).toBe(100);
  });
});

describe('long-context tiers', () => {
  const pro = () => builtInPrices('gemini-2.5-pro', 'gemini')!;

  it('Gemini 2.5 Pro bills a prompt above 200k tokens at $2.50 / $15 for the whole call, up to 200k at $1.25 / $10', () => {
    expect(costMicros({ promptTokens: 250_033, completionTokens: 50 }, pro())).toBe(Math.round(250_033 * 2.5 + 50 * 15));
    expect(costMicros({ promptTokens: 200_000, completionTokens: 50 }, pro())).toBe(Math.round(200_000 * 1.25 + 50 * 10));
    // Cached tokens of a long prompt at the long cache rate ($0.625).
    expect(costMicros({ promptTokens: 300_000, cachedTokens: 100_000, completionTokens: 0 }, pro())).toBe(Math.round(200_000 * 2.5 + 100_000 * 0.625));
  });

  it('the other tiered models of the table: Gemini 1.5 above 128k, Claude Sonnet 4 / 4.5 above 200k (1M context)', () => {
    expect(costMicros({ promptTokens: 130_000, completionTokens: 100 }, builtInPrices('gemini-1.5-pro-002'))).toBe(Math.round(130_000 * 2.5 + 100 * 10));
    expect(costMicros({ promptTokens: 130_000, completionTokens: 100 }, builtInPrices('gemini-1.5-flash'))).toBe(Math.round(130_000 * 0.15 + 100 * 0.6));
    // Sonnet 4.5 above 200k: $6 input, $22.50 output, 1-hour writes at 2× the long input ($12).
    const long = usageFromAnthropic({ input_tokens: 200_000, cache_creation_input_tokens: 50_000, cache_creation: { ephemeral_1h_input_tokens: 50_000 }, output_tokens: 100 });
    expect(costMicros(long, sonnet())).toBe(Math.round(200_000 * 6 + 50_000 * 12 + 100 * 22.5));
    expect(costMicros({ promptTokens: 201_000, completionTokens: 0 }, builtInPrices('claude-sonnet-4-20250514'))).toBe(201_000 * 6);
  });

  it('LiteLLM\'s *_above_200k_tokens keys override the tier, and give one to a configured price', () => {
    const overridden = resolvePrices('gemini-2.5-pro', { input_cost_per_token_above_200k_tokens: 0.000003 }, {}, false, 'gemini')!;
    expect(overridden.longContext).toMatchObject({ aboveTokens: 200_000, inputPerToken: 3_000_000, outputPerToken: 15_000_000, cacheReadPerToken: 625_000 });
    const configured = resolvePrices('my-model', { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, input_cost_per_token_above_200k_tokens: 0.000002, output_cost_per_token_above_200k_tokens: 0.000004, cache_read_input_token_cost_above_200k_tokens: 0.0000005 }, {}, false, 'openai')!;
    expect(configured.longContext).toEqual({ aboveTokens: 200_000, inputPerToken: 2_000_000, outputPerToken: 4_000_000, cacheReadPerToken: 500_000 });
    expect(costMicros({ promptTokens: 250_000, completionTokens: 1_000 }, configured)).toBe(250_000 * 2 + 1_000 * 4);
    expect(resolvePrices('gemini-1.5-pro', { input_cost_per_token_above_128k_tokens: 0.000003 }, {}, false, 'gemini')?.longContext).toMatchObject({ aboveTokens: 128_000, inputPerToken: 3_000_000, outputPerToken: 10_000_000 });
  });

  it('the reservation takes the long rates when the prompt bound is above the threshold, the base ones when it cannot be', () => {
    expect(dearestInputPrice(pro(), 150_000)).toBe(1_250_000);
    expect(dearestOutputPrice(pro(), 150_000)).toBe(10_000_000);
    expect(dearestInputPrice(pro(), 250_000)).toBe(2_500_000);
    expect(dearestOutputPrice(pro(), 250_000)).toBe(15_000_000);
    const deployment = { prices: pro(), mediaPrices: undefined, defaultParams: {}, modelInfo: {} } as unknown as Deployment;
    const body = { model: 'gemini', messages: [{ role: 'user', content: 'x'.repeat(1_000_000) }], max_tokens: 100 };
    const reserved = maxCostMicros({ kind: 'chat', body }, [deployment]);
    // The provider's bill for the most the prompt can be is within the reservation.
    expect(reserved).toBeGreaterThanOrEqual(costMicros({ promptTokens: 1_000_000, completionTokens: 100 }, pro())!);
  });
});

describe('audio input tokens', () => {
  const flash = () => builtInPrices('gemini-2.0-flash', 'gemini')!;
  const deployment = (prices = flash()) => ({ prices, mediaPrices: undefined, defaultParams: {}, modelInfo: {} }) as unknown as Deployment;
  const audioPart = { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } };

  it('built in where Google bills audio above text: Gemini API and Vertex AI', () => {
    // USD per 1M = micro-dollars per token = 1e6 pico-dollars per token.
    expect(flash()).toMatchObject({ inputPerToken: 100_000, audioInputPerToken: 700_000 });
    expect(builtInPrices('gemini-2.0-flash-001', 'gemini')?.audioInputPerToken).toBe(700_000);
    expect(builtInPrices('gemini-2.5-flash', 'gemini')).toMatchObject({ inputPerToken: 300_000, audioInputPerToken: 1_000_000 });
    expect(builtInPrices('gemini-2.5-flash-lite', 'gemini')).toMatchObject({ inputPerToken: 100_000, audioInputPerToken: 300_000 });
    expect(builtInPrices('gemini-2.0-flash-001', 'vertex_ai')).toMatchObject({ inputPerToken: 150_000, audioInputPerToken: 1_000_000 });
    expect(builtInPrices('gemini-2.5-flash', 'vertex_ai')?.audioInputPerToken).toBe(1_000_000);
    // Every modality at one price: no audio rate.
    for (const model of ['gemini-2.0-flash-lite', 'gemini-2.5-pro', 'gemini-1.5-flash', 'gpt-4o']) expect(builtInPrices(model, 'gemini')?.audioInputPerToken).toBeUndefined();
  });

  it('are billed at the audio rate, as a part of the uncached prompt (cached tokens at the cache rate)', () => {
    const usage: Usage = { promptTokens: 1_010, completionTokens: 20, audioInputTokens: 1_000 };
    // gemini-2.0-flash: 10 × $0.10 + 1,000 × $0.70 + 20 × $0.40 per 1M = 709 micro-dollars (was 109).
    expect(costMicros(usage, flash())).toBe(Math.round(10 * 0.1 + 1_000 * 0.7 + 20 * 0.4));
    expect(costMicros({ ...usage, audioInputTokens: undefined }, flash())).toBe(Math.round(1_010 * 0.1 + 20 * 0.4));
    // Never more audio than the uncached prompt holds.
    expect(costMicros({ promptTokens: 1_000, completionTokens: 0, cachedTokens: 900, audioInputTokens: 1_000 }, flash())).toBe(Math.round(900 * 0.025 + 100 * 0.7));
    // A deployment without an audio rate bills audio at the input rate.
    expect(costMicros(usage, builtInPrices('gemini-2.0-flash-lite', 'gemini'))).toBe(Math.round(1_010 * 0.075 + 20 * 0.3));
  });

  it('OpenAI reports them in prompt_tokens_details.audio_tokens; input_cost_per_audio_token prices them', () => {
    const usage = usageFromOpenAI({ prompt_tokens: 1_200, completion_tokens: 30, total_tokens: 1_230, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 1_000 } })!;
    expect(usage).toMatchObject({ promptTokens: 1_200, audioInputTokens: 1_000 });
    expect(usageFromOpenAI({ prompt_tokens: 5, completion_tokens: 1, prompt_tokens_details: { audio_tokens: 0 } })).not.toHaveProperty('audioInputTokens');
    // gpt-4o-audio-preview as LiteLLM's table prices it: $2.50 text, $40 audio in, $10 out.
    const prices = resolvePrices('gpt-4o-audio-preview', { input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001, input_cost_per_audio_token: 0.00004 }, {}, false, 'openai')!;
    expect(prices.audioInputPerToken).toBe(40_000_000);
    expect(costMicros(usage, prices)).toBe(Math.round(200 * 2.5 + 1_000 * 40 + 30 * 10));
    // It overrides the built-in rate too.
    expect(resolvePrices('gemini-2.0-flash', { input_cost_per_audio_token: 0.000002 }, {}, false, 'gemini')?.audioInputPerToken).toBe(2_000_000);
  });

  it('the usage bounds hold audio input tokens to the prompt', () => {
    const limits = { promptTokens: 10_000, completionTokens: 10_000 };
    const usage: Usage = { promptTokens: 100, completionTokens: 10, audioInputTokens: 5_000 };
    expect(exceedsLimits(usage, limits)).toBe(true);
    const bounded = boundUsage(usage, limits, { promptTokens: 100, completionTokens: 10 });
    expect(bounded.usage.audioInputTokens).toBe(100);
    expect(bounded.adjusted).toContain('audio_input_tokens');
  });

  it('which requests may carry audio: anything but text and images, in chat parts or native Gemini parts', () => {
    const chat = (content: unknown) => ({ kind: 'chat' as const, body: { model: 'm', messages: [{ role: 'user', content }] } });
    expect(mayCarryAudio(chat('hello'))).toBe(false);
    expect(mayCarryAudio(chat([{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }, { type: 'image_url', image_url: { url: 'https://example.com/cat.JPG?size=2' } }]))).toBe(false);
    expect(mayCarryAudio(chat([audioPart]))).toBe(true);
    expect(mayCarryAudio(chat([{ type: 'file', file: { file_data: 'data:audio/mpeg;base64,AAAA' } }]))).toBe(true);
    expect(mayCarryAudio(chat([{ type: 'image_url', image_url: { url: 'data:audio/wav;base64,AAAA' } }]))).toBe(true);
    expect(mayCarryAudio(chat([{ type: 'image_url', image_url: { url: 'https://www.youtube.com/watch?v=abc' } }]))).toBe(true);
    // An assistant turn that was spoken is read again as audio.
    expect(mayCarryAudio({ kind: 'chat', body: { model: 'm', messages: [{ role: 'assistant', content: null, audio: { id: 'audio_1' } }] } })).toBe(true);
    // A schema that merely names audio is text.
    expect(mayCarryAudio({ kind: 'chat', body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { schema: { properties: { audio: { type: 'string' } } } } } } })).toBe(false);
    // A relayed Gemini body: any inlineData / fileData not declared an image.
    const native = (parts: unknown[]) => ({ kind: 'completion' as const, relayed: true, body: { model: 'm', native: { contents: [{ role: 'user', parts }] } } });
    expect(mayCarryAudio(native([{ text: 'hi' }]))).toBe(false);
    expect(mayCarryAudio(native([{ inlineData: { mimeType: 'image/png', data: 'AAAA' } }]))).toBe(false);
    expect(mayCarryAudio(native([{ inlineData: { mimeType: 'audio/wav', data: 'AAAA' } }]))).toBe(true);
    expect(mayCarryAudio(native([{ inline_data: { mime_type: 'video/mp4', data: 'AAAA' } }]))).toBe(true);
    expect(mayCarryAudio(native([{ fileData: { fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/x' } }]))).toBe(true);
    // A deeply nested body is walked without recursion.
    let deep: unknown = { inlineData: { mimeType: 'audio/ogg', data: 'AAAA' } };
    for (let depth = 0; depth < 100_000; depth++) deep = [deep];
    expect(mayCarryAudio({ kind: 'completion', relayed: true, body: { native: deep } })).toBe(true);
  });

  it('the reservation prices the prompt at the audio rate only when the request may carry audio', () => {
    expect(dearestInputPrice(flash())).toBe(700_000);
    expect(dearestInputPrice(flash(), 1_000, false)).toBe(100_000);
    const text = { kind: 'chat' as const, body: { model: 'm', messages: [{ role: 'user', content: 'x'.repeat(10_000) }], max_tokens: 100 } };
    const spoken = { kind: 'chat' as const, body: { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(10_000) }, audioPart] }], max_tokens: 100 } };
    const textPrompt = 10_000 + 16;
    // Text only: the text rate, as before the audio rate existed.
    expect(maxCostMicros(text, [deployment()])).toBe(Math.ceil((textPrompt * 100_000 + 100 * 400_000) / 1e6));
    expect(maxCostMicros(text, [deployment()])).toBe(maxCostMicros(text, [deployment({ ...flash(), audioInputPerToken: undefined })]));
    // With audio: every prompt token the bound counts at the audio rate.
    const spokenPrompt = promptTokenBound(spoken);
    expect(maxCostMicros(spoken, [deployment()])).toBe(Math.ceil((spokenPrompt * 700_000 + 100 * 400_000) / 1e6));
    expect(reservationPlan(spoken, [deployment()]).costMicros()).toBe(maxCostMicros(spoken, [deployment()]));
    expect(reservationPlan({ ...text, body: { ...text.body, max_tokens: undefined } }, [deployment()]).costMicros(100)).toBe(Math.ceil((textPrompt * 100_000 + 100 * 400_000) / 1e6));
    expect(reservationPlan({ ...spoken, body: { ...spoken.body, max_tokens: undefined } }, [deployment()]).costMicros(100)).toBe(Math.ceil((spokenPrompt * 700_000 + 100 * 400_000) / 1e6));
  });
});

describe('image output tokens', () => {
  // gemini-2.5-flash-image (Google's pricing page; LiteLLM's table): $0.30 in, $2.50 text out, $30 image out.
  const image = () => builtInPrices('gemini-2.5-flash-image', 'gemini')!;
  const deployment = (prices: Deployment['prices'] = image(), upstreamModel = 'gemini-2.5-flash-image') => ({ prices, upstreamModel, mediaPrices: undefined, defaultParams: {}, modelInfo: {} }) as unknown as Deployment;

  it('built in for Gemini\'s image-generating models, Gemini API and Vertex AI; none elsewhere', () => {
    expect(image()).toMatchObject({ inputPerToken: 300_000, outputPerToken: 2_500_000, imageOutputPerToken: 30_000_000 });
    expect(builtInPrices('gemini-2.5-flash-image-preview', 'gemini')?.imageOutputPerToken).toBe(30_000_000);
    expect(builtInPrices('gemini-2.5-flash-image', 'vertex_ai')?.imageOutputPerToken).toBe(30_000_000);
    expect(builtInPrices('gemini-2.0-flash-preview-image-generation', 'gemini')).toMatchObject({ inputPerToken: 100_000, outputPerToken: 400_000, imageOutputPerToken: 30_000_000 });
    for (const model of ['gemini-2.5-flash', 'gemini-2.0-flash', 'gpt-image-1']) expect(builtInPrices(model, 'gemini')?.imageOutputPerToken).toBeUndefined();
  });

  it('are billed at the image rate, the rest of the completion at the output rate (1,290 tokens per 1024×1024 image = $0.039)', () => {
    const usage: Usage = { promptTokens: 10, completionTokens: 1_290 + 20, imageOutputTokens: 1_290 };
    expect(costMicros(usage, image())).toBe(Math.round(10 * 0.3 + 20 * 2.5 + 1_290 * 30));
    expect(costMicros({ promptTokens: 0, completionTokens: 1_290, imageOutputTokens: 1_290 }, image())).toBe(38_700);
    // Never more image output than the completion holds.
    expect(costMicros({ promptTokens: 0, completionTokens: 100, imageOutputTokens: 5_000 }, image())).toBe(100 * 30);
    // A deployment without an image output rate bills them at the output rate.
    expect(costMicros(usage, { ...image(), imageOutputPerToken: undefined })).toBe(Math.round(10 * 0.3 + 1_310 * 2.5));
  });

  it('model_info.output_cost_per_image_token prices them, over the built-in rate or beside configured ones', () => {
    expect(resolvePrices('gemini-2.5-flash-image', { output_cost_per_image_token: 0.00006 }, {}, false, 'gemini')?.imageOutputPerToken).toBe(60_000_000);
    const configured = resolvePrices('my-image-model', { input_cost_per_token: 0.0000003, output_cost_per_token: 0.0000025, output_cost_per_image_token: 0.00003 }, {}, false, 'openai')!;
    expect(configured).toMatchObject({ outputPerToken: 2_500_000, imageOutputPerToken: 30_000_000 });
  });

  it('OpenAI usage carries them as completion_tokens_details.image_tokens', () => {
    expect(usageFromOpenAI({ prompt_tokens: 10, completion_tokens: 1_310, completion_tokens_details: { reasoning_tokens: 0, image_tokens: 1_290 } })).toMatchObject({ completionTokens: 1_310, imageOutputTokens: 1_290 });
    expect(usageFromOpenAI({ prompt_tokens: 10, completion_tokens: 5, completion_tokens_details: { image_tokens: 0 } })).not.toHaveProperty('imageOutputTokens');
  });

  it('the usage bounds hold image output tokens to the completion', () => {
    const limits = { promptTokens: 1_000, completionTokens: 2_000 };
    const usage: Usage = { promptTokens: 10, completionTokens: 100, imageOutputTokens: 1_290 };
    expect(exceedsLimits(usage, limits)).toBe(true);
    const bounded = boundUsage(usage, limits, { promptTokens: 10, completionTokens: 100 });
    expect(bounded.usage.imageOutputTokens).toBe(100);
    expect(bounded.adjusted).toContain('image_output_tokens');
    expect(exceedsLimits({ ...usage, imageOutputTokens: 90 }, limits)).toBe(false);
  });

  it('which calls may produce images: an image-generating model, or a request naming IMAGE among its response modalities', () => {
    const chat = { kind: 'chat' as const, body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } };
    const native = (generationConfig: unknown) => ({ kind: 'completion' as const, relayed: true, body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig } });
    expect(mayProduceImages(chat, deployment())).toBe(true);
    expect(mayProduceImages(chat, deployment(image(), 'gemini-2.0-flash-preview-image-generation'))).toBe(true);
    // No image output rate: nothing to price apart.
    expect(mayProduceImages(chat, deployment(builtInPrices('gemini-2.5-flash', 'gemini'), 'gemini-2.5-flash'))).toBe(false);
    // A model that is not named an image model, priced for images by the operator: only when the request asks.
    const other = deployment({ ...builtInPrices('gemini-2.5-flash', 'gemini')!, imageOutputPerToken: 30_000_000 }, 'gemini-2.5-flash');
    expect(mayProduceImages(chat, other)).toBe(false);
    expect(mayProduceImages(native({ responseModalities: ['TEXT'] }), other)).toBe(false);
    expect(mayProduceImages(native({ responseModalities: ['TEXT', 'IMAGE'] }), other)).toBe(true);
    expect(mayProduceImages({ ...native(undefined), body: { contents: [], generation_config: { response_modalities: ['image'] } } }, other)).toBe(true);
    expect(mayProduceImages({ ...chat, body: { ...chat.body, modalities: ['text', 'image'] } }, other)).toBe(true);
    // The Gemini-native route's request: the client's body is `native` (costInputOf).
    expect(mayProduceImages({ kind: 'completion', relayed: true, body: { model: 'm', native: { contents: [], generationConfig: { responseModalities: ['IMAGE'] } } } }, other)).toBe(true);
    expect(mayProduceImages({ kind: 'completion', relayed: true, body: { model: 'm', native: { contents: [], generationConfig: { responseModalities: ['TEXT'] } } } }, other)).toBe(false);
    // A prompt that merely mentions IMAGE is text.
    expect(mayProduceImages({ ...chat, body: { ...chat.body, messages: [{ role: 'user', content: 'IMAGE' }] } }, other)).toBe(false);
  });

  it('the reservation prices output at the image rate only when the call may produce images', () => {
    expect(dearestOutputPrice(image())).toBe(30_000_000);
    expect(dearestOutputPrice(image(), 1_000, false)).toBe(2_500_000);
    const text = { kind: 'chat' as const, body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 } };
    const prompt = promptTokenBound(text);
    // The image model: output at $30.
    expect(maxCostMicros(text, [deployment()])).toBe(Math.ceil((prompt * 300_000 + 100 * 30_000_000) / 1e6));
    expect(reservationPlan({ ...text, body: { ...text.body, max_tokens: undefined } }, [deployment()]).costMicros(100)).toBe(Math.ceil((prompt * 300_000 + 100 * 30_000_000) / 1e6));
    expect(reservationPlan({ ...text, body: { ...text.body, max_tokens: undefined } }, [deployment()]).affordableOutputTokens(Math.ceil((prompt * 300_000 + 100 * 30_000_000) / 1e6))).toBe(100);
    // Another model with an image rate, asked for text: the text rate, as before the image rate existed.
    const flash = builtInPrices('gemini-2.5-flash', 'gemini')!;
    const other = deployment({ ...flash, imageOutputPerToken: 30_000_000 }, 'gemini-2.5-flash');
    expect(maxCostMicros(text, [other])).toBe(maxCostMicros(text, [deployment(flash, 'gemini-2.5-flash')]));
    expect(maxCostMicros(text, [other])).toBe(Math.ceil((prompt * 300_000 + 100 * 2_500_000) / 1e6));
  });
});

describe('OpenAI priority tier answers', () => {
  const usage = { promptTokens: 10_000, completionTokens: 1_000, cachedTokens: 2_000 };

  it('gpt-4o at priority: $4.25 / $2.125 cached / $17 per 1M; at the default tier the standard rates', () => {
    const prices = builtInPrices('gpt-4o-2024-08-06', 'openai')!;
    expect(costMicros({ ...usage, serviceTier: 'priority' }, prices)).toBe(8_000 * 4.25 + 2_000 * 2.125 + 1_000 * 17);
    expect(costMicros(usage, prices)).toBe(8_000 * 2.5 + 2_000 * 1.25 + 1_000 * 10);
  });

  it('a model without priority rates is billed at twice every rate, its long-context tier included', () => {
    const prices = { inputPerToken: 1_000_000, outputPerToken: 4_000_000, cacheReadPerToken: 500_000, longContext: { aboveTokens: 5_000, inputPerToken: 3_000_000, outputPerToken: 6_000_000 } };
    expect(costMicros({ ...usage, serviceTier: 'priority' }, prices)).toBe(2 * (8_000 * 3 + 2_000 * 0.5 + 1_000 * 6));
  });

  it('bills a priority answer at priority rates only from a provider that sells that tier', async () => {
    const { callCostMicros } = await import('./cost.js');
    const prices = { inputPerToken: 1_000_000, outputPerToken: 2_000_000 };
    const usage = { promptTokens: 10, completionTokens: 5, serviceTier: 'priority' as const };
    expect(callCostMicros(usage, { provider: 'openai', prices, mediaPrices: undefined })).toBe(40);
    expect(callCostMicros(usage, { provider: 'azure', prices, mediaPrices: undefined })).toBe(40);
    // A self-hosted OpenAI-compatible server (or another vendor) saying "priority" is billed at standard rates.
    expect(callCostMicros(usage, { provider: 'hosted_vllm', prices, mediaPrices: undefined })).toBe(20);
    expect(callCostMicros(usage, { provider: 'groq', prices, mediaPrices: undefined })).toBe(20);
  });
});

describe('US-only inference (Anthropic usage.inference_geo)', () => {
  it('bills every token rate at 1.1×, stacking with the long-context tier', () => {
    const prices = { inputPerToken: 5_000_000, outputPerToken: 25_000_000, cacheReadPerToken: 500_000, longContext: { aboveTokens: 200_000, inputPerToken: 10_000_000, outputPerToken: 37_500_000 } };
    const usage = { promptTokens: 1_000, completionTokens: 1_000, totalTokens: 2_000, cachedTokens: 400 };
    expect(costMicros(usage, prices)).toBe(600 * 5 + 400 * 0.5 + 1_000 * 25);
    expect(costMicros({ ...usage, inferenceGeo: 'us' }, prices)).toBe(((600 * 5 + 400 * 0.5 + 1_000 * 25) * 11) / 10);
    const long = { promptTokens: 300_000, completionTokens: 1_000, totalTokens: 301_000 };
    expect(costMicros({ ...long, inferenceGeo: 'us' }, prices)).toBe(((300_000 * 10 + 1_000 * 37.5) * 11) / 10);
  });
});

describe('rounding to the micro-dollar', () => {
  it('half up, and a call that cost anything costs at least 1 µ$', () => {
    const prices = { inputPerToken: 100_000, outputPerToken: 100_000 }; // $0.10 per million tokens
    expect(costMicros({ promptTokens: 3, completionTokens: 1, totalTokens: 4 }, prices)).toBe(1); // 0.4 µ$
    expect(costMicros({ promptTokens: 14, completionTokens: 1, totalTokens: 15 }, prices)).toBe(2); // 1.5 µ$
    expect(costMicros({ promptTokens: 0, completionTokens: 0, totalTokens: 0 }, prices)).toBe(0);
    expect(costMicros({ promptTokens: 10, completionTokens: 0, totalTokens: 10 }, { inputPerToken: 0, outputPerToken: 0 })).toBe(0);
  });
});
