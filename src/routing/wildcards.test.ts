import { describe, expect, it } from 'vitest';
import { fakeDeployment } from '../../test/support/stage-fakes.js';
import { ModelCatalog } from './catalog.js';
import { probeTarget } from './wildcards.js';

const prefixed = fakeDeployment('dep-prefixed', 'openai/*', { upstreamModel: '*', prices: undefined });
const catchAll = fakeDeployment('dep-all', '*', { upstreamModel: '*', prices: undefined });
const ownPrices = fakeDeployment('dep-own', 'team/*', { upstreamModel: 'fine-tune-*', prices: { inputPerToken: 1, outputPerToken: 2 } });
const explicit = fakeDeployment('dep-explicit', 'gpt-4o');

describe('wildcard groups in the catalog', () => {
  const catalog = new ModelCatalog([prefixed, catchAll, ownPrices, explicit]);

  it('resolves a matched name to a concrete group named as sent, the most specific pattern first', () => {
    const group = catalog.resolve('openai/gpt-4o-mini')!;
    expect(group.name).toBe('openai/gpt-4o-mini');
    expect(group.available.map((deployment) => [deployment.id, deployment.upstreamModel])).toEqual([['dep-prefixed', 'gpt-4o-mini']]);
    expect(group.available[0].prices?.inputPerToken).toBe(150_000);
    expect(catalog.resolve('gpt-4.1')!.available[0]).toMatchObject({ id: 'dep-all', upstreamModel: 'gpt-4.1' });
    expect(catalog.resolve('gpt-4o')!.available[0].id).toBe('dep-explicit');
  });

  it('keeps a wildcard deployment\'s own prices for every model it serves', () => {
    expect(catalog.resolve('team/acme-v2')!.available[0]).toMatchObject({ upstreamModel: 'fine-tune-acme-v2', prices: { inputPerToken: 1, outputPerToken: 2 } });
  });

  it('gives nothing for the patterns themselves, unpriced models, or names that could steer a URL', () => {
    for (const name of ['openai/*', '*', 'openai/unpriced-model', 'openai/../v1/files', 'openai/./x', 'openai/gpt-4o?x=1', 'openai/gpt 4o', 'openai/', 'openai//gpt-4o']) {
      expect(catalog.resolve(name), name).toBeUndefined();
    }
  });

  it('lists concrete models of the wildcards\' provider, never a pattern', () => {
    const ids = catalog.listedModels().map((item) => item.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o', 'openai/gpt-4o-mini', 'openai/o3', 'gpt-4.1-mini']));
    expect(ids.some((id) => id.includes('*'))).toBe(false);
    expect(ids.filter((id) => id === 'gpt-4o')).toHaveLength(1);
  });

  it('health checks probe a wildcard deployment on the cheapest model its provider has in the table', () => {
    expect(probeTarget(prefixed).upstreamModel).toBe('gpt-4.1-nano');
    expect(probeTarget(explicit)).toBe(explicit);
  });
});
