import { describe, expect, it } from 'vitest';
import { buildCohereChatRequest, cohereChatBody, cohereChatWarnings, cohereUrl } from './request.js';
import { cohereDeployment } from './test-support.js';

describe('OpenAI chat → Cohere chat v2', () => {
  it('posts to /v2/chat with a bearer key and maps the sampling fields to Cohere\'s names', () => {
    const upstream = buildCohereChatRequest(
      { model: 'x', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], max_tokens: 100, temperature: 0.3, top_p: 0.8, top_k: 40, stop: ['END'], seed: 7, frequency_penalty: 0.1, presence_penalty: 0.2 },
      cohereDeployment(),
    );
    expect(upstream).toMatchObject({ url: 'https://api.cohere.com/v2/chat', method: 'POST', framing: 'json' });
    expect(upstream.headers.authorization).toBe('Bearer co-test-key');
    expect(JSON.parse(upstream.body!)).toEqual({
      model: 'command-a-03-2025',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }],
      max_tokens: 100,
      temperature: 0.3,
      p: 0.8,
      k: 40,
      seed: 7,
      frequency_penalty: 0.1,
      presence_penalty: 0.2,
      stop_sequences: ['END'],
    });
  });

  it('streams as SSE with stream: true', () => {
    const upstream = buildCohereChatRequest({ model: 'x', messages: [{ role: 'user', content: 'Hi' }], stream: true }, cohereDeployment());
    expect(upstream.framing).toBe('sse');
    expect(upstream.headers.accept).toBe('text/event-stream');
    expect(JSON.parse(upstream.body!)).toEqual({ model: 'command-a-03-2025', messages: [{ role: 'user', content: 'Hi' }], stream: true });
  });

  it('maps tools, tool calls, tool results, tool_choice and json_schema', () => {
    const body = cohereChatBody(
      {
        model: 'x',
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Toronto"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
        ],
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } }],
        tool_choice: 'required',
        response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' } } },
      },
      cohereDeployment(),
    );
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
      { role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Toronto"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
    ]);
    expect(body.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } }]);
    expect(body.tool_choice).toBe('REQUIRED');
    expect(body.response_format).toEqual({ type: 'json_object', json_schema: { type: 'object' } });
  });

  it('refuses a named tool_choice and n > 1', () => {
    expect(() => cohereChatBody({ model: 'x', messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'function', function: { name: 'f' } } }, cohereDeployment())).toThrow(/one named tool/);
    expect(() => cohereChatBody({ model: 'x', messages: [{ role: 'user', content: 'x' }], n: 3 }, cohereDeployment())).toThrow(/n must be 1/);
  });

  it('completes an api_base given with a version segment', () => {
    expect(cohereUrl('https://api.cohere.com/v1', 'chat')).toBe('https://api.cohere.com/v2/chat');
    expect(cohereUrl('https://api.cohere.com/v2/', 'embed')).toBe('https://api.cohere.com/v2/embed');
  });
});

describe('strict tools → strict_tools', () => {
  const strict = { type: 'function' as const, function: { name: 'a', strict: true, parameters: { type: 'object' } } };
  const loose = { type: 'function' as const, function: { name: 'b', parameters: { type: 'object' } } };
  const messages = [{ role: 'user' as const, content: 'hi' }];

  it('every tool strict: strict_tools is sent and nothing is warned', () => {
    expect(cohereChatBody({ model: 'x', messages, tools: [strict] }, cohereDeployment()).strict_tools).toBe(true);
    expect(cohereChatWarnings({ model: 'x', messages, tools: [strict] })).toEqual([]);
  });

  it('some tools strict: not sent (it would bind every tool), and warned', () => {
    expect(cohereChatBody({ model: 'x', messages, tools: [strict, loose] }, cohereDeployment())).not.toHaveProperty('strict_tools');
    expect(cohereChatWarnings({ model: 'x', messages, tools: [strict, loose] })).toEqual([expect.stringContaining('"tools[].function.strict"')]);
  });
});
