import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';
import { deploymentsForTags } from './tag-filter.js';

const deployment = (id: string, tags?: string[]) => ({ id, tags }) as Deployment;
const free = deployment('free', ['free']);
const paid = deployment('paid', ['paid', 'team-a']);
const fallback = deployment('default', ['default']);
const plain = deployment('plain');

const ids = (list: readonly Deployment[]) => list.map((item) => item.id);

describe('deploymentsForTags', () => {
  it('sends a tagged request to the deployments carrying one of its tags', () => {
    expect(ids(deploymentsForTags('gpt', [free, paid, fallback, plain], ['paid'], true))).toEqual(['paid']);
    expect(ids(deploymentsForTags('gpt', [free, paid, fallback, plain], ['free', 'team-a'], true))).toEqual(['free', 'paid']);
  });

  it('with match_any off, needs every tag of the request', () => {
    expect(ids(deploymentsForTags('gpt', [free, paid, fallback], ['paid', 'team-a'], false))).toEqual(['paid']);
    expect(ids(deploymentsForTags('gpt', [free, paid, fallback], ['free', 'team-a'], false))).toEqual(['default']);
  });

  it('sends a request whose tags no deployment has to the default-tagged ones, else refuses it', () => {
    expect(ids(deploymentsForTags('gpt', [free, paid, fallback, plain], ['other'], true))).toEqual(['default']);
    let error: unknown;
    try {
      deploymentsForTags('gpt', [free, paid, plain], ['other'], true);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(400);
    expect((error as GatewayError).message).toContain('"other"');
  });

  it('sends an untagged request to the default-tagged deployments, else to any', () => {
    expect(ids(deploymentsForTags('gpt', [free, paid, fallback, plain], undefined, true))).toEqual(['default']);
    expect(ids(deploymentsForTags('gpt', [free, paid, plain], [], true))).toEqual(['free', 'paid', 'plain']);
  });
});
