import { describe, expect, it } from 'vitest';
import { assertVectorStoresGranted, vectorStoresOfResponses } from './vector-store-access.js';
import type { ResolvedKey } from './key-directory.js';

function principal(keyList: string[], teamList?: string[]): ResolvedKey {
  return { key: { vectorStores: keyList } as ResolvedKey['key'], ...(teamList ? { team: { teamId: 't', vectorStores: teamList } as ResolvedKey['team'] } : {}) };
}

const grantedTo = (ids: string[]) => async (id: string) => ids.includes(id);

describe('vectorStoresOfResponses', () => {
  it('reads every file_search tool, naming each id by its field; other tools are not read', () => {
    const body = { tools: [{ type: 'web_search' }, { type: 'file_search', vector_store_ids: ['vs_a', 'vs_b'] }, { type: 'function', name: 'f', vector_store_ids: ['vs_x'] }, { type: 'file_search', vector_store_ids: ['vs_c'] }] };
    expect(vectorStoresOfResponses(body)).toEqual([
      { id: 'vs_a', param: 'tools[1].vector_store_ids[0]' },
      { id: 'vs_b', param: 'tools[1].vector_store_ids[1]' },
      { id: 'vs_c', param: 'tools[3].vector_store_ids[0]' },
    ]);
  });

  it('a non-string id is refused: it could not be checked', () => {
    expect(() => vectorStoresOfResponses({ tools: [{ type: 'file_search', vector_store_ids: [{ id: 'vs_a' }] }] })).toThrow(/tools\[0\]\.vector_store_ids\[0\] must be a vector store id/);
  });
});

describe('assertVectorStoresGranted', () => {
  const one = (id: string) => [{ id, param: 'tools[0].vector_store_ids[0]' }];

  it('a key and team granting nothing reach the stores granted to nobody, not the others', async () => {
    await expect(assertVectorStoresGranted(one('vs_open'), principal([]), false, grantedTo(['vs_taken']))).resolves.toBeUndefined();
    await expect(assertVectorStoresGranted(one('vs_taken'), principal([], []), false, grantedTo(['vs_taken']))).rejects.toMatchObject({ code: 'permission_denied', param: 'tools[0].vector_store_ids[0]' });
  });

  it('each list that is set must hold the store; one holding it is enough when the other is empty', async () => {
    const taken = grantedTo(['vs_a', 'vs_b']);
    await expect(assertVectorStoresGranted(one('vs_a'), principal(['vs_a']), false, taken)).resolves.toBeUndefined();
    await expect(assertVectorStoresGranted(one('vs_a'), principal([], ['vs_a']), false, taken)).resolves.toBeUndefined();
    await expect(assertVectorStoresGranted(one('vs_a'), principal(['vs_a'], ['vs_b']), false, taken)).rejects.toThrow(/not among the vector stores granted to team "t"/);
    await expect(assertVectorStoresGranted(one('vs_b'), principal(['vs_a'], ['vs_b']), false, taken)).rejects.toThrow(/not among the vector stores granted to this key/);
    // A list narrows: an open store outside it is refused as well.
    await expect(assertVectorStoresGranted(one('vs_open'), principal(['vs_a']), false, taken)).rejects.toThrow(/granted to this key/);
  });

  it('llm.manage_providers reaches every store without a lookup; without a lookup a key granting none is refused', async () => {
    const never = async () => {
      throw new Error('looked up');
    };
    await expect(assertVectorStoresGranted(one('vs_any'), principal([]), true, never)).resolves.toBeUndefined();
    await expect(assertVectorStoresGranted(one('vs_any'), principal([]), false, undefined)).rejects.toMatchObject({ code: 'permission_denied' });
  });
});
