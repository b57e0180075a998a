/**
 * Graceful drain, as an orchestrator stops a replica: on SIGTERM readiness turns 503 at once while
 * requests are still served for drain_grace_seconds; then streams in flight finish (bounded by
 * shutdown_timeout), queued usage rows are written, and the last log line says the gateway stopped.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';

const MASTER_KEY = 'sk-drain-test-master-key';
const REPLY = 'one two three four five six seven eight nine ten';
const upstream = new MockOpenAI({ reply: REPLY, chunkDelayMs: 150 });

beforeAll(async () => {
  await upstream.start();
});
afterAll(async () => {
  await upstream.close();
});

function config(drainGrace: number, shutdownTimeout: number): string {
  return `
model_list:
  - model_name: slow
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
general_settings:
  master_key: ${MASTER_KEY}
  drain_grace_seconds: ${drainGrace}
  shutdown_timeout: ${shutdownTimeout}
`;
}

const exitOf = (gateway: GatewayProcess) => new Promise<number | null>((resolve) => (gateway.process.exitCode !== null ? resolve(gateway.process.exitCode) : gateway.process.once('exit', resolve)));

describe('SIGTERM', () => {
  let gateway: GatewayProcess | undefined;
  afterAll(async () => gateway?.stop());

  it('readiness 503 during the grace while new requests are served; the stream in flight completes; usage rows written; one "stopped" line last', async () => {
    gateway = await startGatewayProcess(config(1, 10), {});
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'count' }] });
    const iterator = stream[Symbol.asyncIterator]();
    let text = (await iterator.next()).value?.choices[0]?.delta?.content ?? '';
    const exited = exitOf(gateway);
    gateway.process.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const readiness = await fetch(`${gateway.url}/health/readiness`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({ status: 'draining' });
    // Still served during the grace (a load balancer may not have noticed yet).
    const during = await client.chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'still there?' }] });
    expect(during.choices[0].message.content).toBe(REPLY);

    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      text += next.value.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe(REPLY);
    expect(await exited).toBe(0);
    const lines = gateway.output().trim().split('\n');
    expect(lines.at(-1)).toMatch(/gateway stopped \{"usageRows":\{"written":2,"spilled":0,"dropped":0,"rejected":0\}\}/);
    expect(gateway.output()).toContain('draining: readiness answers 503');
    // Nothing waited for the shutdown timeout: the connections closed as their requests finished.
    expect(gateway.output()).not.toContain('shutdown timeout reached');
  });

  it('shutdown_timeout bounds the wait: a stream longer than it is cut, recorded, and the process exits', async () => {
    const long = new MockOpenAI({ reply: Array.from({ length: 60 }, (_, index) => `w${index}`).join(' '), chunkDelayMs: 200 });
    await long.start();
    try {
      gateway = await startGatewayProcess(config(0, 0.5).replace(upstream.url, long.url), {});
      const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'count' }] });
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      const exited = exitOf(gateway);
      const signalled = Date.now();
      gateway.process.kill('SIGTERM');
      const outcome = await (async () => {
        try {
          for (;;) if ((await iterator.next()).done) return 'ended';
        } catch {
          return 'cut';
        }
      })();
      expect(await exited).toBe(0);
      // 12 s of stream left; the timeout is 0.5 s (plus the time to flush and close).
      expect(Date.now() - signalled).toBeLessThan(5_000);
      expect(['cut', 'ended']).toContain(outcome);
      expect(gateway.output()).toContain('shutdown timeout reached');
      expect(gateway.output().trim().split('\n').at(-1)).toMatch(/gateway stopped \{"usageRows":\{"written":1,/);
    } finally {
      await long.close();
    }
  });
});
