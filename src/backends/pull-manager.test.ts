/** Pulls and removals against the Ollama mock, with the directory and a fake health monitor. */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOllama } from '../../test/support/mock-ollama.js';
import { UpstreamClient } from '../gateway/upstream.js';
import type { Deployment } from '../providers/types.js';
import { BackendDirectory } from './backend-directory.js';
import type { BackendRecord, BackendStore } from './backend-store.js';
import { PullManager } from './pull-manager.js';
import type { WarmUps } from './warm-up.js';

const ollama = new MockOllama({ models: ['qwen3:latest'], pullable: ['llama3.1:8b'], pullSteps: 3, pullLineDelayMs: 5 });
const upstream = new UpstreamClient();

class MemoryStore implements BackendStore {
  saved: BackendRecord[] = [];
  claims = new Set<string>();
  async start() {}
  async save(record: BackendRecord) {
    this.saved.push(record);
  }
  async claim(name: string) {
    if (this.claims.has(name)) return false;
    this.claims.add(name);
    return true;
  }
  async release(name: string) {
    this.claims.delete(name);
  }
  async close() {}
}

function setup(warmed: string[] = []) {
  const deployment: Deployment = { id: 'llama-llm02', modelName: 'llama', provider: 'ollama_chat', upstreamModel: 'llama3.1:8b', apiBase: ollama.url, headers: {}, defaultParams: {}, modelInfo: {}, available: true };
  const store = new MemoryStore();
  const directory = new BackendDirectory({ deployments: () => [{ deployment, active: true }], upstream, timeoutMs: 2_000, logger: pino({ level: 'silent' }), store });
  const checked: string[][] = [];
  // keep_warm loads after a pull (warm-up.ts decides per deployment whether to load).
  const warmUps = { warm: async (_backend: unknown, model: string) => void warmed.push(model) } as unknown as WarmUps;
  const pulls = new PullManager({ directory, checkNow: async (items) => checked.push(items.map((item) => item.id)), warmUps, logger: pino({ level: 'silent' }), shareEveryMs: 0 });
  const id = directory.backends()[0].ref.id;
  return { directory, pulls, store, checked, id, deployment };
}

async function settled(directory: BackendDirectory, id: string, model: string) {
  const deadline = Date.now() + 5_000;
  while (directory.pull(id, model)?.state === 'running' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  return directory.pull(id, model)!;
}

beforeAll(async () => {
  await ollama.start();
});
afterAll(async () => {
  await ollama.close();
  await upstream.close();
});

describe('PullManager', () => {
  it('pulls with progress over every layer, shares it, re-reads the backend and checks the deployment', async () => {
    const warmed: string[] = [];
    const { directory, pulls, store, checked, id, deployment } = setup(warmed);
    await directory.refresh();
    expect(directory.missingModel(deployment)).toBe(`model llama3.1:8b is not pulled on ${ollama.url}`);
    const first = await pulls.start(id, 'llama3.1:8b', 'ops');
    expect(first).toMatchObject({ state: 'running', model: 'llama3.1:8b', startedBy: 'ops' });
    await expect(pulls.start(id, 'llama3.1:8b', 'ops')).rejects.toMatchObject({ code: 'conflict' });
    const done = await settled(directory, id, 'llama3.1:8b');
    expect(done).toMatchObject({ state: 'succeeded', status: 'success', total: 4661211424 + 12403, completed: 4661211424 + 12403 });
    const shared = store.saved.filter((record) => record.type === 'pull').map((record) => (record.type === 'pull' ? record.pull : undefined)!);
    expect(shared.some((pull) => pull.state === 'running' && pull.completed > 0 && pull.completed < pull.total)).toBe(true);
    expect(directory.missingModel(deployment)).toBeUndefined();
    expect(checked).toEqual([['llama-llm02']]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(warmed).toEqual(['llama3.1:8b']);
    expect(store.claims.size).toBe(0); // released
  });

  it('fails a pull Ollama refuses, with its error; refuses bad names and unknown backends', async () => {
    const { directory, pulls, id } = setup();
    await pulls.start(id, 'nothing-here:7b', 'ops');
    expect(await settled(directory, id, 'nothing-here:7b')).toMatchObject({ state: 'failed', error: `${ollama.url}: pull model manifest: file does not exist` });
    await expect(pulls.start(id, '../etc', 'ops')).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(pulls.start(id, 42, 'ops')).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(pulls.start('nope', 'llama3.1:8b', 'ops')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses a pull another replica holds the claim for', async () => {
    const { pulls, store, id } = setup();
    store.claims.add(`pull:${id}:qwen3:4b`);
    await expect(pulls.start(id, 'qwen3:4b', 'ops')).rejects.toMatchObject({ code: 'conflict' });
  });

  it('removes a model with DELETE /api/delete; 404 for one that is not there', async () => {
    const { directory, pulls, id } = setup();
    ollama.installed.push('gone:1b');
    await pulls.remove(id, 'gone:1b', 'ops');
    expect(ollama.requestsTo('/api/delete').at(-1)).toMatchObject({ method: 'DELETE', body: { model: 'gone:1b' } });
    expect(directory.inventory(id)?.models.map((model) => model.name)).not.toContain('gone:1b');
    await expect(pulls.remove(id, 'gone:1b', 'ops')).rejects.toMatchObject({ code: 'not_found' });
  });
});
