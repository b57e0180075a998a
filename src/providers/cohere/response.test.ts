import { describe, expect, it } from 'vitest';
import { parseCohereChatResponse } from './response.js';
import { cohereDeployment, fixture } from './test-support.js';

describe('Cohere chat v2 → OpenAI chat.completion', () => {
  it('maps a text answer; usage is the billed units', () => {
    const response = parseCohereChatResponse(JSON.parse(fixture('chat-text.json')), cohereDeployment());
    expect(response).toMatchObject({
      id: 'chatcmpl-c14c80c3-18eb-4519-9460-6c92edd8cfb4',
      object: 'chat.completion',
      model: 'command-a-03-2025',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from Cohere!' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 418, total_tokens: 423 },
    });
  });

  it('maps tool calls with their ids', () => {
    const response = parseCohereChatResponse(JSON.parse(fixture('chat-tool-call.json')), cohereDeployment());
    expect(response.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: { content: null, tool_calls: [{ id: 'get_weather_1byjy32y4hvq', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Toronto"}' } }] },
    });
    expect(response.usage).toMatchObject({ prompt_tokens: 37, completion_tokens: 28 });
  });

  it('falls back to tokens when billed_units is absent, and leaves usage out when there is none', () => {
    expect(parseCohereChatResponse({ message: { content: [] }, finish_reason: 'MAX_TOKENS', usage: { tokens: { input_tokens: 9, output_tokens: 4 } } }, cohereDeployment())).toMatchObject({
      choices: [{ finish_reason: 'length' }],
      usage: { prompt_tokens: 9, completion_tokens: 4 },
    });
    expect(parseCohereChatResponse({ message: { content: [{ type: 'text', text: 'x' }] }, finish_reason: 'COMPLETE' }, cohereDeployment()).usage).toBeUndefined();
    expect(() => parseCohereChatResponse({ text: 'v1 shape' }, cohereDeployment())).toThrow(/not a chat v2 response/);
  });
});
