/**
 * Item 317: an ordinary virtual key against today's money settings.
 *
 * general_settings.global_max_parallel_requests holds a slot from admission until the response's
 * `close`. Node emits `close` on a response only once it has been given the socket: a response to a
 * pipelined HTTP/1.1 request waits in the connection's queue behind the one before it, and when the
 * client drops the connection first, the queued responses never emit `close` (shown with a bare
 * node:http server: 4 pipelined requests, socket destroyed, 1 `close`). So a key that pipelines
 * model calls and hangs up took the slots of all but the first for good: with a limit of 3, two
 * such connections left one slot for every caller until a restart.
 *
 * And a call whose client hangs up while its key is still being looked up (an uncached key: its
 * first calls, and every call after the 60 s cache expires, wait for the database) reached the hook
 * after both `close` events had been emitted: its slot was never freed either. A burst of 40 such
 * calls with one new key on PostgreSQL leaked a dozen slots.
 *
 * Shown failing before the fix: 2 of 2 failed (in-flight stayed at 2, and at 1 to 13 depending on timing).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';

const LIMIT = 3;

const upstream = new MockOpenAI({ chunkDelayMs: 5 });
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
  global_max_parallel_requests: ${LIMIT}
`);
  key = (await new Management(gateway.url).generateKey({})).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

function chat() {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  });
}

/** `count` model calls pipelined on one connection, which is dropped after `dropAfterMs`. */
async function pipelineAndHangUp(count: number, dropAfterMs: number): Promise<void> {
  const { hostname, port } = new URL(gateway.url);
  const body = JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
  const one = `POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  await new Promise<void>((resolve) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(one.repeat(count));
      setTimeout(() => socket.destroy(), dropAfterMs);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

async function inFlightMetric(target = gateway): Promise<string | undefined> {
  const text = await (await fetch(`${target.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
  return /switchboard_global_parallel_requests_in_flight (\d+)/.exec(text)?.[1];
}

describe('global_max_parallel_requests: slots of pipelined calls whose client hung up', () => {
  it('are freed, so a virtual key cannot close the gateway to every model call', async () => {
    upstream.alwaysFault = { kind: 'delay', ms: 600 };
    await pipelineAndHangUp(LIMIT, 200);
    await pipelineAndHangUp(LIMIT, 200);
    // Let the upstream calls of the dropped connections finish.
    await new Promise((resolve) => setTimeout(resolve, 900));
    upstream.alwaysFault = undefined;
    expect(await inFlightMetric()).toBe('0');
    const statuses = await Promise.all(Array.from({ length: LIMIT }, () => chat().then(async (response) => (await response.text(), response.status))));
    expect(statuses).toEqual(Array.from({ length: LIMIT }, () => 200));
  });
});

const postgres = await postgresAvailableForTests();

describe.runIf(postgres)('global_max_parallel_requests: calls whose client hung up while the key was looked up (PostgreSQL)', () => {
  let database: TestDatabase;
  let slow: TestGateway;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    slow = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
general_settings:
  master_key: ${MASTER_KEY}
  global_max_parallel_requests: 100
`, { databaseUrl: database.url });
  });

  afterAll(async () => {
    await slow?.close();
    await database?.drop();
  });

  it('take no slot that is never freed', async () => {
    const fresh = (await new Management(slow.url).generateKey({})).key;
    const { hostname, port } = new URL(slow.url);
    const body = JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    const one = `POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${fresh}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    await Promise.all(
      Array.from({ length: 40 }, (_, index) => new Promise<void>((resolve) => {
        const socket = net.connect(Number(port), hostname, () => {
          socket.write(one);
          setTimeout(() => socket.resetAndDestroy(), index % 4);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      })),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await inFlightMetric(slow)).toBe('0');
  });
});
