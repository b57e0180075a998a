import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { ChatRequest } from '../types.js';
import { anthropicChatWarnings, buildAnthropicRequest, buildMessagesBody, messagesUrl } from './request.js';
import { anthropicDeployment } from './test-support.js';

const target = anthropicDeployment();
const MODEL = 'claude-3-5-sonnet-20241022';

function body(request: Omit<ChatRequest, 'model'>, deployment = target) {
  return buildMessagesBody({ model: 'claude', ...request } as ChatRequest, deployment);
}

function rejection(request: Omit<ChatRequest, 'model'>): GatewayError {
  try {
    body(request);
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected the request to be refused');
}

const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Get the current weather in a given location',
    parameters: { type: 'object', properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' } }, required: ['location'] },
  },
};

const ANTHROPIC_WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Get the current weather in a given location',
  input_schema: WEATHER_TOOL.function.parameters,
};

describe('the HTTP request', () => {
  it('posts to {api_base}/v1/messages with x-api-key, anthropic-version and the deployment headers', () => {
    const request = buildAnthropicRequest(
      { model: 'claude', messages: [{ role: 'user', content: 'Hello, Claude' }] },
      anthropicDeployment({ headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } }),
    );
    expect(request).toEqual({
      url: 'https://api.anthropic.com/v1/messages',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-ant-test', 'anthropic-beta': 'prompt-caching-2024-07-31' },
      body: JSON.stringify({ model: MODEL, max_tokens: 4096, messages: [{ role: 'user', content: 'Hello, Claude' }] }),
      framing: 'sse',
    });
  });

  it('completes a base URL that already names /v1 or the endpoint instead of doubling it', () => {
    expect(messagesUrl('http://127.0.0.1:4000')).toBe('http://127.0.0.1:4000/v1/messages');
    expect(messagesUrl('https://proxy.example/anthropic/v1/')).toBe('https://proxy.example/anthropic/v1/messages');
    expect(messagesUrl('https://api.anthropic.com/v1/messages')).toBe('https://api.anthropic.com/v1/messages');
  });
});

describe('messages', () => {
  it('sends a single user message as the documented string shorthand', () => {
    expect(body({ messages: [{ role: 'user', content: 'Hello, Claude' }] })).toEqual({ model: MODEL, max_tokens: 4096, messages: [{ role: 'user', content: 'Hello, Claude' }] });
  });

  it('moves system and developer messages to the top-level system parameter', () => {
    expect(body({ messages: [{ role: 'system', content: 'You are a seasoned data scientist at a Fortune 500 company.' }, { role: 'user', content: 'Analyze this dataset.' }] })).toEqual({
      model: MODEL,
      max_tokens: 4096,
      system: 'You are a seasoned data scientist at a Fortune 500 company.',
      messages: [{ role: 'user', content: 'Analyze this dataset.' }],
    });
    expect(
      body({
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'Hi' },
        ],
      }).system,
    ).toEqual([
      { type: 'text', text: 'You are terse.' },
      { type: 'text', text: 'Answer in French.' },
    ]);
  });

  it('merges consecutive messages of one role and keeps a final assistant message as prefill', () => {
    expect(
      body({
        messages: [
          { role: 'user', content: 'Hello there.' },
          { role: 'assistant', content: "Hi, I'm Claude. How can I help you?" },
          { role: 'user', content: 'Can you explain LLMs in plain English?' },
          { role: 'user', content: [{ type: 'text', text: 'Keep it short.' }] },
          { role: 'assistant', content: 'The best answer is (' },
        ],
      }).messages,
    ).toEqual([
      { role: 'user', content: 'Hello there.' },
      { role: 'assistant', content: "Hi, I'm Claude. How can I help you?" },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Can you explain LLMs in plain English?' },
          { type: 'text', text: 'Keep it short.' },
        ],
      },
      { role: 'assistant', content: 'The best answer is (' },
    ]);
  });

  it('maps data: URL images to base64 sources and http(s) URLs to url sources', () => {
    expect(
      body({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQSkZJRg==' } },
              { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg', detail: 'high' } },
              { type: 'text', text: 'Compare these two images.' },
            ],
          },
        ],
      }).messages,
    ).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
          { type: 'image', source: { type: 'url', url: 'https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg' } },
          { type: 'text', text: 'Compare these two images.' },
        ],
      },
    ]);
  });

  it('refuses images Anthropic cannot take, naming the part', () => {
    const error = rejection({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }] }] });
    expect(error).toMatchObject({ code: 'invalid_request', status: 400, param: 'messages[0].content[0]' });
    expect(error.message).toContain('image/bmp');
    expect(rejection({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://example.com/a.png' } }] }] }).param).toBe('messages[0].content[0]');
    expect(rejection({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] }).message).toContain('"input_audio"');
  });

  it('maps a PDF file part to a document block', () => {
    expect(body({ messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0x' } }] }] }).messages).toEqual([
      { role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0x' } }] },
    ]);
  });

  it('keeps cache_control from content parts and from whole messages (on their last block)', () => {
    const result = body({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'A long shared context', cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: 'Summarise it.', cache_control: { type: 'ephemeral' } },
      ],
    });
    expect(result.system).toEqual([{ type: 'text', text: 'A long shared context', cache_control: { type: 'ephemeral' } }]);
    expect(result.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Summarise it.', cache_control: { type: 'ephemeral' } }] }]);
  });

  it('refuses the legacy function role and a conversation of system messages only', () => {
    expect(rejection({ messages: [{ role: 'function', name: 'f', content: '1' }] })).toMatchObject({ param: 'messages[0].role' });
    expect(rejection({ messages: [{ role: 'system', content: 'Only a system prompt' }] })).toMatchObject({ param: 'messages' });
  });
});

describe('tools', () => {
  it('maps tools, assistant tool_calls to tool_use and tool results to a user turn (results first)', () => {
    const result = body({
      messages: [
        { role: 'user', content: "What's the weather like in San Francisco and Paris?" },
        {
          role: 'assistant',
          content: 'Let me check both.',
          tool_calls: [
            { id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location": "San Francisco, CA"}' } },
            { id: 'toolu_01B19q90qw90lq917835lq8', type: 'function', function: { name: 'get_weather', arguments: '{"location": "Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_01A09q90qw90lq917835lq9', content: '15 degrees' },
        { role: 'tool', tool_call_id: 'toolu_01B19q90qw90lq917835lq8', content: [{ type: 'text', text: '22 degrees' }] },
        { role: 'user', content: 'Which one is warmer?' },
      ],
      tools: [WEATHER_TOOL],
    });
    expect(result).toEqual({
      model: MODEL,
      max_tokens: 4096,
      messages: [
        { role: 'user', content: "What's the weather like in San Francisco and Paris?" },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me check both.' },
            { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA' } },
            { type: 'tool_use', id: 'toolu_01B19q90qw90lq917835lq8', name: 'get_weather', input: { location: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_01A09q90qw90lq917835lq9', content: '15 degrees' },
            { type: 'tool_result', tool_use_id: 'toolu_01B19q90qw90lq917835lq8', content: [{ type: 'text', text: '22 degrees' }] },
            { type: 'text', text: 'Which one is warmer?' },
          ],
        },
      ],
      tools: [ANTHROPIC_WEATHER_TOOL],
    });
  });

  it('puts tool results before text that came first in the merged user turn', () => {
    const result = body({
      messages: [
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
        { role: 'user', content: 'Here it is:' },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      ],
      tools: [WEATHER_TOOL],
    });
    expect(result.messages).toEqual([
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
          { type: 'text', text: 'Here it is:' },
        ],
      },
    ]);
  });

  it('gives a tool without parameters an empty object schema', () => {
    expect(body({ messages: [{ role: 'user', content: 'time?' }], tools: [{ type: 'function', function: { name: 'now' } }] }).tools).toEqual([{ name: 'now', input_schema: { type: 'object', properties: {} } }]);
  });

  it.each([
    ['auto', { type: 'auto' }],
    ['none', { type: 'none' }],
    ['required', { type: 'any' }],
    [{ type: 'function', function: { name: 'get_weather' } }, { type: 'tool', name: 'get_weather' }],
  ] as const)('maps tool_choice %j to %j', (choice, expected) => {
    expect(body({ messages: [{ role: 'user', content: 'Weather?' }], tools: [WEATHER_TOOL], tool_choice: choice as ChatRequest['tool_choice'] }).tool_choice).toEqual(expected);
  });

  it('maps parallel_tool_calls: false to disable_parallel_tool_use on the tool choice', () => {
    const messages = [{ role: 'user' as const, content: 'Weather?' }];
    expect(body({ messages, tools: [WEATHER_TOOL], parallel_tool_calls: false }).tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(body({ messages, tools: [WEATHER_TOOL], tool_choice: 'required', parallel_tool_calls: false }).tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(body({ messages, tools: [WEATHER_TOOL], tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'tool',
      name: 'get_weather',
      disable_parallel_tool_use: true,
    });
    expect(body({ messages, tools: [WEATHER_TOOL], tool_choice: 'none', parallel_tool_calls: false }).tool_choice).toEqual({ type: 'none' });
    expect(body({ messages, tools: [WEATHER_TOOL], parallel_tool_calls: true }).tool_choice).toBeUndefined();
  });

  it('refuses tool call arguments that are not a JSON object', () => {
    const error = rejection({ messages: [{ role: 'assistant', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] });
    expect(error.param).toBe('messages[0].tool_calls[0].function.arguments');
    expect(rejection({ messages: [{ role: 'tool', content: 'x' }] }).param).toBe('messages[0].tool_call_id');
  });
});

describe('response_format', () => {
  const schema = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false };

  it('forces the answer tool for json_schema', () => {
    expect(body({ messages: [{ role: 'user', content: 'Extract the person.' }], response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } } })).toEqual({
      model: MODEL,
      max_tokens: 4096,
      messages: [{ role: 'user', content: 'Extract the person.' }],
      tools: [{ name: 'json_tool_call', description: 'Respond with a JSON object that matches the input schema. The tool input is the whole answer.', input_schema: schema }],
      tool_choice: { type: 'tool', name: 'json_tool_call' },
    });
  });

  it('asks for any JSON object for json_object, and nothing for text', () => {
    expect(body({ messages: [{ role: 'user', content: 'JSON please' }], response_format: { type: 'json_object' } }).tools?.[0].input_schema).toEqual({ type: 'object' });
    const plain = body({ messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'text' } });
    expect(plain.tools).toBeUndefined();
    expect(plain.tool_choice).toBeUndefined();
  });

  it('leaves the choice to the model next to client tools, and to "auto" with thinking', () => {
    const withTools = body({ messages: [{ role: 'user', content: 'Weather as JSON' }], tools: [WEATHER_TOOL], response_format: { type: 'json_schema', json_schema: { name: 'w', schema } } });
    expect(withTools.tools?.map((tool) => tool.name)).toEqual(['get_weather', 'json_tool_call']);
    expect(withTools.tool_choice).toBeUndefined();
    const thinking = body({ messages: [{ role: 'user', content: 'Think, then JSON' }], reasoning_effort: 'low', response_format: { type: 'json_schema', json_schema: { name: 'w', schema } } });
    expect(thinking.tool_choice).toEqual({ type: 'auto' });
  });

  it('reserves the answer tool name', () => {
    expect(rejection({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'json_tool_call' } }] }).param).toBe('tools[0].function.name');
  });
});

describe('sampling and limits', () => {
  it('maps stop, temperature, top_p, top_k, user and stream', () => {
    expect(body({ messages: [{ role: 'user', content: 'Hi' }], stop: 'END', temperature: 0.2, top_p: 0.9, top_k: 40, user: 'user-123', stream: true, stream_options: { include_usage: true } })).toEqual({
      model: MODEL,
      max_tokens: 4096,
      messages: [{ role: 'user', content: 'Hi' }],
      stop_sequences: ['END'],
      temperature: 0.2,
      top_p: 0.9,
      top_k: 40,
      metadata: { user_id: 'user-123' },
      stream: true,
    });
    expect(body({ messages: [{ role: 'user', content: 'Hi' }], stop: ['\n\nHuman:', 'END'] }).stop_sequences).toEqual(['\n\nHuman:', 'END']);
    expect(body({ messages: [{ role: 'user', content: 'Hi' }], user: 'u', metadata: { user_id: 'anthropic-user', trace: 'x' } }).metadata).toEqual({ user_id: 'anthropic-user' });
  });

  it('takes max_tokens from the client, then the deployment, then model_info, then 4096', () => {
    const messages = [{ role: 'user' as const, content: 'Hi' }];
    expect(body({ messages, max_tokens: 100 }).max_tokens).toBe(100);
    expect(body({ messages, max_tokens: 100, max_completion_tokens: 200 }).max_tokens).toBe(200);
    const configured = anthropicDeployment({ defaultParams: { max_tokens: 300, temperature: 0.5 }, modelInfo: { max_output_tokens: 8192 } });
    expect(body({ messages, max_tokens: 100 }, configured)).toMatchObject({ max_tokens: 100, temperature: 0.5 });
    expect(body({ messages }, configured).max_tokens).toBe(300);
    expect(body({ messages }, anthropicDeployment({ modelInfo: { max_output_tokens: 8192, max_tokens: 4000 } })).max_tokens).toBe(8192);
    expect(body({ messages }, anthropicDeployment({ modelInfo: { max_tokens: 4000 } })).max_tokens).toBe(4000);
    expect(body({ messages }).max_tokens).toBe(4096);
  });

  it('maps reasoning_effort to a thinking budget that fits under the max_tokens reserved (never raising it)', () => {
    const messages = [{ role: 'user' as const, content: 'Prove it.' }];
    expect(body({ messages, reasoning_effort: 'low' })).toMatchObject({ max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 } });
    expect(body({ messages, reasoning_effort: 'medium' })).toMatchObject({ max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(body({ messages, reasoning_effort: 'high' })).toMatchObject({ max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 4095 } });
    expect(rejection({ messages, reasoning_effort: 'low', max_tokens: 500 }).param).toBe('max_tokens');
    expect(rejection({ messages, thinking: { type: 'enabled', budget_tokens: 2000 }, max_tokens: 2000 }).param).toBe('max_tokens');
    expect(body({ messages, reasoning_effort: 'none' }).thinking).toBeUndefined();
    expect(rejection({ messages, reasoning_effort: 'extreme' }).param).toBe('reasoning_effort');
  });

  it('leaves out the deployment\'s default temperature and top_k when thinking is on', () => {
    const configured = anthropicDeployment({ defaultParams: { temperature: 0.3, top_k: 5, top_p: 0.99 } });
    const messages = [{ role: 'user' as const, content: 'Prove it.' }];
    const thinking = body({ messages, reasoning_effort: 'low' }, configured);
    expect(thinking).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 }, top_p: 0.99 });
    expect(thinking).not.toHaveProperty('temperature');
    expect(thinking).not.toHaveProperty('top_k');
    expect(body({ messages, reasoning_effort: 'low', temperature: 1 }, configured).temperature).toBe(1);
    expect(body({ messages }, configured)).toMatchObject({ temperature: 0.3, top_k: 5 });
  });

  it('passes a raw thinking object through, over reasoning_effort', () => {
    expect(body({ messages: [{ role: 'user', content: 'Hi' }], thinking: { type: 'enabled', budget_tokens: 10000 }, reasoning_effort: 'low', max_tokens: 16000 })).toMatchObject({
      max_tokens: 16000,
      thinking: { type: 'enabled', budget_tokens: 10000 },
    });
  });

  it('sends signed thinking blocks of an assistant turn back before its tool use', () => {
    const result = body({
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          thinking_blocks: [{ type: 'thinking', thinking: 'I should call the tool.', signature: 'sig-1' }],
          tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      ],
      tools: [WEATHER_TOOL],
      reasoning_effort: 'low',
    });
    expect(result.messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'I should call the tool.', signature: 'sig-1' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } },
      ],
    });
  });

  it('refuses n > 1', () => {
    expect(rejection({ messages: [{ role: 'user', content: 'Hi' }], n: 2 })).toMatchObject({ code: 'unsupported_parameter', param: 'n' });
    expect(body({ messages: [{ role: 'user', content: 'Hi' }], n: 1 })).not.toHaveProperty('n');
  });
});

describe('cache_control on tool calls, and strict warnings', () => {
  it('a tool call\'s cache_control marks its tool_use block', () => {
    const sent = body({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 't', arguments: '{}' }, cache_control: { type: 'ephemeral', ttl: '1h' } } as never] },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'r' },
      ],
    });
    expect(sent.messages[1].content).toEqual([{ type: 'tool_use', id: 'toolu_1', name: 't', input: {}, cache_control: { type: 'ephemeral', ttl: '1h' } }]);
  });

  it('strict tools and a strict json_schema are named; non-strict ones are not', () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    expect(anthropicChatWarnings({ model: 'm', messages, tools: [{ type: 'function', function: { name: 'a', strict: true } }, { type: 'function', function: { name: 'b' } }] })).toEqual([expect.stringContaining('("a")')]);
    expect(anthropicChatWarnings({ model: 'm', messages, response_format: { type: 'json_schema', json_schema: { name: 'r', strict: true, schema: {} } } })).toEqual([expect.stringContaining('"response_format.json_schema.strict"')]);
    expect(anthropicChatWarnings({ model: 'm', messages, tools: [{ type: 'function', function: { name: 'b', strict: false } }] })).toEqual([]);
  });
});
