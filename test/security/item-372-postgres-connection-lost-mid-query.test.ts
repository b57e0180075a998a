/**
 * Item 372 (the attack): PostgreSQL going away while a query runs (a failover, a restarted server, a
 * network cut) crashed the gateway: pg's pool listens for errors of its idle clients only, so the
 * error a checked-out client emits when its connection ends had no listener — an uncaught exception,
 * the process exits (in 2 of 3 runs of a reviewer's probe: every replica dies at a failover). Now
 * every client the pool opens has a listener: the lost connection fails its query (the caller's
 * error), and the next query reconnects. And a virtual key that cannot be looked up then is 503 to
 * retry, not a 500 echoing the driver's "Connection terminated unexpectedly".
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, openAIConfig, startGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const postgres = await postgresAvailableForTests();

describe.runIf(postgres)('a PostgreSQL connection lost mid-query', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let handle: DatabaseHandle;
  const uncaught: Error[] = [];
  const onUncaught = (error: Error) => uncaught.push(error);

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const target = new URL(database.url);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const through = new URL(database.url);
    through.host = `127.0.0.1:${proxy.port}`;
    handle = openDatabase(through.toString());
    process.on('uncaughtException', onUncaught);
  });
  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    await handle?.close().catch(() => undefined);
    await proxy?.close();
    await database?.drop();
  });

  it('fails the query that was running, crashes nothing, and the next query reconnects', async () => {
    expect((await sql<{ one: number }>`select 1 as one`.execute(handle.db)).rows[0].one).toBe(1);
    const running = sql`select pg_sleep(2)`.execute(handle.db).then(() => 'answered', (error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await proxy.cut();
    expect(await running).toMatch(/terminated|closed|ECONNRESET/i);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(uncaught.map((error) => error.message)).toEqual([]);
    await proxy.restore();
    expect((await sql<{ one: number }>`select 1 as one`.execute(handle.db)).rows[0].one).toBe(1);
  });
});

describe.runIf(postgres)('a virtual key looked up while PostgreSQL does not answer', () => {
  it('is 503 with retry-after, and works again once the database is back', async () => {
    const database = await createPostgresDatabase();
    const target = new URL(database.url);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const through = new URL(database.url);
    through.host = `127.0.0.1:${proxy.port}`;
    const upstream = new MockOpenAI();
    await upstream.start();
    const gateway = await startGateway(openAIConfig(upstream.url), { databaseUrl: through.toString() });
    try {
      const generated = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: '{}' });
      const { key } = (await generated.json()) as { key: string };
      await proxy.cut();
      const call = () => fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }) });
      // A key never seen by this process: its lookup reaches the database.
      const refused = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: 'Bearer sk-never-seen-0123456789' } });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await refused.text()).not.toMatch(/Connection terminated/);
      await proxy.restore();
      let status = 0;
      for (let tries = 0; tries < 50 && status !== 200; tries++) {
        status = (await call()).status;
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toBe(200);
    } finally {
      await gateway.close();
      await upstream.close();
      await proxy.close();
      await database.drop();
    }
  }, 30_000);
});
