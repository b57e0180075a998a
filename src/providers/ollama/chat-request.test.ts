/**
 * Outgoing /api/chat bodies, asserted whole against the requests of Ollama's docs/api.md
 * ("Generate a chat completion" examples), written as the OpenAI requests a client would send.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { ChatRequest } from '../types.js';
import { buildOllamaChatRequest } from './chat-request.js';
import { bodyOf, ollamaDeployment } from './test-support.js';

/** The start of the llava example image of docs/api.md (the adapter passes base64 through as is). */
const DOCS_IMAGE = 'iVBORw0KGgoAAAANSUhEUgAAAG0AAABmCAYAAADBPx+VAAAACXBIWXMAAAsTAAALEwEAmpwYAAAAAXNSR0IArs4c6QAAAARnQU1BAACxjwv8YQUAAA3VSURBVHgB7Z27r0zdG8fX743i1bi1ikMoFMQloXRpKFFIqI7LH4BEQ+NWIkjQuSWCRIEoULk0gsK1kCBI0IhrQVT7tz';

const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Get the weather in a given city',
    parameters: { type: 'object', properties: { city: { type: 'string', description: 'The city to get the weather for' } }, required: ['city'] },
  },
};

function build(request: Partial<ChatRequest>, deployment = ollamaDeployment()) {
  return buildOllamaChatRequest({ model: 'local-llama', messages: [{ role: 'user', content: 'why is the sky blue?' }], ...request }, deployment);
}

function failure(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

describe('ollama_chat request → POST /api/chat', () => {
  it('sends the docs "Chat request (No streaming)" body, stream set explicitly, no key header', () => {
    const request = build({});
    expect(request).toEqual({
      url: 'http://localhost:11434/api/chat',
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: expect.any(String),
      framing: 'json',
    });
    expect(bodyOf(request)).toEqual({ model: 'llama3.2', messages: [{ role: 'user', content: 'why is the sky blue?' }], stream: false });
  });

  it('asks for an NDJSON stream when the client streams', () => {
    const request = build({ stream: true, stream_options: { include_usage: true } });
    expect(request.framing).toBe('ndjson');
    expect(request.headers.accept).toBe('application/x-ndjson');
    // stream_options is OpenAI's; Ollama always reports counts on the done line.
    expect(bodyOf(request)).toEqual({ model: 'llama3.2', messages: [{ role: 'user', content: 'why is the sky blue?' }], stream: true });
  });

  it('sends a Bearer key only when the deployment has one, and the extra headers', () => {
    const request = build({}, ollamaDeployment({ apiKey: 'ollama-proxy-key', headers: { 'x-tenant': 'a' }, apiBase: 'https://ollama.internal:8443' }));
    expect(request.url).toBe('https://ollama.internal:8443/api/chat');
    expect(request.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer ollama-proxy-key', 'x-tenant': 'a' });
  });

  it('keeps a conversation with history, system and developer messages as Ollama roles', () => {
    const request = build({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'Answer in English.' },
        { role: 'user', content: 'why is the sky blue?' },
        { role: 'assistant', content: 'due to rayleigh scattering.' },
        { role: 'user', content: [{ type: 'text', text: 'how is that different than' }, { type: 'text', text: 'mie scattering?' }] },
      ],
    });
    expect(bodyOf(request)).toEqual({
      model: 'llama3.2',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'system', content: 'Answer in English.' },
        { role: 'user', content: 'why is the sky blue?' },
        { role: 'assistant', content: 'due to rayleigh scattering.' },
        { role: 'user', content: 'how is that different than\nmie scattering?' },
      ],
      stream: false,
    });
  });

  it('maps sampling fields into options (docs "Generate request (With options)" names)', () => {
    const request = build({
      temperature: 0.8,
      top_p: 0.9,
      top_k: 20,
      max_tokens: 100,
      stop: ['\n', 'user:'],
      seed: 42,
      frequency_penalty: 1.0,
      presence_penalty: 1.5,
      num_ctx: 1024,
      keep_alive: '10m',
    });
    expect(bodyOf(request)).toEqual({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'why is the sky blue?' }],
      stream: false,
      options: { temperature: 0.8, top_p: 0.9, top_k: 20, num_predict: 100, stop: ['\n', 'user:'], seed: 42, frequency_penalty: 1.0, presence_penalty: 1.5, num_ctx: 1024 },
      keep_alive: '10m',
    });
  });

  it('prefers max_completion_tokens, sends a single stop as a list, and keep_alive 0 as a number', () => {
    const body = bodyOf(build({ max_tokens: 500, max_completion_tokens: 64, stop: 'END', keep_alive: 0 })) as Record<string, unknown>;
    expect(body.options).toEqual({ num_predict: 64, stop: ['END'] });
    expect(body.keep_alive).toBe(0);
  });

  it('fills gaps from deployment defaults (litellm_params) while the client wins', () => {
    const deployment = ollamaDeployment({ defaultParams: { max_tokens: 256, temperature: 0.1, num_ctx: 8192 } });
    const body = bodyOf(build({ temperature: 0.7 }, deployment)) as Record<string, unknown>;
    expect(body.options).toEqual({ temperature: 0.7, num_predict: 256, num_ctx: 8192 });
  });

  it('sends format "json" for json_object and the schema for json_schema (docs "Structured outputs")', () => {
    expect((bodyOf(build({ response_format: { type: 'json_object' } })) as Record<string, unknown>).format).toBe('json');
    const schema = { type: 'object', properties: { age: { type: 'integer' }, available: { type: 'boolean' } }, required: ['age', 'available'] };
    const request = build({
      messages: [{ role: 'user', content: 'Ollama is 22 years old and busy saving the world. Return a JSON object with the age and availability.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'status', schema, strict: true } },
      temperature: 0,
    });
    expect(bodyOf(request)).toEqual({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'Ollama is 22 years old and busy saving the world. Return a JSON object with the age and availability.' }],
      stream: false,
      format: schema,
      options: { temperature: 0 },
    });
    expect((bodyOf(build({ response_format: { type: 'text' } })) as Record<string, unknown>).format).toBeUndefined();
  });

  it('refuses a json_schema response_format without a schema', () => {
    const error = failure(() => build({ response_format: { type: 'json_schema', json_schema: { name: 'x' } } }));
    expect(error).toMatchObject({ status: 400, code: 'invalid_request', param: 'response_format' });
  });

  it('moves data: URL images into the message images (docs "Chat request (with images)")', () => {
    const request = build({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is in this image?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${DOCS_IMAGE}`, detail: 'low' } },
          ],
        },
      ],
    });
    expect(bodyOf(request)).toEqual({ model: 'llama3.2', messages: [{ role: 'user', content: 'what is in this image?', images: [DOCS_IMAGE] }], stream: false });
  });

  it('refuses an http image URL with a 400 naming the message part', () => {
    const error = failure(() =>
      build({ messages: [{ role: 'user', content: 'hi' }, { role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] }),
    );
    expect(error).toMatchObject({ status: 400, code: 'invalid_request', param: 'messages[1].content[1].image_url.url' });
    expect(error.message).toContain('messages[1].content[1]');
    expect(error.message).toContain('https://example.com/cat.png');
    expect(error.message).toContain('data:image/png;base64');
  });

  it('refuses content parts Ollama cannot take, naming them', () => {
    const error = failure(() => build({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] }));
    expect(error).toMatchObject({ status: 400, param: 'messages[0].content[0]' });
    expect(error.message).toContain('input_audio');
  });

  it('sends tools in the OpenAI function shape (docs "Chat request (Streaming with tools)")', () => {
    const request = build({ messages: [{ role: 'user', content: 'what is the weather in tokyo?' }], tools: [{ ...WEATHER_TOOL, function: { ...WEATHER_TOOL.function, strict: true } }], stream: true });
    expect(bodyOf(request)).toEqual({ model: 'llama3.2', messages: [{ role: 'user', content: 'what is the weather in tokyo?' }], tools: [WEATHER_TOOL], stream: true });
  });

  it('turns tool calls and results into Ollama history (docs "Chat request (With history, with tools)")', () => {
    const request = build({
      messages: [
        { role: 'user', content: 'what is the weather in Toronto?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Toronto"}' } }] },
        { role: 'tool', tool_call_id: 'call_abc', content: '11 degrees celsius' },
      ],
      tools: [WEATHER_TOOL],
    });
    expect(bodyOf(request)).toEqual({
      model: 'llama3.2',
      messages: [
        { role: 'user', content: 'what is the weather in Toronto?' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_abc', function: { name: 'get_weather', arguments: { city: 'Toronto' } } }] },
        { role: 'tool', content: '11 degrees celsius', tool_name: 'get_weather', tool_call_id: 'call_abc' },
      ],
      tools: [WEATHER_TOOL],
      stream: false,
    });
  });

  it('names a tool result after the nearest earlier call with its id', () => {
    const call = (name: string) => ({ id: 'call_0', type: 'function' as const, function: { name, arguments: '{}' } });
    const body = bodyOf(
      build({
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: null, tool_calls: [call('first_tool')] },
          { role: 'tool', tool_call_id: 'call_0', content: '1' },
          { role: 'assistant', content: null, tool_calls: [call('second_tool')] },
          { role: 'tool', tool_call_id: 'call_0', content: '2' },
          { role: 'function', name: 'legacy_tool', content: '3' },
        ],
      }),
    ) as { messages: Array<{ tool_name?: string }> };
    expect(body.messages.map((message) => message.tool_name)).toEqual([undefined, undefined, 'first_tool', undefined, 'second_tool', 'legacy_tool']);
  });

  it('refuses tool call arguments that are not a JSON object', () => {
    const error = failure(() =>
      build({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{not json' } }] }] }),
    );
    expect(error).toMatchObject({ status: 400, param: 'messages[1].tool_calls[0].function.arguments' });
  });

  it('honours tool_choice "none" by sending no tools and a named choice by sending only that tool', () => {
    const other = { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: {} } } };
    expect((bodyOf(build({ tools: [WEATHER_TOOL, other], tool_choice: 'none' })) as Record<string, unknown>).tools).toBeUndefined();
    expect((bodyOf(build({ tools: [WEATHER_TOOL, other], tool_choice: { type: 'function', function: { name: 'get_time' } } })) as Record<string, unknown>).tools).toEqual([
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
    ]);
    expect(failure(() => build({ tools: [WEATHER_TOOL], tool_choice: { type: 'function', function: { name: 'nope' } } }))).toMatchObject({ status: 400, param: 'tool_choice' });
  });

  it('maps reasoning_effort to think, and passes an explicit think through', () => {
    const think = (request: Partial<ChatRequest>) => (bodyOf(build(request)) as Record<string, unknown>).think;
    expect(think({ reasoning_effort: 'high' })).toBe('high');
    expect(think({ reasoning_effort: 'minimal' })).toBe('low');
    expect(think({ reasoning_effort: 'none' })).toBe(false);
    expect(think({ think: true, reasoning_effort: 'low' })).toBe(true);
    expect(think({})).toBeUndefined();
    expect(failure(() => build({ reasoning_effort: 'extreme' }))).toMatchObject({ status: 400, param: 'reasoning_effort' });
  });

  it('accepts n = 1 and refuses more choices', () => {
    expect(bodyOf(build({ n: 1, user: 'user-1' }))).toEqual({ model: 'llama3.2', messages: [{ role: 'user', content: 'why is the sky blue?' }], stream: false });
    expect(failure(() => build({ n: 2 }))).toMatchObject({ status: 400, param: 'n' });
  });
});
