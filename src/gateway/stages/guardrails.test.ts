import { describe, expect, it } from 'vitest';
import { chatCall, fakeContext, recordingNext } from '../../../test/support/stage-fakes.js';
import { GatewayError } from '../../errors.js';
import { guardrailDefinitions, guardrailsConfigSchema } from '../../guardrails/definitions.js';
import { GuardrailRegistry } from '../../guardrails/registry.js';
import { PiiVault } from '../../guardrails/pii.js';
import { PlaceholderRestorer, restoringFormat } from '../../guardrails/stream-restore.js';
import type { GatewayResult } from '../call-context.js';
import type { Stage } from '../call.js';
import { openAIResponseFormat } from '../response-format.js';
import { guardrailPostCallStage } from './guardrails-post.js';
import { guardrailPreCallStage } from './guardrails-pre.js';

function registry(config: unknown): GuardrailRegistry {
  return new GuardrailRegistry(guardrailDefinitions(guardrailsConfigSchema.parse(config)).definitions);
}

const guardrails = registry([
  { guardrail_name: 'pii', litellm_params: { guardrail: 'pii', default_on: true, output_parse_pii: true, pii_entities_config: { EMAIL_ADDRESS: 'MASK', CREDIT_CARD: 'BLOCK' } } },
  { guardrail_name: 'words', litellm_params: { guardrail: 'content_filter', mode: 'post_call', blocked_words: ['secret'] } },
  { guardrail_name: 'vendor', litellm_params: { guardrail: 'lakera_v2', api_key: 'x' } },
  { guardrail_name: 'alongside', litellm_params: { guardrail: 'content_filter', mode: 'during_call', blocked_words: ['forbidden'] } },
]);
/** The two stages as the chain runs them: pre_call, then post_call. */
function stages(registry: () => GuardrailRegistry | undefined): Stage {
  const pre = guardrailPreCallStage(registry);
  const post = guardrailPostCallStage();
  return (call, next) => pre(call, (inner) => post(inner, next));
}
const stage = stages(() => guardrails);
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

  it('during_call: next starts before the verdict; a refusal is the answer, a pass lets it through', async () => {
    const order: string[] = [];
    const next = recordingNext(async (call) => {
      order.push('next');
      const refused = await call.guardrails!.duringCall;
      order.push(refused ? 'refused' : 'passed');
      if (refused) throw refused;
      return answer('fine');
    });
    const error = await stage(ask('a forbidden thing', ['alongside']), next).catch((caught: unknown) => caught);
    expect((error as GatewayError).code).toBe('guardrail_violation');
    expect((error as GatewayError).message).toContain('"alongside"');
    expect(next.calls).toHaveLength(1);
    expect(next.calls[0].operation.request).toMatchObject({ messages: [{ content: 'a forbidden thing' }] });
    const passed = await stage(ask('a plain thing', ['alongside']), next);
    expect(JSON.parse((passed as { body: string }).body).choices[0].message.content).toBe('fine');
    expect(order).toEqual(['next', 'refused', 'next', 'passed']);
  });

  it('during_call: a failed attempt gives way to the guardrail\'s refusal', async () => {
    const next = recordingNext(async () => {
      throw new GatewayError('upstream_error', 'upstream broke');
    });
    const error = await stage(ask('forbidden', ['alongside']), next).catch((caught: unknown) => caught);
    expect((error as GatewayError).code).toBe('guardrail_violation');
  });

  it('validates the config with errors that name the entry', () => {
    expect(() => registry([{ guardrail_name: 'a', litellm_params: { guardrail: 'pii', mode: 'during_call' } }])).toThrow('guardrails[0] (a): mode during_call runs alongside the upstream call');
    expect(registry([{ guardrail_name: 'a', litellm_params: { guardrail: 'pii', mode: 'during_call', pii_entities_config: { CREDIT_CARD: 'BLOCK' } } }]).size).toBe(1);
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

describe('output_parse_pii on a stream', () => {
  const vault = new PiiVault();
  vault.placeholder('EMAIL_ADDRESS', 'jane@example.com');
  vault.placeholder('EMAIL_ADDRESS', 'bob@example.com');

  it('restores a placeholder split anywhere across pieces, holding back only what could start one', () => {
    const text = 'Write to <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>; 3 < 4 and <b> stays.';
    for (let size = 1; size <= text.length; size++) {
      const restorer = new PlaceholderRestorer(vault, () => {});
      let out = '';
      for (let at = 0; at < text.length; at += size) out += restorer.push(text.slice(at, at + size));
      out += restorer.flush();
      expect(out).toBe('Write to jane@example.com or bob@example.com; 3 < 4 and <b> stays.');
    }
    const restorer = new PlaceholderRestorer(vault, () => {});
    expect(restorer.push('mail <EMAIL_')).toBe('mail ');
    expect(restorer.push('ADDRESS_1> now <')).toBe('jane@example.com now ');
    expect(restorer.push('x')).toBe('<x');
    expect(restorer.push('<EMAIL_ADDRESS_9>')).toBe('<EMAIL_ADDRESS_9>');
  });

  it('rewrites the chunks the client encoder gets, flushing the held tail with the finish chunk', () => {
    let restored = 0;
    const encoder = restoringFormat(openAIResponseFormat, vault, () => restored++).stream({ includeUsage: false });
    const chunk = (content: string | undefined, finish: string | null = null) => ({ chunk: { id: 'c', object: 'chat.completion.chunk' as const, created: 1, model: 'm', choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }] } });
    const contents = (sse: string) => sse.split('\n\n').filter((event) => event.startsWith('data: {')).map((event) => JSON.parse(event.slice(6)).choices[0]);
    expect(encoder.forwardsSse).toBe(false);
    expect(contents(encoder.chunks([chunk('Hi <EMA')]))).toEqual([expect.objectContaining({ delta: { content: 'Hi ' } })]);
    expect(encoder.chunks([chunk('IL_ADD')])).toBe('');
    expect(contents(encoder.chunks([chunk('RESS_2'), chunk('>!')]))).toEqual([expect.objectContaining({ delta: { content: 'bob@example.com!' } })]);
    expect(contents(encoder.chunks([chunk('<EMAIL'), chunk(undefined, 'stop')]))).toEqual([expect.objectContaining({ delta: { content: '<EMAIL' }, finish_reason: 'stop' })]);
    expect(restored).toBe(1);
  });

  it('restores a completion\'s `text` too, and flushes a tail held at the end of a stream without a finish chunk', () => {
    const encoder = restoringFormat(openAIResponseFormat, vault, () => {}).stream({ includeUsage: false });
    const chunk = (text: string) => ({ chunk: { id: 'c', object: 'chat.completion.chunk' as const, created: 1, model: 'm', choices: [{ index: 0, text, delta: {}, finish_reason: null }] } });
    const texts = (sse: string) => sse.split('\n\n').filter((event) => event.startsWith('data: {')).map((event) => JSON.parse(event.slice(6)).choices[0].text);
    expect(texts(encoder.chunks([chunk('to <EMAIL_ADDRESS'), chunk('_1> and <EMAIL_ADD')]))).toEqual(['to ', 'jane@example.com and ']);
    const end = encoder.end({ usage: undefined, last: undefined, usageForwarded: false });
    expect(texts(end)).toEqual(['<EMAIL_ADD']);
    expect(end.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});
