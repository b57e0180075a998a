import { describe, expect, it } from 'vitest';
import type { Call, Next } from '../gateway/call.js';
import { chainEmbedder } from './embedder.js';

function capturing(): { run: () => Next; calls: Call[] } {
  const calls: Call[] = [];
  const next: Next = async (call) => {
    calls.push(call);
    return { kind: 'json', status: 200, body: JSON.stringify({ data: [{ embedding: [1, 2, 3] }] }) } as never;
  };
  return { run: () => next, calls };
}

const callFor = (region?: 'eu' | 'us') => ({ context: { caller: {}, endUser: 'acme' }, ...(region ? { region } : {}) }) as unknown as Call;

describe('chainEmbedder', () => {
  it("holds the embedding call to the call's region, so the prompt stays in the customer's allowed region", async () => {
    const { run, calls } = capturing();
    const embedding = await chainEmbedder(run, 'embed')(callFor('eu'), 'hello');
    expect(Array.from(embedding!)).toEqual([1, 2, 3]);
    expect(calls[0]).toMatchObject({ region: 'eu', operation: { kind: 'embeddings', request: { model: 'embed', input: 'hello' } } });
  });

  it('sets no region for a call held to none', async () => {
    const { run, calls } = capturing();
    await chainEmbedder(run, 'embed')(callFor(), 'hello');
    expect(calls[0].region).toBeUndefined();
  });
});
