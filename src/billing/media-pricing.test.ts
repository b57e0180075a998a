import { describe, expect, it } from 'vitest';
import { callCostMicros } from './cost.js';
import { resolveMediaPrices } from './media-pricing.js';
import { builtInPrices } from './pricing.js';

describe('media prices', () => {
  it('prices dall-e images by quality and size, falling back to the dearest variant', () => {
    const deployment = { prices: undefined, mediaPrices: resolveMediaPrices('dall-e-3', {}, false) };
    expect(callCostMicros({ promptTokens: 0, completionTokens: 0, units: { images: 1, imageVariant: 'standard/1024x1024' } }, deployment)).toBe(40_000);
    expect(callCostMicros({ promptTokens: 0, completionTokens: 0, units: { images: 2, imageVariant: 'hd/1792x1024' } }, deployment)).toBe(240_000);
    expect(callCostMicros({ promptTokens: 0, completionTokens: 0, units: { images: 1, imageVariant: 'ultra/9999x9999' } }, deployment)).toBe(120_000);
  });

  it('takes model_info overrides under LiteLLM names, per unit', () => {
    const prices = resolveMediaPrices('whisper-1', { input_cost_per_second: 0.0002, output_cost_per_image: 0.5 }, false)!;
    expect(callCostMicros({ units: { inputSeconds: 10 } }, { prices: undefined, mediaPrices: prices })).toBe(2_000);
    expect(callCostMicros({ units: { images: 1 } }, { prices: undefined, mediaPrices: prices })).toBe(500_000);
  });

  it('leaves the cost unknown when a billed unit has no price, and prices tokens beside units', () => {
    expect(callCostMicros({ units: { queries: 1 } }, { prices: undefined, mediaPrices: resolveMediaPrices('unknown-model', {}, false) })).toBeUndefined();
    expect(callCostMicros({ units: { inputCharacters: 1000 } }, { prices: undefined, mediaPrices: resolveMediaPrices('omni-moderation-2024-09-26', {}, false) })).toBe(0);
    // gpt-image-1: tokens at its token prices; no per-image units reported.
    expect(callCostMicros({ promptTokens: 50, completionTokens: 1056 }, { prices: builtInPrices('gpt-image-1'), mediaPrices: undefined })).toBe(42_490);
    expect(callCostMicros({ promptTokens: 1000, completionTokens: 0, units: { inputCharacters: 1000 } }, { prices: builtInPrices('gpt-4o-mini'), mediaPrices: resolveMediaPrices('tts-1', {}, false) })).toBe(150 + 15_000);
  });

  it('prices Imagen per image at any size (LiteLLM\'s table): $0.04, fast $0.02, ultra $0.06', () => {
    const cost = (model: string, images: number) => callCostMicros({ units: { images, imageVariant: 'standard/1792x1024' } }, { prices: undefined, mediaPrices: resolveMediaPrices(model, {}, false) });
    expect(cost('imagen-3.0-generate-002', 2)).toBe(80_000);
    expect(cost('models/imagen-4.0-generate-001', 1)).toBe(40_000);
    expect(cost('imagen-4.0-fast-generate-001', 3)).toBe(60_000);
    expect(cost('imagen-4.0-ultra-generate-001', 1)).toBe(60_000);
    expect(cost('imagen-9.0-unknown', 1)).toBeUndefined();
  });

  it('makes local providers free', () => {
    expect(callCostMicros({ units: { images: 3, inputSeconds: 60 } }, { prices: undefined, mediaPrices: resolveMediaPrices('anything', {}, true) })).toBe(0);
  });
});
