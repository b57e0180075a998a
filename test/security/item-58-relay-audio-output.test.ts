/**
 * Chat answers in audio (`"modalities": ["text", "audio"]`, `"audio": {voice, format}` on
 * gpt-4o-audio-preview and the like) are billed per audio token — $80 per million on
 * gpt-4o-audio-preview against $10 for text — which the gateway does not price: `/v1/chat/completions`
 * refuses them. The relay's `POST /openai/v1/chat/completions`, open to any key, passed them on, so
 * the operator paid for audio charged as text. It now refuses them the same way (an admin key may
 * still relay them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

class AudioChatUpstream extends MockServer {
  calls = 0;

  start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for await (const _ of request) void _;
    this.calls++;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'chatcmpl-audio', object: 'chat.completion', created: 1, model: 'gpt-4o-audio-preview', choices: [{ index: 0, message: { role: 'assistant', content: null, audio: { id: 'audio_1', data: 'UklGRg==', expires_at: 2, transcript: 'Hello.' } }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 5000, total_tokens: 5010, completion_tokens_details: { audio_tokens: 4990, text_tokens: 10 } } }));
  }
}

describe('the relay refuses chat answers in audio, as /v1/chat/completions does', () => {
  const upstream = new AudioChatUpstream();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: audio
    litellm_params: {model: openai/gpt-4o-audio-preview, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const body = (extra: Record<string, unknown>) => JSON.stringify({ model: 'audio', messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 6000, ...extra });

  it('an ordinary key: 400 naming the field, nothing reaches the upstream', async () => {
    const key = (await api.generateKey({ models: ['audio'] })).key;
    for (const [extra, param] of [
      [{ modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } }, 'audio'],
      [{ modalities: ['text', 'audio'] }, 'modalities'],
    ] as const) {
      const before = upstream.calls;
      const response = await fetch(`${gateway.url}/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body(extra) });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { param: string } }).error.param).toBe(param);
      expect(upstream.calls).toBe(before);
    }
  });

  it('a text answer still relays; an admin key may relay audio', async () => {
    const key = (await api.generateKey({ models: ['audio'] })).key;
    const text = await fetch(`${gateway.url}/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body({}) });
    expect(text.status).toBe(200);
    const admin = await fetch(`${gateway.url}/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: body({ modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } }) });
    expect(admin.status).toBe(200);
  });
});
