/**
 * Billing events through a whole gateway: a receiver that fails at first, the gateway restarted
 * while events are still undelivered, and every billable call's event arriving exactly once (by
 * transaction id) in Lago's shape — none for free calls; a refused event kept and marked failed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI({ promptTokens: 100, completionTokens: 50 });

interface Received {
  authorization: string | undefined;
  body: { event: { transaction_id: string; external_customer_id: string; code: string; timestamp: number; properties: Record<string, unknown> } };
  status: number;
}

/** A Lago stand-in: answers 503 to its first `failFirst` requests, 400 to refused customers, then 200. */
class Receiver {
  readonly received: Received[] = [];
  failFirst = 0;
  readonly refuse = new Set<string>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as Received['body'];
        const status = this.failFirst > 0 ? 503 : this.refuse.has(body.event.external_customer_id) ? 400 : 200;
        if (this.failFirst > 0) this.failFirst--;
        this.received.push({ authorization: request.headers.authorization, body, status });
        response.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? JSON.stringify({ event: body.event }) : JSON.stringify({ error: 'nope' }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/api/v1/events`;
  }

  accepted(): string[] {
    return this.received.filter((item) => item.status === 200).map((item) => item.body.event.transaction_id);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

const receiver = new Receiver();
const dialects = await dialectsUnderTest();

function config(): string {
  return `
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: free
    litellm_params: {model: openai/free-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-free, input_cost_per_token: 0, output_cost_per_token: 0}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
  billing_webhook:
    url: ${receiver.url}
    api_key: os.environ/LAGO_TEST_KEY
    event_code: llm_tokens
    retry_initial_delay: 0.05
`;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  await upstream.start();
  await receiver.start();
});

afterAll(async () => {
  await upstream.close();
  await receiver.close();
});

// SQLite: a file, written by the usage writer thread; PostgreSQL: the database replicas share.
describe.each(dialects)('billing webhook on $dialect', ({ create }) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await create();
    receiver.received.length = 0;
    receiver.failFirst = 0;
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('delivers each billable call once across a gateway restart and a receiver that fails at first', async () => {
    const env = { LAGO_TEST_KEY: 'lago-secret' };
    let first: TestGateway | undefined = await startGateway(config(), { databaseUrl: database.url, env });
    const callIds: string[] = [];
    try {
      const api = new Management(first.url);
      await api.newUser({ user_id: 'carol' });
      const key = await api.generateKey({ user_id: 'carol' });
      const client = clientFor(first.url, key.key);
      for (let index = 0; index < 3; index++) {
        const outcome = await chatStatus(client, { model: 'cheap' });
        expect(outcome.status).toBe(200);
        callIds.push(outcome.headers.get('x-switchboard-call-id')!);
      }
      const free = await chatStatus(client, { model: 'free' });
      expect(free.status).toBe(200);
      // The master key has no user, team or key id: nobody to bill, no event.
      expect((await chatStatus(clientFor(first.url, MASTER_KEY), { model: 'cheap' })).status).toBe(200);
      await first.flushUsage();
      // The receiver fails every delivery while the first gateway runs (each event is tried at
      // least once); the gateway stops with all of them undelivered.
      receiver.failFirst = Number.POSITIVE_INFINITY;
      await until(() => new Set(receiver.received.map((item) => item.body.event.transaction_id)).size >= 3);
      await first.close();
      first = undefined;
      expect(receiver.accepted()).toEqual([]);
      receiver.failFirst = 0;
    } finally {
      await first?.close();
    }

    const second = await startGateway(config(), { databaseUrl: database.url, env });
    try {
      await until(async () => (await second.runtime.analytics.outbox()!.pendingCounts()).pending === 0);
      expect(receiver.accepted().sort()).toEqual([...callIds].sort());
      // Every delivery attempt was for one of the billable calls; none for the free or master-key call.
      expect(new Set(receiver.received.map((item) => item.body.event.transaction_id))).toEqual(new Set(callIds));
      const delivered = receiver.received.find((item) => item.status === 200)!;
      expect(delivered.authorization).toBe('Bearer lago-secret');
      expect(delivered.body.event).toEqual({
        transaction_id: expect.any(String),
        external_customer_id: 'carol',
        code: 'llm_tokens',
        timestamp: expect.any(Number),
        properties: { model: 'cheap', provider: 'openai', prompt_tokens: 100, completion_tokens: 50, total_tokens: 150, cost: 0.0002, cost_micros: 200, credits: 0 },
      });
      expect(Math.abs(delivered.body.event.timestamp - Date.now() / 1000)).toBeLessThan(120);
      const metrics = await (await fetch(`${second.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
      expect(metrics).toMatch(/^switchboard_billing_outbox_pending 0$/m);
      expect(metrics).toMatch(/^switchboard_billing_events_total\{outcome="delivered"\} 3$/m);
    } finally {
      await second.close();
    }
  });

  it('keeps an event the receiver refuses (4xx), marks it failed and does not retry it', async () => {
    const gateway = await startGateway(config(), { databaseUrl: database.url, env: { LAGO_TEST_KEY: 'lago-secret' } });
    try {
      const api = new Management(gateway.url);
      await api.newUser({ user_id: 'dave' });
      const key = await api.generateKey({ user_id: 'dave' });
      receiver.refuse.add('dave');
      const outcome = await chatStatus(clientFor(gateway.url, key.key), { model: 'cheap' });
      const callId = outcome.headers.get('x-switchboard-call-id')!;
      await gateway.flushUsage();
      const outbox = gateway.runtime.analytics.outbox()!;
      await until(async () => (await outbox.find(callId))?.failed_at != null);
      const event = (await outbox.find(callId))!;
      expect(event.delivered_at).toBeNull();
      expect(event.last_error).toContain('HTTP 400');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(receiver.received.filter((item) => item.body.event.transaction_id === callId)).toHaveLength(1);
    } finally {
      await gateway.close();
    }
  });
});
