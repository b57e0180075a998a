import { describe, expect, it } from 'vitest';
import { adapterFor } from '../registry.js';
import type { ChatChunk, Deployment } from '../types.js';

const target: Deployment = { id: 't', modelName: 'instruct', provider: 'text-completion-openai', upstreamModel: 'gpt-3.5-turbo-instruct', apiBase: 'https://api.openai.com/v1', apiKey: 'sk-test', headers: {}, defaultParams: { temperature: 0.1, max_tokens: 100 }, modelInfo: {}, available: true };
const adapter = adapterFor('text-completion-openai')!;

describe('chat requests to a completions model', () => {
  it('post a prompt built from the messages to /completions, with client fields over the deployment defaults', () => {
    const built = adapter.buildChatRequest({ model: 'instruct', messages: [{ role: 'system', content: 'You translate.' }, { role: 'user', content: [{ type: 'text', text: 'Bonjour' }, { type: 'text', text: '!' }] }], max_completion_tokens: 20, stop: ['\n'] }, target);
    expect(built.url).toBe('https://api.openai.com/v1/completions');
    expect(built.headers.authorization).toBe('Bearer sk-test');
    expect(JSON.parse(built.body!)).toEqual({ model: 'gpt-3.5-turbo-instruct', prompt: 'You translate.\n\nBonjour!', temperature: 0.1, max_tokens: 20, stop: ['\n'] });
  });

  it('one message is the prompt as it is; streams ask for usage', () => {
    const built = adapter.buildChatRequest({ model: 'instruct', messages: [{ role: 'user', content: 'Say this is a test' }], stream: true }, { ...target, defaultParams: {} });
    expect(JSON.parse(built.body!)).toEqual({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test', stream: true, stream_options: { include_usage: true } });
  });

  it('refuse image parts, and name only the chat fields they can map', () => {
    expect(() => adapter.buildChatRequest({ model: 'i', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }, target)).toThrow(/completion models take text only/);
    expect(adapter.supportedParams?.has('tools')).toBe(false);
    expect(adapter.supportedParams?.has('max_tokens')).toBe(true);
  });
});

describe('completions answers as chat completions', () => {
  it('map each choice\'s text to an assistant message and keep usage', () => {
    const usage = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };
    const chat = adapter.parseChatResponse({ id: 'cmpl-1', object: 'text_completion', created: 1700000000, model: 'gpt-3.5-turbo-instruct', choices: [{ text: '\n\nThis is a test.', index: 0, logprobs: null, finish_reason: 'length' }], usage }, target);
    expect(chat).toEqual({ id: 'cmpl-1', object: 'chat.completion', created: 1700000000, model: 'gpt-3.5-turbo-instruct', choices: [{ index: 0, message: { role: 'assistant', content: '\n\nThis is a test.' }, finish_reason: 'length', logprobs: null }], usage });
  });

  it('stream: text pieces become content deltas (the first with the role), the usage chunk is read', () => {
    const transform = adapter.createStreamTransform(target, { model: 'i', messages: [] });
    const base = { id: 'cmpl-2', object: 'text_completion', created: 1700000000, model: 'gpt-3.5-turbo-instruct' };
    const chunks: ChatChunk[] = [];
    for (const event of [
      { ...base, choices: [{ text: 'This', index: 0, logprobs: null, finish_reason: null }] },
      { ...base, choices: [{ text: ' is', index: 0, logprobs: null, finish_reason: null }] },
      { ...base, choices: [{ text: '', index: 0, logprobs: null, finish_reason: 'stop' }] },
      { ...base, choices: [], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } },
    ]) {
      for (const emitted of transform.push(JSON.stringify(event))) chunks.push(emitted.chunk);
    }
    expect(transform.push('[DONE]')).toEqual([]);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([{ role: 'assistant', content: 'This' }, { content: ' is' }, { content: '' }, undefined]);
    expect(chunks[2].choices[0].finish_reason).toBe('stop');
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(transform.usage).toMatchObject({ promptTokens: 4, completionTokens: 2, totalTokens: 6 });
  });

  it('an error event inside the stream becomes the stream\'s error', () => {
    const transform = adapter.createStreamTransform(target, { model: 'i', messages: [] });
    transform.push(JSON.stringify({ error: { message: 'The server had an error', type: 'server_error' } }));
    expect(transform.error?.message).toMatch(/The server had an error/);
  });
});

describe('/v1/completions requests', () => {
  it('pass through to the completions endpoint with the upstream model', () => {
    const built = adapter.buildCompletionRequest!({ model: 'instruct', prompt: 'Once', max_tokens: 5, echo: true }, target);
    expect(built.url).toBe('https://api.openai.com/v1/completions');
    expect(JSON.parse(built.body!)).toEqual({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once', max_tokens: 5, echo: true, temperature: 0.1 });
  });
});
