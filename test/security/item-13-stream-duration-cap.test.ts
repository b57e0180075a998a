/**
 * A stream has a total duration cap, distinct from the idle timeout between chunks and from the
 * first-chunk stream_timeout: an upstream trickling a chunk every 300 ms (never idle) is ended at
 * max_stream_duration — or, without it, at the deployment's `timeout` — with an upstream_timeout
 * error event; the upstream call is aborted and the output so far is billed (row marked aborted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTextTokens } from '../../src/gateway/token-count.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { openStream } from '../support/sse-client.js';

// 100 words at 300 ms each: a 30 s stream that is never idle for long.
const REPLY = Array.from({ length: 100 }, (_, index) => `drip${index}`).join(' ');

function config(apiBase: string, deploymentParams: string, routerSettings: string): string {
  return `
model_list:
  - model_name: trickle
    litellm_params:
      model: openai/trickle-upstream
      api_base: ${apiBase}
      api_key: sk-upstream-test
${deploymentParams}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
  disable_cooldowns: true
${routerSettings}
general_settings:
  master_key: ${MASTER_KEY}
`;
}

describe('streams end at their maximum duration', () => {
  const upstream = new MockOpenAI({ reply: REPLY, chunkDelayMs: 300 });
  const gateways: TestGateway[] = [];

  beforeAll(async () => {
    await upstream.start();
  });

  afterAll(async () => {
    for (const gateway of gateways) await gateway.close();
    await upstream.close();
  });

  async function trickle(gateway: TestGateway) {
    const started = Date.now();
    const stream = await openStream(gateway.url, MASTER_KEY, { model: 'trickle', messages: [{ role: 'user', content: 'drip' }], max_tokens: 500 });
    const read = await stream.read();
    return { stream, read, elapsedMs: Date.now() - started };
  }

  async function expectCappedAt(gateway: TestGateway, capMs: number, outcome: Awaited<ReturnType<typeof trickle>>) {
    const { stream, read, elapsedMs } = outcome;
    expect(read.error).toMatchObject({ code: 'upstream_timeout' });
    expect(read.done).toBe(false);
    expect(elapsedMs).toBeGreaterThanOrEqual(capMs - 100);
    expect(elapsedMs).toBeLessThan(capMs + 1_500);
    expect(read.text.length).toBeGreaterThan(0);
    await expect.poll(() => upstream.requests.at(-1)!.aborted).toBe(true);
    const record = await gateway.recordOf(stream.callId);
    expect(record).toMatchObject({ status: 'failure', error_code: 'upstream_timeout', aborted: 1, tokens_estimated: 1 });
    expect(record!.completion_tokens).toBeGreaterThanOrEqual(await countTextTokens(read.text));
    expect(record!.cost_micros).toBeGreaterThan(0);
  }

  it('router_settings.max_stream_duration ends a trickling stream that the idle timeout never would', async () => {
    // The idle timeout (timeout: 5) is far longer than the 300 ms between chunks.
    const gateway = await startGateway(config(upstream.url, '      timeout: 5', '  max_stream_duration: 1.5'));
    gateways.push(gateway);
    const outcome = await trickle(gateway);
    await expectCappedAt(gateway, 1_500, outcome);
    expect(outcome.read.error!.message).toContain('maximum duration of 1.5s');
  });

  it("a deployment's own max_stream_duration wins over the router's", async () => {
    const gateway = await startGateway(config(upstream.url, '      max_stream_duration: 1', '  max_stream_duration: 20'));
    gateways.push(gateway);
    await expectCappedAt(gateway, 1_000, await trickle(gateway));
  });

  it("without max_stream_duration, the deployment's timeout caps the whole stream", async () => {
    const gateway = await startGateway(config(upstream.url, '      timeout: 2', ''));
    gateways.push(gateway);
    await expectCappedAt(gateway, 2_000, await trickle(gateway));
  });
});
