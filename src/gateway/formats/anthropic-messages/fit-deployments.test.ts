import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../../providers/types.js';
import { fitToDeployments } from './fit-deployments.js';
import { messagesRequestToChat } from './request.js';

const geminiLike = new Set(['max_tokens', 'temperature', 'top_k', 'stop', 'tools', 'tool_choice', 'reasoning_effort']);
const anthropicLike = new Set(['max_tokens', 'temperature', 'top_k', 'stop', 'tools', 'tool_choice', 'parallel_tool_calls', 'reasoning_effort', 'thinking', 'user']);

function mapped(extra: Record<string, unknown>): ChatRequest {
  return messagesRequestToChat({
    model: 'm',
    max_tokens: 4096,
    metadata: { user_id: 'user-1' },
    tools: [{ name: 'f', input_schema: { type: 'object' } }],
    tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    messages: [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'Plan.', signature: 'sig-1' }, { type: 'tool_use', id: 't1', name: 'f', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] },
    ],
    ...extra,
  }).request;
}

describe('fitToDeployments', () => {
  it('keeps everything for a pass-through (OpenAI-compatible) deployment but thinking, sent as reasoning_effort (OpenAI has no "thinking")', () => {
    const request = mapped({ thinking: { type: 'enabled', budget_tokens: 2048 } });
    const { request: fitted, warnings } = fitToDeployments(request, [undefined]);
    expect(fitted).toMatchObject({ user: 'user-1', parallel_tool_calls: false, reasoning_effort: 'medium' });
    expect(fitted).not.toHaveProperty('thinking');
    expect(fitted.messages[1]).not.toHaveProperty('thinking_blocks');
    expect(warnings).toEqual([]);
  });

  it('sends an Anthropic-style adapter everything, signed thinking blocks included', () => {
    const request = mapped({ thinking: { type: 'enabled', budget_tokens: 2048 } });
    const { request: fitted, warnings } = fitToDeployments(request, [anthropicLike]);
    expect(fitted).toEqual(request);
    expect(fitted.messages[1].thinking_blocks).toEqual([{ type: 'thinking', thinking: 'Plan.', signature: 'sig-1' }]);
    expect(warnings).toEqual([]);
  });

  it('drops hints a Gemini-like adapter cannot take and keeps thinking as reasoning_effort', () => {
    const { request: fitted, warnings } = fitToDeployments(mapped({ thinking: { type: 'enabled', budget_tokens: 8192 } }), [geminiLike]);
    expect(fitted).not.toHaveProperty('user');
    expect(fitted).not.toHaveProperty('parallel_tool_calls');
    expect(fitted).not.toHaveProperty('thinking');
    expect(fitted.reasoning_effort).toBe('high');
    expect(warnings).toEqual([
      'ignored "metadata.user_id": the model\'s provider has no equivalent',
      'ignored "tool_choice.disable_parallel_tool_use": the model\'s provider has no equivalent',
    ]);
    expect(fitToDeployments(mapped({ thinking: { type: 'adaptive' } }), [geminiLike]).request).not.toHaveProperty('thinking');
    expect(fitToDeployments(mapped({ thinking: { type: 'disabled' } }), [geminiLike]).warnings).toContain('ignored "thinking": {"type":"disabled"}: the model\'s provider has no switch to turn thinking off');
  });

  it('leaves enabled thinking that no deployment can do for the parameter policy to refuse, by the name the client sent', () => {
    const request = mapped({ thinking: { type: 'enabled', budget_tokens: 2048 } });
    const { request: fitted } = fitToDeployments(request, [new Set(['max_tokens', 'tools', 'tool_choice'])]);
    expect(fitted.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(fitted).not.toHaveProperty('reasoning_effort');
  });

  it('changes nothing when a deployment of a mixed group takes the field, or the model is unknown', () => {
    const request = mapped({});
    expect(fitToDeployments(request, [geminiLike, anthropicLike]).request).toMatchObject({ user: 'user-1', parallel_tool_calls: false });
    expect(fitToDeployments(request, []).request).toBe(request);
  });
});

describe('cache_control', () => {
  const withBreakpoints = () =>
    messagesRequestToChat({
      model: 'm',
      max_tokens: 10,
      system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral' } }],
      tools: [{ name: 't', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral', ttl: '1h' } }] }],
    }).request;

  it('is removed, with a warning, for a group with no Anthropic-style deployment', () => {
    const fitted = fitToDeployments(withBreakpoints(), [geminiLike, undefined]);
    expect(JSON.stringify(fitted.request)).not.toContain('cache_control');
    expect(fitted.warnings.join()).toContain('"cache_control"');
  });

  it('is kept for an Anthropic-style deployment', () => {
    const fitted = fitToDeployments(withBreakpoints(), [anthropicLike]);
    expect(JSON.stringify(fitted.request).split('cache_control').length - 1).toBe(3);
    expect(fitted.warnings).toEqual([]);
  });
});
