import { describe, expect, it } from 'vitest';
import { assertChatToolsBillable, assertNoDeferredChat, validateChatRequest, validateCompletionRequest } from './validate.js';

const messages = [{ role: 'user', content: 'hi' }];
const fn = { type: 'function', function: { name: 'f', parameters: { type: 'object' } } };

function refusedParam(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as { param?: string }).param;
  }
  return undefined;
}

describe('chat tools the provider bills per use', () => {
  it('the chat route takes function tools only; a missing or null type is left to the shape check', () => {
    expect(validateChatRequest({ model: 'm', messages, tools: [fn] }).tools).toHaveLength(1);
    expect(refusedParam(() => validateChatRequest({ model: 'm', messages, tools: [fn, { type: 'browser_search', function: { name: 'x' } }] }))).toBe('tools[1].type');
    expect(refusedParam(() => validateChatRequest({ model: 'm', messages, tools: [{ type: 'custom', custom: { name: 'x' } }] }))).toBe('tools[0].type');
    expect(validateChatRequest({ model: 'm', messages, tools: [{ function: { name: 'f' } }] }).tools).toHaveLength(1);
    expect(refusedParam(() => validateChatRequest({ model: 'm', messages, tools: [{ type: null }] }))).toBe('tools[0]');
  });

  it('the relay allows function and custom tools', () => {
    expect(() => assertChatToolsBillable({ tools: [fn, { type: 'custom', custom: { name: 'sql' } }] })).not.toThrow();
    expect(refusedParam(() => assertChatToolsBillable({ tools: [{ type: 'code_interpreter' }] }))).toBe('tools[0].type');
    expect(refusedParam(() => assertChatToolsBillable({ tools: [{ type: 7 }] }))).toBe('tools[0].type');
    expect(() => assertChatToolsBillable({ tools: 'not a list' })).not.toThrow();
  });
});

describe('work run after the answer', () => {
  it('a deferred completion is refused unless the caller may run unbilled work; false and null are no deferral', () => {
    expect(refusedParam(() => assertNoDeferredChat({ deferred: true }, false))).toBe('deferred');
    expect(refusedParam(() => assertNoDeferredChat({ deferred: 'yes' }, false))).toBe('deferred');
    expect(() => assertNoDeferredChat({ deferred: true }, true)).not.toThrow();
    for (const deferred of [false, null, undefined]) expect(() => assertNoDeferredChat({ deferred }, false)).not.toThrow();
    expect(refusedParam(() => validateChatRequest({ model: 'm', messages, deferred: true }))).toBe('deferred');
  });
});

describe('web search billed per result', () => {
  it('is refused on completions as on chat', () => {
    expect(refusedParam(() => validateCompletionRequest({ model: 'm', prompt: 'p', plugins: [{ id: 'web' }] }))).toBe('plugins');
    expect(refusedParam(() => validateCompletionRequest({ model: 'm', prompt: 'p', search_parameters: { mode: 'on' } }))).toBe('search_parameters');
    expect(refusedParam(() => validateChatRequest({ model: 'm', messages, plugins: [{ id: 'web' }] }))).toBe('plugins');
  });
});
