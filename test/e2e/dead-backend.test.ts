/**
 * A gateway in front of two local inference servers, one of them dead: a refused connection means
 * nothing was sent, so the call goes to the other deployment of the group at once — without a
 * retry (num_retries is 0 here), without waiting for a cooldown — and the dead one is marked down.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOllama } from '../support/mock-ollama.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

const live = new MockOllama({ reply: 'from the live server' });
let deadUrl: string;
let gateway: TestGateway;

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  await live.start();
  deadUrl = `http://127.0.0.1:${await closedPort()}`;
  gateway = await startGateway(`
model_list:
  - model_name: llama3.1
    litellm_params: {model: ollama_chat/llama3.1, api_base: "${deadUrl}"}
    model_info: {id: dead-server}
  - model_name: llama3.1
    litellm_params: {model: ollama_chat/llama3.1, api_base: "${live.url}"}
    model_info: {id: live-server}
router_settings:
  routing_strategy: least-busy
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
});

afterAll(async () => {
  await gateway?.close();
  await live.close();
});

describe('a dead backend in a group of two', () => {
  it('costs no request: 100 calls (10 at a time, plain and streamed) all answered by the live server', async () => {
    const client = gateway.openai();
    const before = live.requestsTo('/api/chat').length;
    const outcomes: string[] = [];
    const callIds: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const calls = Array.from({ length: 10 }, async (_, index) => {
        try {
          if (index % 2 === 0) {
            const { data, response } = await client.chat.completions.create({ model: 'llama3.1', messages: [{ role: 'user', content: `hi ${batch}.${index}` }] }).withResponse();
            callIds.push(response.headers.get('x-switchboard-call-id') ?? '');
            return data.choices[0].message.content ?? '';
          }
          const stream = await client.chat.completions.create({ model: 'llama3.1', stream: true, messages: [{ role: 'user', content: `hi ${batch}.${index}` }] });
          let text = '';
          for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
          return text;
        } catch (error) {
          return `failed: ${(error as Error).message}`;
        }
      });
      outcomes.push(...(await Promise.all(calls)));
    }
    expect(outcomes.filter((outcome) => outcome.startsWith('failed'))).toEqual([]);
    expect(outcomes.every((outcome) => outcome === 'from the live server')).toBe(true);
    expect(live.requestsTo('/api/chat').length - before).toBe(100);

    // No retry was used; the rows name the live deployment.
    const record = await gateway.recordOf(callIds[0]);
    expect(record).toMatchObject({ status: 'success', deployment_id: 'live-server', retries: 0 });

    // Passive health took the dead server down at its first refused connection.
    const response = await fetch(`${gateway.url}/health/providers`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    const report = (await response.json()) as { deployments: { deployment_id: string; status: string }[] };
    expect(report.deployments.find((deployment) => deployment.deployment_id === 'dead-server')?.status).toBe('down');
  });
});
