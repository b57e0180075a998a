/**
 * Two replicas share what they know of the local backends, like deployment health: through Redis,
 * or without Redis through the database (`backend_state`, SQLite and PostgreSQL). A pull started on
 * one replica is seen (progress, then success) on the other, which refuses a second pull of the same
 * model meanwhile, and whose deployment goes back in traffic with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendsAnswer, PullView } from '../../src/http/backend-views.js';
import { dialectsUnderTest, createPostgresDatabase, type TestDatabase } from '../support/databases.js';
import { startGateway, MASTER_KEY, type StartOptions, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOllama, sleep } from '../support/mock-ollama.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

interface Setup {
  name: string;
  prepare(): Promise<{ options: StartOptions; cleanup(): Promise<void> }>;
}

const setups: Setup[] = (await dialectsUnderTest()).map(({ dialect, create }) => ({
  name: `the database without Redis (${dialect})`,
  async prepare() {
    const database: TestDatabase = await create();
    return { options: { databaseUrl: database.url }, cleanup: () => database.drop() };
  },
}));
if (await redisAvailableForTests()) {
  setups.push({
    name: 'Redis (with PostgreSQL)',
    async prepare() {
      const database = await createPostgresDatabase();
      const prefix = uniquePrefix('backends');
      return {
        options: { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix },
        async cleanup() {
          await deleteKeys(prefix);
          await database.drop();
        },
      };
    },
  });
}

describe.each(setups)('local backends shared by two replicas through $name', (setup) => {
  const ollama = new MockOllama({ models: [], pullable: ['llama3.1:8b'], pullSteps: 10, pullLineDelayMs: 150 });
  let a: TestGateway;
  let b: TestGateway;
  let cleanup: () => Promise<void>;

  const config = () => `
model_list:
  - model_name: llama
    litellm_params: { model: ollama_chat/llama3.1:8b, api_base: ${ollama.url} }
    model_info: { id: llama-local }
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
  health_check_down_retry_interval: 0
`;

  beforeAll(async () => {
    await ollama.start();
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    a = await startGateway(config(), prepared.options);
    b = await startGateway(config(), prepared.options);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await ollama.close();
    await cleanup?.();
  });

  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
      await sleep(50);
    }
  }

  it('a pull on one replica is seen, and guarded, on the other; both route to the deployment afterwards', async () => {
    const apiA = new Management(a.url);
    const apiB = new Management(b.url);
    const [backend] = (await until(() => apiB.ok<BackendsAnswer>('GET', '/backends'), (answer) => answer.backends[0]?.missing_models.length === 1, 'the missing model on B')).backends;
    await until(async () => b.runtime.health.statusOf('llama-local')?.status, (status) => status === 'model_missing', 'model_missing on B');

    const started = await apiA.call<PullView>('POST', `/backends/${backend.id}/models/pull`, { model: 'llama3.1:8b' });
    expect(started.status).toBe(202);
    // B learns of the running pull (within the database poll) and refuses a second one.
    const seen = await until(() => apiB.call<PullView>('GET', `/backends/${backend.id}/models/pull?model=llama3.1:8b`), (response) => response.status === 200 && response.body.state === 'running', 'the running pull on B');
    expect(seen.body.model).toBe('llama3.1:8b');
    const second = await apiB.call<{ error: { message: string } }>('POST', `/backends/${backend.id}/models/pull`, { model: 'llama3.1:8b' });
    expect(second.status).toBe(409);

    const done = await until(() => apiB.ok<PullView>('GET', `/backends/${backend.id}/models/pull?model=llama3.1:8b`), (pull) => pull.state !== 'running', 'the pull to end, seen on B');
    expect(done).toMatchObject({ state: 'succeeded', percent: 100 });
    expect(ollama.requestsTo('/api/pull')).toHaveLength(1);
    // B has the new inventory and the deployment's health from A, without reading the backend itself.
    await until(async () => b.runtime.health.isHealthy('llama-local'), (healthy) => healthy, 'the deployment in traffic on B');
    const onB = (await apiB.ok<BackendsAnswer>('GET', '/backends')).backends[0];
    expect(onB.missing_models).toEqual([]);
    expect(onB.models.map((model) => model.name)).toEqual(['llama3.1:8b']);
    const answer = await b.openai().chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0].message.content).toBe('Hello from Ollama!');
  });
});
