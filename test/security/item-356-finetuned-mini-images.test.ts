/**
 * Item 356 (the attack): gpt-4o-mini bills an image at up to 48,169 tokens (2,833 + 5,667 a tile, high detail), which
 * the bounds hold only for a deployment whose model is spelled `gpt-4o-mini[-date]` (or whose
 * model_info.base_model is). A fine-tuned gpt-4o-mini (`ft:gpt-4o-mini-2024-07-18:org::id`,
 * priced in model_info as a fine-tune must be) is the same model: its images bill the same, but the
 * bound does not know it, and the honest report is replaced by the local count.
 * Now: the snapshots OpenAI prices apart have their own built-in prices; a Claude deployment priced
 * in model_info bills 5-minute cache writes at 1.25× its input price unless
 * cache_creation_input_token_cost says otherwise; a fine-tuned gpt-4o-mini or nano model's images
 * are bounded as its base model's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';
import { blackPng } from '../support/black-png.js';

const IMAGE_TOKENS = 2_833 + 8 * 5_667;

class Mini extends MockServer {
  start(): Promise<string> {
    return this.listen('/v1');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const images = (text.match(/data:image\/png/g) ?? []).length;
    const prompt = 15 + images * IMAGE_TOKENS;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Black.' }, finish_reason: 'stop' }], usage: { prompt_tokens: prompt, completion_tokens: 2, total_tokens: prompt + 2 } }));
  }
}

describe('fine-tuned gpt-4o-mini images', () => {
  const upstream = new Mini();
  let gateway: TestGateway;
  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: base
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: k}
    model_info: {input_cost_per_token: 0.0000003, output_cost_per_token: 0.0000012}
  - model_name: tuned
    litellm_params: {model: "openai/ft:gpt-4o-mini-2024-07-18:acme::abc123", api_base: "${upstream.url}", api_key: k}
    model_info: {input_cost_per_token: 0.0000003, output_cost_per_token: 0.0000012}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });
  const call = async (model: string) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'text', text: 'Colour?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${blackPng(2048, 2048)}`, detail: 'high' } }] }] }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    console.log(model, row?.prompt_tokens, row?.usage_adjusted);
    return row!.prompt_tokens ?? 0;
  };
  it('control: gpt-4o-mini is charged the image tokens', async () => expect(await call('base')).toBeGreaterThanOrEqual(IMAGE_TOKENS));
  it('ft:gpt-4o-mini is charged the image tokens', async () => expect(await call('tuned')).toBeGreaterThanOrEqual(IMAGE_TOKENS));
});
