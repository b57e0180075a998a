import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TokenPrices } from '../providers/types.js';
import { noteBilledTier, PRIORITY_DEFAULT_TTL_MS, reservedPrices } from './priority-default.js';

const prices: TokenPrices = { inputPerToken: 5_000_000, outputPerToken: 25_000_000 };
const claude = (id: string) => ({ id, provider: 'anthropic', prices });
const usage = { promptTokens: 10, completionTokens: 10, totalTokens: 20 };

afterEach(() => vi.useRealTimers());

describe('US-only inference in reservations', () => {
  it('a call that asks for it reserves 1.1× the rates, one asking "global" or nothing the rates', () => {
    expect(reservedPrices(claude('a'), { native: { inference_geo: 'us' } })).toEqual({ inputPerToken: 5_500_000, outputPerToken: 27_500_000 });
    expect(reservedPrices(claude('a'), { native: { inference_geo: 'global' } })).toEqual(prices);
    expect(reservedPrices(claude('a'), { messages: [] })).toEqual(prices);
  });

  it('an unasked US-only answer (the workspace default) makes the calls naming no geography reserve 1.1×, for an hour', () => {
    vi.useFakeTimers();
    const deployment = claude('workspace-us');
    // An answer to a call that asked for it marks nothing: that was the call's choice.
    noteBilledTier(deployment, { native: { inference_geo: 'us' } }, { ...usage, inferenceGeo: 'us' });
    expect(reservedPrices(deployment, { messages: [] })).toEqual(prices);
    noteBilledTier(deployment, { messages: [] }, { ...usage, inferenceGeo: 'us' });
    expect(reservedPrices(deployment, { messages: [] })).toEqual({ inputPerToken: 5_500_000, outputPerToken: 27_500_000 });
    expect(reservedPrices(deployment, { native: { inference_geo: 'global' } })).toEqual(prices);
    // A chat body's own field is never sent to Anthropic (refused, or dropped with drop_params): it changes nothing.
    expect(reservedPrices(deployment, { messages: [], inference_geo: 'global' })).toEqual({ inputPerToken: 5_500_000, outputPerToken: 27_500_000 });
    expect(reservedPrices(claude('other'), { messages: [] })).toEqual(prices);
    vi.advanceTimersByTime(PRIORITY_DEFAULT_TTL_MS + 1);
    expect(reservedPrices(deployment, { messages: [] })).toEqual(prices);
  });
});
