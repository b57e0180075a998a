import { describe, expect, it } from 'vitest';
import { parseBedrockChatResponse } from './response.js';
import { bedrockDeployment, fixture } from './test-support.js';

describe('Bedrock ConverseResponse → OpenAI chat.completion', () => {
  it('maps a text answer with its usage', () => {
    const response = parseBedrockChatResponse(JSON.parse(fixture('converse-text.json')), bedrockDeployment());
    expect(response).toMatchObject({
      object: 'chat.completion',
      model: 'anthropic.claude-3-5-haiku-20241022-v1:0',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 },
    });
    expect(response.id).toMatch(/^chatcmpl-/);
  });

  it('maps tool use to tool_calls and counts cache reads and writes into prompt_tokens', () => {
    const response = parseBedrockChatResponse(JSON.parse(fixture('converse-tool-use.json')), bedrockDeployment());
    expect(response.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: "I'll look up the weather in Paris.",
        tool_calls: [{ id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
    });
    // 410 uncached + 150 read + 50 written
    expect(response.usage).toEqual({ prompt_tokens: 610, completion_tokens: 62, total_tokens: 672, prompt_tokens_details: { cached_tokens: 150 }, cache_creation_input_tokens: 50 });
  });

  it('maps stop reasons', () => {
    const finish = (stopReason: string) => parseBedrockChatResponse({ output: { message: { role: 'assistant', content: [] } }, stopReason }, bedrockDeployment()).choices[0].finish_reason;
    expect(finish('max_tokens')).toBe('length');
    expect(finish('stop_sequence')).toBe('stop');
    expect(finish('guardrail_intervened')).toBe('content_filter');
    expect(finish('content_filtered')).toBe('content_filter');
  });

  it('leaves usage out when Bedrock gives none (unknown, not zero) and refuses a body that is no ConverseResponse', () => {
    expect(parseBedrockChatResponse({ output: { message: { role: 'assistant', content: [{ text: 'x' }] } }, stopReason: 'end_turn' }, bedrockDeployment()).usage).toBeUndefined();
    expect(() => parseBedrockChatResponse({ message: 'oops' }, bedrockDeployment())).toThrow(/not a ConverseResponse/);
  });
});
