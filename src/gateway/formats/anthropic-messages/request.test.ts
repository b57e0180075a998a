import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../errors.js';
import { renderError } from '../../../http/error-handler.js';
import { effortForBudget, messagesRequestToChat } from './request.js';

function rejection(body: unknown, options: { forCounting?: boolean } = {}): GatewayError {
  try {
    messagesRequestToChat(body, options);
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected the request to be refused');
}

// The get_weather tool of Anthropic's tool-use guide.
const weatherTool = {
  name: 'get_weather',
  description: 'Get the current weather in a given location',
  input_schema: {
    type: 'object',
    properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' } },
    required: ['location'],
  },
};

describe('messagesRequestToChat', () => {
  it('maps the basic request of the API reference', () => {
    const { request, context } = messagesRequestToChat({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'Hello, world' }] });
    expect(request).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'Hello, world' }] });
    expect(context).toEqual({ model: 'claude-sonnet-4-5', stopSequences: [] });
  });

  it('maps system blocks, sampling, stop sequences, metadata and streaming', () => {
    const { request, context } = messagesRequestToChat({
      model: 'my-model',
      max_tokens: 256,
      system: [
        { type: 'text', text: 'You are a pirate.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Answer briefly.' },
      ],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Arr' }, { type: 'text', text: '!' }] },
        { role: 'user', content: 'Where is the treasure?' },
      ],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['\n\nHuman:', 'END'],
      metadata: { user_id: 'user-42' },
      stream: true,
      service_tier: 'auto',
    });
    expect(request).toEqual({
      model: 'my-model',
      max_tokens: 256,
      messages: [
        // A block with cache_control keeps the system as text parts (the breakpoint reaches Anthropic).
        { role: 'system', content: [{ type: 'text', text: 'You are a pirate.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Answer briefly.' }] },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Arr!' },
        { role: 'user', content: 'Where is the treasure?' },
      ],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop: ['\n\nHuman:', 'END'],
      user: 'user-42',
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(context.stopSequences).toEqual(['\n\nHuman:', 'END']);
  });

  it('maps tools, a tool_use turn and its tool_result (the tool-use guide conversation)', () => {
    const { request } = messagesRequestToChat({
      model: 'claude-opus-4-1',
      max_tokens: 1024,
      tools: [weatherTool],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: "What's the weather like in San Francisco?" },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'I should call the tool.', signature: 'sig' },
            { type: 'text', text: "I'll check the current weather in San Francisco for you." },
            { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA', unit: 'celsius' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_01A09q90qw90lq917835lq9', content: '15 degrees' },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
      ],
    });
    expect(request).toEqual({
      model: 'claude-opus-4-1',
      max_tokens: 1024,
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Get the current weather in a given location',
            parameters: weatherTool.input_schema,
          },
        },
      ],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      messages: [
        { role: 'user', content: "What's the weather like in San Francisco?" },
        {
          role: 'assistant',
          content: "I'll check the current weather in San Francisco for you.",
          thinking_blocks: [{ type: 'thinking', thinking: 'I should call the tool.', signature: 'sig' }],
          tool_calls: [
            { id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_01A09q90qw90lq917835lq9', content: '15 degrees' },
        { role: 'user', content: 'And tomorrow?' },
      ],
    });
  });

  it('keeps only signed thinking: unsigned thinking came from a model that cannot read it back', () => {
    const { request } = messagesRequestToChat({
      model: 'm',
      max_tokens: 10,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'Greet.', signature: '' }, { type: 'redacted_thinking', data: 'EmwK' }, { type: 'text', text: 'Hello' }] },
      ],
    });
    expect(request.messages[1]).toEqual({ role: 'assistant', content: 'Hello', thinking_blocks: [{ type: 'redacted_thinking', data: 'EmwK' }] });
  });

  it('maps every tool_choice', () => {
    const choice = (tool_choice: unknown) => {
      const { request } = messagesRequestToChat({ model: 'm', max_tokens: 1, tools: [weatherTool], tool_choice, messages: [{ role: 'user', content: 'x' }] });
      return { tool_choice: request.tool_choice, parallel_tool_calls: request.parallel_tool_calls };
    };
    expect(choice({ type: 'auto' })).toEqual({ tool_choice: 'auto', parallel_tool_calls: undefined });
    expect(choice({ type: 'any' })).toEqual({ tool_choice: 'required', parallel_tool_calls: undefined });
    expect(choice({ type: 'none' })).toEqual({ tool_choice: 'none', parallel_tool_calls: undefined });
    expect(choice({ type: 'tool', name: 'get_weather', disable_parallel_tool_use: true })).toEqual({
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
    });
  });

  it('maps images, tool results with blocks, errors and images, and an assistant turn of only tool calls', () => {
    const { request } = messagesRequestToChat({
      model: 'm',
      max_tokens: 100,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
            { type: 'image', source: { type: 'url', url: 'https://upload.wikimedia.org/ant.jpg' } },
            { type: 'text', text: 'Describe these images.' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'toolu_1', name: 'screenshot', input: {} },
            { type: 'tool_use', id: 'toolu_2', name: 'lookup', input: { q: 'ants' } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_1',
              content: [
                { type: 'text', text: 'Captured.' },
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
                { type: 'text', text: 'One window.' },
              ],
            },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: 'service unavailable', is_error: true },
          ],
        },
      ],
    });
    expect(request.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQSkZJRg==' } },
          { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/ant.jpg' } },
          { type: 'text', text: 'Describe these images.' },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'screenshot', arguments: '{}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'lookup', arguments: '{"q":"ants"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Captured.\nOne window.' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: service unavailable' },
      // A tool message cannot carry images: they follow in a user message.
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
    ]);
  });

  it('maps PDF and text documents, and refuses sources it would have to fetch', () => {
    const { request } = messagesRequestToChat({
      model: 'm',
      max_tokens: 100,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', title: 'report.pdf', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjc=' } },
            { type: 'document', title: 'Notes', source: { type: 'text', media_type: 'text/plain', data: 'The grass is green.' } },
            { type: 'text', text: 'Summarize.' },
          ],
        },
      ],
    });
    expect(request.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'file', file: { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBERi0xLjc=' } },
          { type: 'text', text: 'Notes\n\nThe grass is green.' },
          { type: 'text', text: 'Summarize.' },
        ],
      },
    ]);
    const error = rejection({
      model: 'm',
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }] }],
    });
    expect(error.status).toBe(400);
    expect(error.message).toContain('messages[0].content[0].source.type "url" is not supported');
  });

  it('passes thinking on and maps its budget (or output_config.effort) to reasoning_effort', () => {
    const thinking = { type: 'enabled', budget_tokens: 10_000 };
    const { request } = messagesRequestToChat({ model: 'm', max_tokens: 16_000, thinking, messages: [{ role: 'user', content: 'Think.' }] });
    expect(request).toMatchObject({ thinking, reasoning_effort: 'high' });
    expect([1024, 2048, 4096].map(effortForBudget)).toEqual(['low', 'medium', 'high']);

    const adaptive = messagesRequestToChat({ model: 'm', max_tokens: 100, thinking: { type: 'adaptive' }, output_config: { effort: 'low' }, messages: [{ role: 'user', content: 'x' }] });
    expect(adaptive.request).toMatchObject({ thinking: { type: 'adaptive' }, reasoning_effort: 'low' });
    const disabled = messagesRequestToChat({ model: 'm', max_tokens: 100, thinking: { type: 'disabled' }, messages: [{ role: 'user', content: 'x' }] });
    expect(disabled.request.reasoning_effort).toBeUndefined();
  });

  it('requires max_tokens, except when counting tokens', () => {
    const error = rejection({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] });
    expect(error.status).toBe(400);
    expect(error.param).toBe('max_tokens');
    expect(JSON.parse(renderError(error, 'anthropic'))).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('missing required parameter "max_tokens"') },
    });
    expect(messagesRequestToChat({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], stream: true }, { forCounting: true }).request).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'Hi' }],
    });
  });

  it('refuses malformed bodies with messages that name the field', () => {
    const base = { model: 'm', max_tokens: 10 };
    const cases: Array<[unknown, string]> = [
      [[], 'the request body must be a JSON object'],
      [{ max_tokens: 10, messages: [] }, 'missing required parameter "model"'],
      [{ ...base }, 'missing required parameter "messages"'],
      [{ ...base, messages: [] }, '"messages" must contain at least one message'],
      [{ ...base, max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }, '"max_tokens" must be at least 1'],
      [{ ...base, max_tokens: 1.5, messages: [{ role: 'user', content: 'x' }] }, '"max_tokens" must be an integer'],
      [{ ...base, messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role must be "user" or "assistant", got "robot"'],
      [{ ...base, messages: [{ role: 'user', content: 5 }] }, 'messages[0].content must be a string or an array of content blocks, got number'],
      [{ ...base, messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages[0].content[0].text must be a string, got undefined'],
      [{ ...base, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] }, 'tool_use blocks belong in assistant messages'],
      [{ ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'a', name: 'b', input: [] }] }] }, 'messages[0].content[0].input must be an object'],
      [{ ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }, 'Files API ids are not served'],
      [{ ...base, temperature: 'hot', messages: [{ role: 'user', content: 'x' }] }, '"temperature" must be a number, got string'],
      [{ ...base, stop_sequences: 'END', messages: [{ role: 'user', content: 'x' }] }, '"stop_sequences" must be an array of strings'],
      [{ ...base, tools: [{ name: 't' }], messages: [{ role: 'user', content: 'x' }] }, 'tools[0].input_schema must be a JSON Schema object'],
      [{ ...base, tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'x' }] }, 'server tool "web_search_20250305"'],
      [{ ...base, tools: [weatherTool], tool_choice: { type: 'sometimes' }, messages: [{ role: 'user', content: 'x' }] }, 'tool_choice.type must be "auto", "any", "tool" or "none"'],
      [{ ...base, thinking: { type: 'enabled' }, messages: [{ role: 'user', content: 'x' }] }, 'thinking.budget_tokens must be a positive integer'],
      [{ ...base, mcp_servers: [{ url: 'https://mcp.example.com' }], messages: [{ role: 'user', content: 'x' }] }, '"mcp_servers" needs Anthropic\'s own servers'],
    ];
    for (const [body, message] of cases) {
      const error = rejection(body);
      expect(error.status, message).toBe(400);
      expect(error.message).toContain(message);
    }
  });
});

describe('cache_control is carried where the Anthropic adapter reads it', () => {
  const cc = { type: 'ephemeral', ttl: '1h' };
  const base = { model: 'm', max_tokens: 10 };

  it('system blocks stay text parts when one has cache_control; otherwise they are joined', () => {
    const { request } = messagesRequestToChat({ ...base, system: [{ type: 'text', text: 'a', cache_control: cc }, { type: 'text', text: 'b' }], messages: [{ role: 'user', content: 'hi' }] });
    expect(request.messages[0]).toEqual({ role: 'system', content: [{ type: 'text', text: 'a', cache_control: cc }, { type: 'text', text: 'b' }] });
    const joined = messagesRequestToChat({ ...base, system: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], messages: [{ role: 'user', content: 'hi' }] });
    expect(joined.request.messages[0]).toEqual({ role: 'system', content: 'a\n\nb' });
  });

  it('a lone text block with cache_control is not turned into a string', () => {
    const { request } = messagesRequestToChat({ ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: cc }] }] });
    expect(request.messages[0].content).toEqual([{ type: 'text', text: 'hi', cache_control: cc }]);
  });

  it('tool_use, tool_result (also from an inner block), assistant text and tools keep theirs', () => {
    const { request } = messagesRequestToChat({
      ...base,
      tools: [{ name: 't', input_schema: { type: 'object' }, cache_control: cc }],
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'text', text: 'calling', cache_control: cc }, { type: 'tool_use', id: 'toolu_1', name: 't', input: {}, cache_control: cc }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'r', cache_control: cc }] }] },
      ],
    });
    expect(request.tools?.[0]).toMatchObject({ cache_control: cc });
    expect(request.messages[1].content).toEqual([{ type: 'text', text: 'calling', cache_control: cc }]);
    expect(request.messages[1].tool_calls?.[0]).toMatchObject({ cache_control: cc });
    expect(request.messages[2]).toMatchObject({ role: 'tool', content: 'r', cache_control: cc });
  });

  it('a document\'s breakpoint goes after its last part; a malformed cache_control is refused', () => {
    const { request } = messagesRequestToChat({ ...base, messages: [{ role: 'user', content: [{ type: 'document', title: 'T', source: { type: 'text', media_type: 'text/plain', data: 'x' }, context: 'c', cache_control: cc }] }] });
    const parts = request.messages[0].content as Array<Record<string, unknown>>;
    expect(parts.map((part) => part.cache_control)).toEqual([undefined, cc]);
    expect(rejection({ ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: 'yes' }] }] }).message).toContain('cache_control must be {"type":"ephemeral"}');
  });
});

describe('the gateway\'s own body fields', () => {
  it('power_level is carried for the rules stage (checked against the tier there), as on the other routes, and not warned about as ignored', () => {
    const mapped = messagesRequestToChat({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], power_level: 'precision' });
    expect((mapped.request as Record<string, unknown>).power_level).toBe('precision');
    expect(mapped.warnings).toEqual([]);
  });
});
