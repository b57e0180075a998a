import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { ChatRequest } from '../types.js';
import { geminiAdapter } from './index.js';
import { geminiDeployment } from './test-support.js';

const deployment = geminiDeployment;

function build(request: Omit<ChatRequest, 'model'> & Pick<ChatRequest, 'messages'>, target = deployment()) {
  const upstream = geminiAdapter.buildChatRequest({ model: 'gemini-flash', ...request }, target);
  return { ...upstream, json: JSON.parse(upstream.body!) as Record<string, unknown> };
}

function refusal(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected the request to be refused');
}

const LIGHT_TOOL = {
  type: 'function' as const,
  function: {
    name: 'set_light_values',
    description: 'Sets the brightness and color temperature of a light.',
    parameters: {
      type: 'object',
      properties: {
        brightness: { type: 'integer', description: 'Light level from 0 to 100. Zero is off and 100 is full brightness' },
        color_temp: { type: 'string', enum: ['daylight', 'cool', 'warm'], description: 'Color temperature of the light fixture, which can be `daylight`, `cool` or `warm`.' },
      },
      required: ['brightness', 'color_temp'],
      additionalProperties: false,
    },
    strict: true,
  },
};

describe('gemini chat request: URL and headers', () => {
  it('posts to generateContent with the key in x-goog-api-key, never in the URL', () => {
    const upstream = build({ messages: [{ role: 'user', content: 'Hi' }] }, deployment({ headers: { 'x-custom': 'yes' } }));
    expect(upstream.method).toBe('POST');
    expect(upstream.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent');
    expect(upstream.url).not.toContain('AIza');
    expect(upstream.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json', 'x-goog-api-key': 'AIza-test-key', 'x-custom': 'yes' });
  });

  it('streams from streamGenerateContent?alt=sse with SSE framing', () => {
    const upstream = build({ messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    expect(upstream.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse');
    expect(upstream.framing).toBe('sse');
    // stream and stream_options are OpenAI transport options, not Gemini fields.
    expect(upstream.json).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
  });

  it('keeps an api_base that already names the API version, and a models/ prefix', () => {
    expect(build({ messages: [{ role: 'user', content: 'Hi' }] }, deployment({ apiBase: 'https://proxy.example/gemini/v1beta', upstreamModel: 'models/gemini-2.5-pro' })).url).toBe(
      'https://proxy.example/gemini/v1beta/models/gemini-2.5-pro:generateContent',
    );
  });
});

describe('gemini chat request: contents (documented examples)', () => {
  it('text only', () => {
    expect(build({ messages: [{ role: 'user', content: 'Write a story about a magic backpack.' }] }).json).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Write a story about a magic backpack.' }] }],
    });
  });

  it('system and developer messages become systemInstruction', () => {
    const { json } = build({
      messages: [
        { role: 'system', content: 'You are a cat.' },
        { role: 'developer', content: [{ type: 'text', text: 'Your name is Neko.' }] },
        { role: 'user', content: 'Hello there' },
      ],
    });
    expect(json).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hello there' }] }],
      systemInstruction: { parts: [{ text: 'You are a cat.' }, { text: 'Your name is Neko.' }] },
    });
  });

  it('multi-turn: assistant becomes model, consecutive turns of one role are merged', () => {
    const { json } = build({
      messages: [
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: 'Great to meet you. What would you like to know?' },
        { role: 'user', content: 'I have two dogs in my house.' },
        { role: 'user', content: 'How many paws are in my house?' },
      ],
    });
    expect(json).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'Hello' }] },
        { role: 'model', parts: [{ text: 'Great to meet you. What would you like to know?' }] },
        { role: 'user', parts: [{ text: 'I have two dogs in my house.' }, { text: 'How many paws are in my house?' }] },
      ],
    });
  });

  it('images: data: URLs inline, http(s) URLs as fileData with a guessed MIME type', () => {
    const { json } = build({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Caption these images.' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/photos/cat.JPG?size=large', detail: 'high' } },
            { type: 'image_url', image_url: { url: 'https://example.com/render?id=7' } },
          ],
        },
      ],
    });
    expect(json).toEqual({
      contents: [
        {
          role: 'user',
          parts: [
            { text: 'Caption these images.' },
            { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
            { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/photos/cat.JPG?size=large' } },
            { fileData: { fileUri: 'https://example.com/render?id=7' } },
          ],
        },
      ],
    });
  });

  it('audio and file parts become inlineData; empty text parts are left out', () => {
    const { json } = build({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: '' },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
            { type: 'file', file: { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
          ],
        },
      ],
    });
    expect(json.contents).toEqual([
      { role: 'user', parts: [{ inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } }, { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } }] },
    ]);
  });

  it('tools, tool calls and tool results (function calling round trip)', () => {
    const { json } = build({
      messages: [
        { role: 'user', content: 'Dim the lights so the room feels cozy and warm.' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_0', type: 'function', function: { name: 'set_light_values', arguments: '{"brightness":25,"color_temp":"warm"}' } },
            { id: 'call_1', type: 'function', function: { name: 'get_room', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_0', content: '{"brightness":25,"colorTemperature":"warm"}' },
        { role: 'tool', tool_call_id: 'call_1', content: 'living room' },
      ],
      tools: [LIGHT_TOOL, { type: 'function', function: { name: 'get_room', parameters: { type: 'object', properties: {} } } }],
      tool_choice: 'auto',
    });
    expect(json).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'Dim the lights so the room feels cozy and warm.' }] },
        {
          role: 'model',
          parts: [{ functionCall: { name: 'set_light_values', args: { brightness: 25, color_temp: 'warm' } } }, { functionCall: { name: 'get_room', args: {} } }],
        },
        {
          role: 'user',
          parts: [
            { functionResponse: { name: 'set_light_values', response: { brightness: 25, colorTemperature: 'warm' } } },
            { functionResponse: { name: 'get_room', response: { content: 'living room' } } },
          ],
        },
      ],
      tools: [
        {
          functionDeclarations: [
            {
              name: 'set_light_values',
              description: 'Sets the brightness and color temperature of a light.',
              parameters: {
                type: 'OBJECT',
                properties: {
                  brightness: { type: 'INTEGER', description: 'Light level from 0 to 100. Zero is off and 100 is full brightness' },
                  color_temp: { type: 'STRING', description: 'Color temperature of the light fixture, which can be `daylight`, `cool` or `warm`.', enum: ['daylight', 'cool', 'warm'] },
                },
                required: ['brightness', 'color_temp'],
              },
            },
            // A function without parameters has none: Gemini refuses an OBJECT with no properties.
            { name: 'get_room' },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
    });
  });

  it('sends a thinking model\'s thought signature back on its function call', () => {
    const { json } = build({
      messages: [
        { role: 'user', content: 'Lights to warm' },
        {
          role: 'assistant',
          content: 'Setting them.',
          tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'set_light_values', arguments: '{}' }, extra_content: { google: { thought_signature: 'c2lnbmF0dXJl' } } } as never],
        },
      ],
    });
    expect(json.contents).toEqual([
      { role: 'user', parts: [{ text: 'Lights to warm' }] },
      { role: 'model', parts: [{ text: 'Setting them.' }, { functionCall: { name: 'set_light_values', args: {} }, thoughtSignature: 'c2lnbmF0dXJl' }] },
    ]);
  });

  it('resolves a reused tool call id to the nearest earlier call', () => {
    const { json } = build({
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'first', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_0', content: '1' },
        { role: 'assistant', tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'second', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_0', content: '[2]' },
      ],
    });
    const contents = json.contents as Array<{ parts: Array<{ functionResponse?: unknown }> }>;
    expect(contents[2].parts[0].functionResponse).toEqual({ name: 'first', response: { content: '1' } });
    // A JSON value that is not an object is wrapped too: Gemini's response must be an object.
    expect(contents[4].parts[0].functionResponse).toEqual({ name: 'second', response: { content: '[2]' } });
  });

  it.each([
    ['none', { functionCallingConfig: { mode: 'NONE' } }],
    ['required', { functionCallingConfig: { mode: 'ANY' } }],
    [{ type: 'function', function: { name: 'set_light_values' } }, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['set_light_values'] } }],
  ] as const)('tool_choice %j → toolConfig', (choice, toolConfig) => {
    const { json } = build({ messages: [{ role: 'user', content: 'Hi' }], tools: [LIGHT_TOOL], tool_choice: choice as ChatRequest['tool_choice'] });
    expect(json.toolConfig).toEqual(toolConfig);
  });
});

describe('gemini chat request: generationConfig', () => {
  it('maps sampling parameters, stop, n and seed', () => {
    const { json } = build({
      messages: [{ role: 'user', content: 'Hi' }],
      temperature: 0.7,
      top_p: 0.9,
      top_k: 40,
      max_completion_tokens: 800,
      stop: 'END',
      n: 2,
      seed: 42,
      presence_penalty: 0.5,
      frequency_penalty: -0.25,
    });
    expect(json.generationConfig).toEqual({
      temperature: 0.7,
      topP: 0.9,
      topK: 40,
      maxOutputTokens: 800,
      stopSequences: ['END'],
      candidateCount: 2,
      seed: 42,
      presencePenalty: 0.5,
      frequencyPenalty: -0.25,
    });
  });

  it('fills gaps from the deployment defaults; the client wins', () => {
    const target = deployment({ defaultParams: { max_completion_tokens: 4000, temperature: 0.1, stop: ['###'] } });
    expect(build({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100 }, target).json.generationConfig).toEqual({ temperature: 0.1, maxOutputTokens: 100, stopSequences: ['###'] });
    expect(build({ messages: [{ role: 'user', content: 'Hi' }], temperature: 1 }, target).json.generationConfig).toEqual({ temperature: 1, maxOutputTokens: 4000, stopSequences: ['###'] });
  });

  it('JSON mode: json_object sets the response MIME type', () => {
    const { json } = build({ messages: [{ role: 'user', content: 'List three colors as JSON.' }], response_format: { type: 'json_object' } });
    expect(json.generationConfig).toEqual({ responseMimeType: 'application/json' });
  });

  it('JSON mode: json_schema sends a responseSchema in Gemini\'s subset', () => {
    const { json } = build({
      messages: [{ role: 'user', content: 'List a few popular cookie recipes.' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'recipes',
          strict: true,
          schema: {
            $schema: 'http://json-schema.org/draft-07/schema#',
            type: 'object',
            properties: {
              recipes: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { recipe_name: { type: 'string' }, ingredients: { type: 'array', items: { type: 'string' } }, rating: { type: ['integer', 'null'] } },
                  required: ['recipe_name', 'ingredients', 'rating'],
                  additionalProperties: false,
                },
              },
            },
            required: ['recipes'],
            additionalProperties: false,
          },
        },
      },
    });
    expect(json.generationConfig).toEqual({
      responseMimeType: 'application/json',
      responseSchema: {
        type: 'OBJECT',
        properties: {
          recipes: {
            type: 'ARRAY',
            items: {
              type: 'OBJECT',
              properties: { recipe_name: { type: 'STRING' }, ingredients: { type: 'ARRAY', items: { type: 'STRING' } }, rating: { type: 'INTEGER', nullable: true } },
              propertyOrdering: ['recipe_name', 'ingredients', 'rating'],
              required: ['recipe_name', 'ingredients', 'rating'],
            },
          },
        },
        required: ['recipes'],
      },
    });
  });

  it('reasoning_effort → thinking budget (Google\'s documented mapping)', () => {
    expect(build({ messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'low' }).json.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } });
    expect(build({ messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'high' }).json.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 24576, includeThoughts: true } });
    expect(build({ messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'none' }).json.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 0 } });
  });

  it('declares the OpenAI fields it maps', () => {
    expect([...geminiAdapter.supportedParams!].sort()).toEqual(
      ['frequency_penalty', 'max_completion_tokens', 'max_tokens', 'n', 'presence_penalty', 'reasoning_effort', 'response_format', 'seed', 'stop', 'temperature', 'tool_choice', 'tools', 'top_k', 'top_p'].sort(),
    );
  });
});

describe('gemini chat request: what it refuses, and how it says so', () => {
  it('a tool result without a matching tool call', () => {
    const error = refusal(() => build({ messages: [{ role: 'user', content: 'a' }, { role: 'tool', tool_call_id: 'call_9', content: 'x' }] }));
    expect(error).toMatchObject({ code: 'invalid_request', status: 400, param: 'messages[1].tool_call_id' });
    expect(error.message).toContain('call_9');
  });

  it('tool call arguments that are not a JSON object', () => {
    const error = refusal(() =>
      build({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"city": "Par' } }] }] }),
    );
    expect(error).toMatchObject({ status: 400, param: 'messages[1].tool_calls[0].function.arguments' });
  });

  it('an unknown content part, an unknown reasoning effort, a recursive schema', () => {
    expect(refusal(() => build({ messages: [{ role: 'user', content: [{ type: 'video_url', video_url: 'x' }] }] })).param).toBe('messages[0].content[0].type');
    expect(refusal(() => build({ messages: [{ role: 'user', content: 'a' }], reasoning_effort: 'maximal' })).message).toContain('none, low, medium, high');
    const recursive = { type: 'object', properties: { child: { $ref: '#/$defs/node' } }, $defs: { node: { type: 'object', properties: { child: { $ref: '#/$defs/node' } } } } };
    expect(refusal(() => build({ messages: [{ role: 'user', content: 'a' }], response_format: { type: 'json_schema', json_schema: { name: 'n', schema: recursive } } })).message).toContain('recursive');
  });
});
