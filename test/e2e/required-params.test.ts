/**
 * LiteLLM's general_settings.enforce_user_param and enforced_params: a virtual key's model call that
 * names no end user, or lacks an enforced body field, is refused with 400 (LiteLLM's words) before
 * it reaches the upstream; the master key and routes that call no model are not checked. Through the
 * real server with the official openai and Anthropic SDKs.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
const SETTINGS = '  enforce_user_param: true\n  enforced_params: [metadata.generation_name]\n';
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, SETTINGS));
  key = (await new Management(gateway.url).ok<{ key: string }>('POST', '/key/generate', { models: ['cheap'] })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function statusOf(promise: Promise<unknown>): Promise<{ status: number; message?: string; param?: unknown }> {
  try {
    await promise;
    return { status: 200 };
  } catch (error) {
    if (error instanceof OpenAI.APIError || error instanceof Anthropic.APIError) return { status: error.status ?? 0, message: error.message, param: (error.error as { error?: { param?: unknown }; param?: unknown } | undefined)?.param ?? (error.error as { error?: { param?: unknown } } | undefined)?.error?.param };
    throw error;
  }
}

const chat = (client: OpenAI, extra: Record<string, unknown>, headers?: Record<string, string>) =>
  statusOf(client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming, headers ? { headers } : undefined));

describe('enforce_user_param and enforced_params', () => {
  it('are honoured settings (no "not supported" warning), and a malformed path is a config error', () => {
    const loaded = parseConfig(pricedConfig('http://127.0.0.1:9', SETTINGS), {}, 'config.yaml');
    expect(loaded.issues.filter((issue) => ['enforce_user_param', 'enforced_params'].includes(String(issue.path[1])))).toEqual([]);
    const bad = parseConfig(pricedConfig('http://127.0.0.1:9', '  enforced_params: ["metadata..name"]\n'), {}, 'config.yaml');
    expect(bad.issues.some((issue) => issue.fatal && issue.path.slice(0, 2).join('.') === 'general_settings.enforced_params')).toBe(true);
  });

  it('a virtual key\'s call without an end user, or without an enforced field, is refused before the upstream sees it', async () => {
    const client = gateway.openai(key);
    const before = upstream.requests.length;
    const noUser = await chat(client, { metadata: { generation_name: 'g' } });
    expect(noUser.status).toBe(400);
    expect(noUser.message).toContain("'user' param not passed in. 'enforce_user_param'=True");
    const noField = await chat(client, { user: 'alice', metadata: { other: 'x' } });
    expect(noField.status).toBe(400);
    expect(noField.message).toContain('BadRequest please pass param=[metadata][generation_name] in request body');
    expect(await chat(client, { user: 'alice' })).toMatchObject({ status: 400 });
    expect(upstream.requests.length).toBe(before);
    expect(await chat(client, { user: 'alice', metadata: { generation_name: 'g' } })).toEqual({ status: 200 });
    // The end-user header names the end user too.
    expect(await chat(client, { metadata: { generation_name: 'g' } }, { 'x-litellm-end-user-id': 'bob' })).toEqual({ status: 200 });
    expect(upstream.requests.length).toBe(before + 2);
  });

  it('embeddings and /v1/messages are model calls too; Anthropic\'s metadata.user_id names the end user', async () => {
    const client = gateway.openai(key);
    expect((await statusOf(client.embeddings.create({ model: 'cheap', input: 'x' }))).status).toBe(400);
    const anthropic = new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 });
    const message = (metadata: Record<string, string>) => statusOf(anthropic.messages.create({ model: 'cheap', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], metadata } as Anthropic.MessageCreateParamsNonStreaming));
    expect((await message({ generation_name: 'g' })).status).toBe(400);
    expect(await message({ user_id: 'carol', generation_name: 'g' })).toEqual({ status: 200 });
  });

  it('a multipart upload is not read for them: the end-user header names the end user, an enforced field cannot be checked', async () => {
    const form = new FormData();
    form.append('model', 'cheap');
    form.append('user', 'dave');
    form.append('file', new Blob([Buffer.alloc(64)], { type: 'audio/wav' }), 'a.wav');
    const answer = await fetch(`${gateway.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: { message: string } }).error.message).toMatch(/x-litellm-end-user-id header/);
  });

  it('the master key and routes that call no model are not checked', async () => {
    expect(await chat(gateway.openai(MASTER_KEY), {})).toEqual({ status: 200 });
    const info = await fetch(`${gateway.url}/key/info`, { headers: { authorization: `Bearer ${key}` } });
    expect(info.status).toBe(200);
    const models = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(models.status).toBe(200);
  });
});
