import { describe, expect, it } from 'vitest';
import { chatCall, fakeContext, recordingNext } from '../../../test/support/stage-fakes.js';
import { GatewayError } from '../../errors.js';
import { guardrailDefinitions, guardrailsConfigSchema } from '../../guardrails/definitions.js';
import { GuardrailRegistry } from '../../guardrails/registry.js';
import type { GatewayResult } from '../call-context.js';
import { guardrailStage } from './guardrails.js';

function registry(config: unknown): GuardrailRegistry {
  return new GuardrailRegistry(guardrailDefinitions(guardrailsConfigSchema.parse(config)).definitions);
}

const guardrails = registry([
  { guardrail_name: 'pii', litellm_params: { guardrail: 'pii', default_on: true, output_parse_pii: true, pii_entities_config: { EMAIL_ADDRESS: 'MASK', CREDIT_CARD: 'BLOCK' } } },
  { guardrail_name: 'words', litellm_params: { guardrail: 'content_filter', mode: 'post_call', blocked_words: ['secret'] } },
  { guardrail_name: 'vendor', litellm_params: { guardrail: 'lakera_v2', api_key: 'x' } },
]);
const stage = guardrailStage(() => guardrails);
const answer = (content: string): GatewayResult => ({ kind: 'json', status: 200, headers: {}, body: JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }) });
const ask = (content: string, guardrailNames?: string[], stream = false) =>
  chatCall({ model: 'm', messages: [{ role: 'user', content }] }, { stream, context: fakeContext({ requestOptions: guardrailNames ? { guardrails: guardrailNames } : undefined }) });

describe('guardrail stage', () => {
  it('hands next a masked copy, never writing the call it was given, and restores the answer', async () => {
    const call = ask('mail bob@example.com');
    const next = recordingNext(async () => answer('Wrote to <EMAIL_ADDRESS_1>'));
    const result = await stage(call, next);
    expect(next.calls[0].operation.request).toMatchObject({ messages: [{ role: 'user', content: 'mail <EMAIL_ADDRESS_1>' }] });
    expect(call.operation.request).toMatchObject({ messages: [{ role: 'user', content: 'mail bob@example.com' }] });
    expect(JSON.parse((result as { body: string }).body).choices[0].message.content).toBe('Wrote to bob@example.com');
    expect(result.headers['x-switchboard-guardrails']).toBe('pii=masked(EMAIL_ADDRESS), pii=restored');
  });

  it('refuses a blocked entity without calling next, and keeps the outcome on the context', async () => {
    const call = ask('card 4242 4242 4242 4242');
    const next = recordingNext();
    const error = await stage(call, next).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('guardrail_violation');
    expect(next.calls).toHaveLength(0);
    expect(call.context.guardrails).toEqual([expect.objectContaining({ name: 'pii', action: 'blocked' })]);
  });

  it('runs a post_call guardrail only when asked, on the answer', async () => {
    expect((await stage(ask('hi'), recordingNext(async () => answer('a secret')))).kind).toBe('json');
    const error = await stage(ask('hi', ['words']), recordingNext(async () => answer('a secret'))).catch((caught: unknown) => caught);
    expect((error as GatewayError).message).toContain('"words": the answer contains the blocked word "secret"');
  });

  it('refuses a call that would run a guardrail type that is not built in', async () => {
    const next = recordingNext();
    const error = await stage(ask('hi', ['vendor']), next).catch((caught: unknown) => caught);
    expect((error as GatewayError).message).toContain('"lakera_v2" is not built in');
    expect(next.calls).toHaveLength(0);
  });

  it('validates the config with errors that name the entry', () => {
    expect(() => registry([{ guardrail_name: 'a', litellm_params: { guardrail: 'pii', blocked_words: ['x'] } }])).toThrow('guardrails[0] (a): litellm_params.blocked_words does not apply to a pii guardrail');
    expect(() => registry([{ guardrail_name: 'a', litellm_params: { guardrail: 'content_filter' } }])).toThrow('needs at least one of');
    expect(() => registry([{ guardrail_name: 'a', litellm_params: { guardrail: 'pii', pii_entities_config: { PASSPORT: 'MASK' } } }])).toThrow('pii_entities_config names "PASSPORT"');
    expect(guardrailsConfigSchema.safeParse([{ guardrail_name: 'a', litellm_params: { guardrail: 'pii', mode: 'sometimes' } }]).success).toBe(false);
  });
});

describe('stream window check', () => {
  it('holds chunks until a window of text passed, then cuts with the format\'s error event on a violation', async () => {
    const { checkedFormat } = await import('../../guardrails/stream-check.js');
    const written: string[] = [];
    const inner = {
      chat: () => '',
      stream: () => ({ contentType: 'text/event-stream', chunks: (emitted: Array<{ chunk: { choices: Array<{ delta: { content: string } }> } }>) => emitted.map((item) => item.chunk.choices[0].delta.content).join(''), error: (error: GatewayError) => `ERROR ${error.message}`, end: () => 'END' }),
    };
    const format = checkedFormat(inner as never, (text) => (text.includes('bad') ? new GatewayError('guardrail_violation', 'blocked') : undefined), 10);
    const encoder = format.stream({ includeUsage: false });
    const emit = (content: string) => encoder.chunks([{ chunk: { choices: [{ index: 0, delta: { content }, finish_reason: null }] } } as never]);
    written.push(emit('hello '), emit('world, '), emit('this is '), emit('bad'), emit('more'), encoder.end({ usage: undefined, last: undefined, usageForwarded: false }));
    expect(written).toEqual(['', 'hello world, ', '', 'ERROR blocked', '', '']);
  });
});
