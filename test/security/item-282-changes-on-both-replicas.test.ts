/**
 * The attack: two replicas share PostgreSQL without Redis, so a change reaches the other replica
 * only through the polled `principals` version row (every 500 ms). A replica that made a change of
 * its own took the version it read just after its bump as "seen" — and the row holds only the
 * latest version, so a change another replica stored since this one's last poll was seen with it
 * and never applied here. An internal user whose key K1 an admin blocked (or narrowed to `cheap`)
 * through replica B kept calling replica A with 200 — for the rest of the key's 60 s cache entry,
 * not the documented second — just by making changes of its own on replica A meanwhile (here: a
 * stream of `/key/generate` calls with its other key; any key change on A by anyone does it).
 * Now a replica's own change does not count as having seen the version: its next poll drops the
 * whole cache as every other replica's does, so B's change reaches A within a second whatever A does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig } from '../support/management.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';

const postgres = await postgresAvailableForTests();

describe.runIf(postgres)('a change through one replica while the other makes changes of its own (PostgreSQL, no Redis)', () => {
  const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 5 });
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: TestGateway;
  let onA: Management;
  let onB: Management;

  beforeAll(async () => {
    await upstream.start();
    database = await createPostgresDatabase();
    replicaA = await startGateway(pricedConfig(upstream.url), { databaseUrl: database.url });
    replicaB = await startGateway(pricedConfig(upstream.url), { databaseUrl: database.url });
    onA = new Management(replicaA.url);
    onB = new Management(replicaB.url);
    await onA.newUser({ user_id: 'attacker', user_role: 'internal_user' });
  });

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await database?.drop();
    await upstream.close();
  });

  /** The attacker's own key changes on replica A, back to back, until `stop` resolves. */
  let churned = 0;
  async function keepChangingOnA(ownKey: string, stop: Promise<void>): Promise<number> {
    let stopped = false;
    void stop.then(() => (stopped = true));
    let made = 0;
    while (!stopped) {
      const response = await onA.call('POST', '/key/generate', { key_alias: `churn-${churned++}` }, ownKey);
      expect(response.status).toBe(200);
      made++;
    }
    return made;
  }

  /** Runs `change` on replica B while the attacker churns on A; then `check` on A 1.5 s later. */
  async function changeOnBWhileAChurns(ownKey: string, change: () => Promise<unknown>): Promise<void> {
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const churn = keepChangingOnA(ownKey, stopped);
    await sleep(100);
    await change();
    await sleep(1_500);
    stop();
    expect(await churn).toBeGreaterThan(0);
  }

  it('a key blocked through replica B is refused by replica A within a second', async () => {
    const target = await onA.generateKey({ user_id: 'attacker' });
    const own = await onA.generateKey({ user_id: 'attacker' });
    expect((await chatStatus(clientFor(replicaA.url, target.key), { model: 'cheap', max_tokens: 5 })).status).toBe(200);

    await changeOnBWhileAChurns(own.key, () => onB.ok('POST', '/key/block', { key: target.key }));

    expect((await chatStatus(clientFor(replicaB.url, target.key), { model: 'cheap', max_tokens: 5 })).status).toBe(401);
    expect((await chatStatus(clientFor(replicaA.url, target.key), { model: 'cheap', max_tokens: 5 })).status).toBe(401);
  });

  it("a key's models narrowed through replica B are narrowed on replica A within a second", async () => {
    const target = await onA.generateKey({ user_id: 'attacker', models: ['cheap', 'premium'] });
    const own = await onA.generateKey({ user_id: 'attacker' });
    expect((await chatStatus(clientFor(replicaA.url, target.key), { model: 'premium', max_tokens: 5 })).status).toBe(200);

    await changeOnBWhileAChurns(own.key, () => onB.updateKey(target.key, { models: ['cheap'] }));

    expect((await chatStatus(clientFor(replicaB.url, target.key), { model: 'premium', max_tokens: 5 })).status).toBe(403);
    expect((await chatStatus(clientFor(replicaA.url, target.key), { model: 'premium', max_tokens: 5 })).status).toBe(403);
    expect((await chatStatus(clientFor(replicaA.url, target.key), { model: 'cheap', max_tokens: 5 })).status).toBe(200);
  });
});
