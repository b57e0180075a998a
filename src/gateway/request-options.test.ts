import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { CallContext } from './call-context.js';
import { ClientConnection } from './client-connection.js';
import { consumeRequestOptions, MAX_REQUEST_RETRIES, MAX_REQUEST_TIMEOUT_SECONDS } from './request-options.js';

function context(): CallContext {
  return { callId: 'c1', startedAt: 0, startedAtEpochMs: 0, endpoint: 'chat/completions', caller: { keyHash: null, keyAlias: null, userId: null, teamId: null, isAdmin: false }, client: new ClientConnection(), recorded: false };
}

const messages = [{ role: 'user', content: 'hi' }];

function refusal(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('consumeRequestOptions', () => {
  it('returns the same body, and sets nothing, when the request has no LiteLLM field', () => {
    const call = context();
    const body = { model: 'm', messages, temperature: 0.2, user: 'u-1' };
    expect(consumeRequestOptions(call, {}, body)).toBe(body);
    expect(call.endUser).toBe('u-1');
    expect(call.requestTags).toBeUndefined();
    expect(call.requestOptions).toBeUndefined();
  });

  it('takes every LiteLLM field off a copy, never writing the client body, and keeps `user` for the provider', () => {
    const call = context();
    const body = {
      model: 'm',
      messages,
      user: 'end-user-7',
      metadata: { tags: ['from-metadata'], trace_id: 't-1', user_api_key_user_id: 'admin' },
      tags: ['team-a', 'shared'],
      num_retries: 2,
      timeout: 1.5,
      mock_response: 'mocked',
      caching: false,
      guardrails: [],
      user_api_key_alias: 'someone-else',
    };
    const before = structuredClone(body);
    const copy = consumeRequestOptions(call, { 'x-litellm-tags': 'shared, from-header ,' }, body) as Record<string, unknown>;
    expect(body).toEqual(before);
    expect(copy).toEqual({ model: 'm', messages, user: 'end-user-7', cache: { 'no-cache': true, 'no-store': true } });
    expect(call.endUser).toBe('end-user-7');
    expect(call.requestTags).toEqual(['team-a', 'shared', 'from-metadata', 'from-header']);
    expect(call.requestMetadata).toEqual({ tags: ['from-metadata'], trace_id: 't-1' });
    expect(call.requestOptions).toMatchObject({ numRetries: 2, timeoutMs: 1500, mockResponse: 'mocked' });
    expect(call.requestOptions?.warnings).toEqual([
      'removed "metadata.user_api_key_user_id": who calls is set by the API key, never by the request',
      'removed "user_api_key_alias": who calls is set by the API key, never by the request',
    ]);
  });

  it('reads the LiteLLM headers, the body winning over them', () => {
    const call = context();
    consumeRequestOptions(call, { 'x-litellm-timeout': '30', 'x-litellm-num-retries': '4', 'x-litellm-end-user-id': 'header-user' }, { model: 'm', messages });
    expect(call.requestOptions).toEqual({ numRetries: 4, timeoutMs: 30_000 });
    expect(call.endUser).toBe('header-user');
    const other = context();
    consumeRequestOptions(other, { 'x-litellm-timeout': '30', 'x-litellm-num-retries': '4', 'x-litellm-end-user-id': 'header-user' }, { model: 'm', messages, timeout: 2, num_retries: 0, user: 'body-user' });
    expect(other.requestOptions).toEqual({ numRetries: 0, timeoutMs: 2000 });
    expect(other.endUser).toBe('body-user');
  });

  it('maps caching: true onto the cache controls the request also sent', () => {
    const copy = consumeRequestOptions(context(), {}, { model: 'm', messages, caching: true, cache: { ttl: 60 } }) as Record<string, unknown>;
    expect(copy.cache).toEqual({ ttl: 60, 'use-cache': true });
  });

  it('reads guardrail names from the body (list or LiteLLM\'s object) and metadata.guardrails, never forwarding them', () => {
    const call = context();
    const copy = consumeRequestOptions(call, {}, { model: 'm', messages, guardrails: ['pii-mask', 'toxicity'], metadata: { guardrails: ['toxicity', 'injection'] } }) as Record<string, unknown>;
    expect(call.requestOptions?.guardrails).toEqual(['pii-mask', 'toxicity', 'injection']);
    expect(copy).not.toHaveProperty('guardrails');
    const other = context();
    consumeRequestOptions(other, {}, { model: 'm', messages, guardrails: { 'pii-mask': {} } });
    expect(other.requestOptions?.guardrails).toEqual(['pii-mask']);
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, guardrails: { 'pii-mask': { extra_body: { x: 1 } } } })).message).toContain('per-request settings of guardrail "pii-mask" are not supported');
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, guardrails: 'pii-mask' })).param).toBe('guardrails');
  });

  it('refuses retries and timeouts out of bounds, in the body or a header', () => {
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, num_retries: MAX_REQUEST_RETRIES + 1 })).param).toBe('num_retries');
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, num_retries: 1.5 })).param).toBe('num_retries');
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, timeout: 0 })).param).toBe('timeout');
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, timeout: MAX_REQUEST_TIMEOUT_SECONDS + 1 })).param).toBe('timeout');
    expect(refusal(() => consumeRequestOptions(context(), { 'x-litellm-timeout': 'soon' }, { model: 'm', messages })).param).toBe('x-litellm-timeout');
    expect(refusal(() => consumeRequestOptions(context(), { 'x-litellm-num-retries': '-1' }, { model: 'm', messages })).param).toBe('x-litellm-num-retries');
  });

  it('refuses malformed tags, metadata and mock_response, and too many tags in all', () => {
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, tags: 'a,b' })).param).toBe('tags');
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, tags: [1] })).param).toBe('tags[0]');
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, metadata: 'x' })).param).toBe('metadata');
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, mock_response: { choices: [] } })).param).toBe('mock_response');
    const many = Array.from({ length: 20 }, (_, index) => `t${index}`);
    const header = Array.from({ length: 20 }, (_, index) => `h${index}`).join(',');
    expect(refusal(() => consumeRequestOptions(context(), { 'x-litellm-tags': header }, { model: 'm', messages, tags: many })).param).toBe('tags');
    expect(refusal(() => consumeRequestOptions(context(), {}, { model: 'm', messages, metadata: { blob: 'x'.repeat(9000) } })).param).toBe('metadata');
  });

  it('on /v1/messages keeps Anthropic metadata.user_id for the mapping and as the end user', () => {
    const call = context();
    const copy = consumeRequestOptions(call, {}, { model: 'm', max_tokens: 10, messages, metadata: { user_id: 'claude-user', tags: ['x'] }, tags: ['y'] }, 'anthropic') as Record<string, unknown>;
    expect(copy).toEqual({ model: 'm', max_tokens: 10, messages, metadata: { user_id: 'claude-user' } });
    expect(call.endUser).toBe('claude-user');
    expect(call.requestTags).toEqual(['y', 'x']);
  });

  it('passes a body that is not an object through for validation to refuse', () => {
    expect(consumeRequestOptions(context(), {}, 'text')).toBe('text');
  });
});
